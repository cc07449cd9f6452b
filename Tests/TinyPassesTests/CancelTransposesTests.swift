import Foundation
import Interpreter
import Testing
import TinyIR

@testable import TinyPasses

/// `cancel-transposes` on the layout round trips the ONNX importer puts around 1-D ops.
@Suite struct CancelTransposesTests {
  typealias R = Rewrite

  static let weights = R.hex((0..<96).map { Float(($0 * 37) % 23 - 11) / 10 })

  /// A 1-D conv and pool in float: conv → (NCL) → relu → (NHWC) → pool.
  static let float1D = """
    graph @f(%x: 1x1x20x4xf32) -> (1x1x10x8xf32) {
      %w = const 8x1x3x4xf32 dense<\(weights)>
      %c = conv2d(%x, %w) {stride [1, 1], pad [0, 1, 0, 1]} : 1x1x20x8xf32 loc(onnx "conv")
      %t = transpose(%c) {perm [0, 3, 1, 2]} : 1x8x1x20xf32 loc(onnx "conv")
      %c1 = reshape(%t) {shape [1, 8, 20]} : 1x8x20xf32 loc(onnx "conv")
      %r = relu(%c1) : 1x8x20xf32 loc(onnx "relu")
      %r2 = reshape(%r) {shape [1, 8, 1, 20]} : 1x8x1x20xf32 loc(onnx "pool")
      %n = transpose(%r2) {perm [0, 2, 3, 1]} : 1x1x20x8xf32 loc(onnx "pool")
      %p = max_pool2d(%n) {filter [1, 2], stride [1, 2]} : 1x1x10x8xf32 loc(onnx "pool")
      return %p
    }

    """

  /// The same in a QDQ graph: the round trip sits around a quantize → dequantize pair.
  static let qdq1D = """
    graph @q(%x: 1x1x20x4xi8 q(0.05, 0)) -> (1x1x10x8xi8 q(0.1, -128)) {
      %w = const 8x1x3x4xf32 dense<\(weights)>
      %d0 = dequantize(%x) : 1x1x20x4xf32 loc(onnx "dq0")
      %c = conv2d(%d0, %w) {stride [1, 1], pad [0, 1, 0, 1]} : 1x1x20x8xf32 loc(onnx "conv")
      %t = transpose(%c) {perm [0, 3, 1, 2]} : 1x8x1x20xf32 loc(onnx "conv")
      %c1 = reshape(%t) {shape [1, 8, 20]} : 1x8x20xf32 loc(onnx "conv")
      %q = quantize(%c1) : 1x8x20xi8 q(0.1, -128) loc(onnx "q")
      %d = dequantize(%q) : 1x8x20xf32 loc(onnx "dq")
      %r2 = reshape(%d) {shape [1, 8, 1, 20]} : 1x8x1x20xf32 loc(onnx "pool")
      %n = transpose(%r2) {perm [0, 2, 3, 1]} : 1x1x20x8xf32 loc(onnx "pool")
      %p = max_pool2d(%n) {filter [1, 2], stride [1, 2]} : 1x1x10x8xf32 loc(onnx "pool")
      %y = quantize(%p) : 1x1x10x8xi8 q(0.1, -128) loc(onnx "q2")
      return %y
    }

    """

  @Test func floatRoundTripCancels() throws {
    let after = """
      graph @f(%x: 1x1x20x4xf32) -> (1x1x10x8xf32) {
        %w = const 8x1x3x4xf32 dense<\(Self.weights)>
        %c = conv2d(%x, %w) {stride [1, 1], pad [0, 1, 0, 1]} : 1x1x20x8xf32 loc(onnx "conv")
        %n = relu(%c) : 1x1x20x8xf32 loc(onnx "relu")
        %p = max_pool2d(%n) {filter [1, 2], stride [1, 2]} : 1x1x10x8xf32 loc(onnx "pool")
        return %p
      }

      """
    #expect(try R.run(cancelTransposes, on: Self.float1D) == after)
  }

  /// The layout ops move onto the int8 side of the quantize and dequantize and cancel, which
  /// leaves dequantize → conv → quantize and dequantize → pool → quantize for `lower-qdq`.
  @Test func qdqRoundTripCancels() throws {
    let after = """
      graph @q(%x: 1x1x20x4xi8 q(0.05, 0)) -> (1x1x10x8xi8 q(0.1, -128)) {
        %w = const 8x1x3x4xf32 dense<\(Self.weights)>
        %d0 = dequantize(%x) : 1x1x20x4xf32 loc(onnx "dq0")
        %c = conv2d(%d0, %w) {stride [1, 1], pad [0, 1, 0, 1]} : 1x1x20x8xf32 loc(onnx "conv")
        %t = quantize(%c) : 1x1x20x8xi8 q(0.1, -128) loc(onnx "q")
        %n = dequantize(%t) : 1x1x20x8xf32 loc(onnx "dq")
        %p = max_pool2d(%n) {filter [1, 2], stride [1, 2]} : 1x1x10x8xf32 loc(onnx "pool")
        %y = quantize(%p) : 1x1x10x8xi8 q(0.1, -128) loc(onnx "q2")
        return %y
      }

      """
    #expect(try R.run(cancelTransposes, on: Self.qdq1D) == after)
  }

