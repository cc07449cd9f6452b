import Foundation
import Testing
import TinyIR

@testable import TinyPasses

@Suite struct FoldConstantsTests {
  typealias R = Rewrite

  @Test func transposeAndArithmeticOfConstantsFold() throws {
    let before = """
      graph @f(%x: 3x2xf32) -> (3x2xf32) {
        %s = const 2x3xf32 dense<\(R.hex([1, 2, 3, 4, 5, 6]))>
        %k = const 3x2xf32 dense<\(R.hex([0.5, 0.5, 1, 1, -2, -2]))>
        %t = transpose(%s) {perm [1, 0]} : 3x2xf32 loc(onnx "t")
        %u = add(%t, %k) : 3x2xf32 loc(onnx "u")
        %y = mul(%x, %u) : 3x2xf32 loc(onnx "y")
        return %y
      }

      """
    // transpose gives [[1, 4], [2, 5], [3, 6]]; adding %k gives [[1.5, 4.5], [3, 6], [1, 4]].
    let after = """
      graph @f(%x: 3x2xf32) -> (3x2xf32) {
        %u = const 3x2xf32 dense<\(R.hex([1.5, 4.5, 3, 6, 1, 4]))>
        %y = mul(%x, %u) : 3x2xf32 loc(onnx "y")
        return %y
      }

      """
    #expect(try R.run(foldConstants, on: before) == after)
  }

  @Test func reshapeOfAnIntegerConstantKeepsItsBytes() throws {
    let before = """
      graph @f(%x: 1x4xi8 q(0.5, 0)) -> (1x4xi8 q(0.5, 0)) {
        %s = const 2x2xi8 q(0.25, 1) dense<\(R.hex(int8: [1, -2, 3, -4]))>
        %r = reshape(%s) {shape [1, 4]} : 1x4xi8 q(0.25, 1) loc(onnx "r")
        %y = add(%x, %r) : 1x4xi8 q(0.5, 0) loc(onnx "y")
        return %y
      }

      """
    let after = """
      graph @f(%x: 1x4xi8 q(0.5, 0)) -> (1x4xi8 q(0.5, 0)) {
        %r = const 1x4xi8 q(0.25, 1) dense<\(R.hex(int8: [1, -2, 3, -4]))>
        %y = add(%x, %r) : 1x4xi8 q(0.5, 0) loc(onnx "y")
        return %y
      }

      """
    #expect(try R.run(foldConstants, on: before) == after)
  }

  static let dequantized = """
    graph @f(%x: 3x2xf32) -> (3x2xf32) {
      %w = const 2x3xi8 q(axis 0, [0.5, 0.25], [0, 0]) dense<\(R.hex(int8: [1, 2, 3, -4, -5, -6]))>
      %d = dequantize(%w) : 2x3xf32 loc(onnx "dq")
      %t = transpose(%d) {perm [1, 0]} : 3x2xf32 loc(onnx "t")
      %y = mul(%x, %t) : 3x2xf32 loc(onnx "y")
      return %y
    }

    """

  @Test func transposeMovesInFrontOfDequantize() throws {
    // The int8 codes are permuted, the quantization axis follows (0 → 1), the dequantize takes
    // the transpose's place, value and location.
    let after = """
      graph @f(%x: 3x2xf32) -> (3x2xf32) {
        %w_transpose = const 3x2xi8 q(axis 1, [0.5, 0.25], [0, 0]) dense<\(R.hex(int8: [1, -4, 2, -5, 3, -6]))>
        %t = dequantize(%w_transpose) : 3x2xf32 loc(onnx "t")
        %y = mul(%x, %t) : 3x2xf32 loc(onnx "y")
        return %y
      }

      """
    #expect(try R.run(foldConstants, on: Self.dequantized) == after)
  }

  @Test func dequantizeFoldsOnlyWhenAsked() throws {
    let after = """
      graph @f(%x: 3x2xf32) -> (3x2xf32) {
        %t = const 3x2xf32 dense<\(R.hex([0.5, -1, 1, -1.25, 1.5, -1.5]))>
        %y = mul(%x, %t) : 3x2xf32 loc(onnx "y")
        return %y
      }

      """
    #expect(try R.run(foldConstants, options: ["dequantize": "true"], on: Self.dequantized) == after)
  }

  @Test func badOptionsAreNamed() throws {
    let g = try Parser.parse(Self.dequantized)
    #expect {
      var h = g
      try PassManager(pipeline: "fold-constants{dequantize=maybe}", passes: [foldConstants]).run(&h)
    } throws: { error in
      "\(error)".contains("dequantize must be true or false, got 'maybe'")
    }
    #expect {
      var h = g
      try PassManager(pipeline: "fold-constants{colour=red}", passes: [foldConstants]).run(&h)
    } throws: { error in
      "\(error)".contains("unknown option 'colour'")
    }
  }
}
