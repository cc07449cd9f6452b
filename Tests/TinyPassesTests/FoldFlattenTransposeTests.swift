import Foundation
import Interpreter
import Testing
import TinyIR

@testable import TinyPasses

/// `fold-flatten-transpose`: the NCHW Flatten's transpose moves into the fully connected
/// layer's weight columns, bit-exactly.
@Suite struct FoldFlattenTransposeTests {
  typealias R = Rewrite

  /// Weight codes −12 … 11 for a 2x12 layer, each distinct so a wrong column order shows.
  static let codes = (0..<24).map { ($0 * 7) % 24 - 12 }
  static let permutedCodes: [Int] = {
    // Element j of the transposed 1x3x2x2 tensor is element src[j] of the 1x2x2x3 input.
    let src = permutationSourceIndices(shape: [1, 2, 2, 3], perm: [0, 3, 1, 2])
    var p = codes
    for o in 0..<2 { for j in 0..<12 { p[o * 12 + src[j]] = codes[o * 12 + j] } }
    return p
  }()

  static func model(_ w: [Int], transposed: Bool) -> String {
    let flatten =
      transposed
      ? """
      %t = transpose(%x) {perm [0, 3, 1, 2]} : 1x3x2x2xi8 q(0.5, 1) loc(onnx "Flatten")
          %f = reshape(%t) {shape [1, 12]} : 1x12xi8 q(0.5, 1) loc(onnx "Flatten")
      """
      : """
      %f = reshape(%x) {shape [1, 12]} : 1x12xi8 q(0.5, 1) loc(fold-flatten-transpose "Flatten")
      """
    return """
      graph @g(%x: 1x2x2x3xi8 q(0.5, 1)) -> (1x2xi8 q(0.25, -3)) {
        %w = const 2x12xi8 q(axis 0, [0.125, 0.0625], [0, 0]) dense<\(R.hex(int8: w))>
        %b = const 2xi32 q(axis 0, [0.0625, 0.03125], [0, 0]) dense<\(R.hex(int32: [5, -7]))>
        \(flatten)
        %y = fully_connected(%f, %w, %b) : 1x2xi8 q(0.25, -3) loc(onnx "fc")
        return %y
      }

      """
  }

  @Test func transposeMovesIntoWeightColumns() throws {
    let before = try Parser.parse(Self.model(Self.codes, transposed: true))
    let expected = try Parser.parse(Self.model(Self.permutedCodes, transposed: false))
    #expect(
      try R.run(foldFlattenTranspose, on: Self.model(Self.codes, transposed: true))
        == Printer().print(expected.canonicalized()))
    #expect(before.ops.count == 3)
  }

  @Test func outputsAreBitIdentical() throws {
    let g = try Parser.parse(Self.model(Self.codes, transposed: true))
    var folded = g
    try PassManager([foldFlattenTranspose]).run(&folded)
    #expect(!folded.ops.contains { $0.kind.mnemonic == "transpose" })
    let a = try Interpreter(g)
    let b = try Interpreter(folded)
    for seed in 0..<20 {
      let x = NDArray(shape: [1, 2, 2, 3], int8s: (0..<12).map { Int8(truncatingIfNeeded: ($0 * 37 + seed * 11) % 256 - 128) })
      #expect(try a.run([x])[0] == b.run([x])[0])
    }
  }

  /// A float layer keeps its transpose: float sums depend on their order.
  @Test func floatWeightsAreLeftAlone() throws {
    let text = """
      graph @g(%x: 1x2x1x2xf32) -> (1x1xf32) {
        %w = const 1x4xf32 dense<\(R.hex([1, 2, 3, 4]))>
        %t = transpose(%x) {perm [0, 3, 1, 2]} : 1x2x2x1xf32 loc(onnx "Flatten")
        %f = reshape(%t) {shape [1, 4]} : 1x4xf32 loc(onnx "Flatten")
        %y = fully_connected(%f, %w) : 1x1xf32 loc(onnx "fc")
        return %y
      }

      """
    #expect(try R.run(foldFlattenTranspose, on: text) == Printer().print(try Parser.parse(text)))
  }

  /// A transposed value read twice stays: the other reader needs the transposed layout.
  @Test func secondReaderKeepsTheTranspose() throws {
    let text = """
      graph @g(%x: 1x2x1x2xi8 q(0.5, 0)) -> (1x1xi8 q(0.5, 0), 1x2x2x1xi8 q(0.5, 0)) {
        %w = const 1x4xi8 q(0.5, 0) dense<\(R.hex(int8: [1, 2, 3, 4]))>
        %t = transpose(%x) {perm [0, 3, 1, 2]} : 1x2x2x1xi8 q(0.5, 0) loc(onnx "Flatten")
        %f = reshape(%t) {shape [1, 4]} : 1x4xi8 q(0.5, 0) loc(onnx "Flatten")
        %y = fully_connected(%f, %w) : 1x1xi8 q(0.5, 0) loc(onnx "fc")
        return %y, %t
      }

      """
    #expect(try R.run(foldFlattenTranspose, on: text) == Printer().print(try Parser.parse(text)))
  }
}