  /// Reshapes and transposes move data; the graph's outputs stay the same bits.
  @Test(arguments: [float1D, qdq1D]) func outputsAreIdentical(_ text: String) throws {
    let g = try Parser.parse(text)
    var after = g
    try PassManager([cancelTransposes]).run(&after)
    #expect(!after.ops.contains { if case .transpose = $0.kind { return true } else { return false } })
    var rng = R.Numbers(seed: 11)
    for _ in 0..<5 {
      let x: NDArray
      let t = g.type(of: g.inputs[0])
      if t.elementType == .f32 {
        x = R.randomInputs(g, &rng, -2, 2)[0]
      } else {
        x = NDArray.pack((0..<t.elementCount).map { _ in Int(rng.next(-128, 127)) }, as: .i8, shape: t.shape)
      }
      #expect(try Interpreter(g).run([x])[0].bytes == Interpreter(after).run([x])[0].bytes)
    }
  }

  /// Two transposes compose into one; a layout op with nothing to cancel against stays.
  @Test func composesAndLeavesLoneLayoutOps() throws {
    let before = """
      graph @g(%x: 2x3x4x5xf32) -> (60x2xf32) {
        %a = transpose(%x) {perm [0, 2, 3, 1]} : 2x4x5x3xf32 loc(onnx "a")
        %b = transpose(%a) {perm [1, 0, 2, 3]} : 4x2x5x3xf32 loc(onnx "b")
        %c = max_pool2d(%b) {filter [1, 1], stride [1, 1]} : 4x2x5x3xf32 loc(onnx "pool")
        %d = transpose(%c) {perm [0, 2, 3, 1]} : 4x5x3x2xf32 loc(onnx "d")
        %e = reshape(%d) {shape [60, 2]} : 60x2xf32 loc(onnx "e")
        return %e
      }

      """
    let after = """
      graph @g(%x: 2x3x4x5xf32) -> (60x2xf32) {
        %b = transpose(%x) {perm [2, 0, 3, 1]} : 4x2x5x3xf32 loc(onnx "b")
        %c = max_pool2d(%b) {filter [1, 1], stride [1, 1]} : 4x2x5x3xf32 loc(onnx "pool")
        %d = transpose(%c) {perm [0, 2, 3, 1]} : 4x5x3x2xf32 loc(onnx "d")
        %e = reshape(%d) {shape [60, 2]} : 60x2xf32 loc(onnx "e")
        return %e
      }

      """
    #expect(try R.run(cancelTransposes, on: before) == after)
    let g = try Parser.parse(before)
    let h = try Parser.parse(after)
    var rng = R.Numbers(seed: 5)
    let x = R.randomInputs(g, &rng)
    #expect(try Interpreter(g).run(x)[0].bytes == Interpreter(h).run(x)[0].bytes)
  }

  /// A 1-D model's channels-last input: transpose to NCL, lift to 4-D, transpose to NHWC
  /// leaves every element where it was, so the chain is one reshape; a chain that moves
  /// elements stays.
  @Test func orderKeepingChainBecomesOneReshape() throws {
    let before = """
      graph @g(%x: 1x5x3xf32) -> (1x1x5x3xf32, 1x3x5xf32) {
        %t = transpose(%x) {perm [0, 2, 1]} : 1x3x5xf32 loc(onnx "input")
        %r = reshape(%t) {shape [1, 3, 1, 5]} : 1x3x1x5xf32 loc(onnx "conv")
        %n = transpose(%r) {perm [0, 2, 3, 1]} : 1x1x5x3xf32 loc(onnx "conv")
        %y = relu(%n) : 1x1x5x3xf32 loc(onnx "relu")
        %u = reshape(%x) {shape [1, 15]} : 1x15xf32 loc(onnx "u")
        %v = reshape(%u) {shape [1, 5, 3]} : 1x5x3xf32 loc(onnx "v")
        %w = transpose(%v) {perm [0, 2, 1]} : 1x3x5xf32 loc(onnx "w")
        return %y, %w
      }

      """
    let after = """
      graph @g(%x: 1x5x3xf32) -> (1x1x5x3xf32, 1x3x5xf32) {
        %n = reshape(%x) {shape [1, 1, 5, 3]} : 1x1x5x3xf32 loc(onnx "conv")
        %y = relu(%n) : 1x1x5x3xf32 loc(onnx "relu")
        %w = transpose(%x) {perm [0, 2, 1]} : 1x3x5xf32 loc(onnx "w")
        return %y, %w
      }

      """
    #expect(try R.run(cancelTransposes, on: before) == after)
    let g = try Parser.parse(before)
    let h = try Parser.parse(after)
    var rng = R.Numbers(seed: 9)
    let x = R.randomInputs(g, &rng)
    let (a, b) = (try Interpreter(g).run(x), try Interpreter(h).run(x))
    #expect(a.map(\.bytes) == b.map(\.bytes))
  }

}
