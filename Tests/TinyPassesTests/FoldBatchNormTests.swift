import Foundation
import Interpreter
import Testing
import TinyIR

@testable import TinyPasses

@Suite struct FoldBatchNormTests {
  typealias R = Rewrite

  // s = gamma / sqrt(var + eps) = [4/2, 1.5/3] = [2, 0.5]; w' = w·s = [2, 1];
  // b' = (0 − mean)·s + beta = [-1·2 + 0.5, 0·0.5 − 1] = [-1.5, -1].
  static let before = """
    graph @bn(%x: 1x2x2x1xf32) -> (1x2x2x2xf32) {
      %w = const 2x1x1x1xf32 dense<\(R.hex([1, 2]))>
      %gamma = const 2xf32 dense<\(R.hex([4, 1.5]))>
      %beta = const 2xf32 dense<\(R.hex([0.5, -1]))>
      %mean = const 2xf32 dense<\(R.hex([1, 0]))>
      %var = const 2xf32 dense<\(R.hex([3, 8]))>
      %c = conv2d(%x, %w) {stride [1, 1]} : 1x2x2x2xf32 loc(onnx "conv")
      %y = batch_norm(%c, %gamma, %beta, %mean, %var) {epsilon 1.0} : 1x2x2x2xf32 loc(onnx "bn")
      return %y
    }

    """

  @Test func convWithoutBiasGetsScaledWeightsAndANewBias() throws {
    let after = """
      graph @bn(%x: 1x2x2x1xf32) -> (1x2x2x2xf32) {
        %w = const 2x1x1x1xf32 dense<\(R.hex([2, 1]))>
        %w_bias = const 2xf32 dense<\(R.hex([-1.5, -1]))>
        %y = conv2d(%x, %w, %w_bias) {stride [1, 1]} : 1x2x2x2xf32 loc(onnx "bn")
        return %y
      }

      """
    #expect(try R.run(foldBatchNorm, on: Self.before) == after)
  }

  @Test func existingBiasIsAdjusted() throws {
    let text = Self.before
      .replacingOccurrences(of: "%c = conv2d(%x, %w)", with: "%c = conv2d(%x, %w, %b)")
      .replacingOccurrences(
        of: "  %gamma = const", with: "  %b = const 2xf32 dense<\(R.hex([3, 4]))>\n  %gamma = const")
    // b' = (b − mean)·s + beta = [(3 − 1)·2 + 0.5, 4·0.5 − 1] = [4.5, 1].
    let after = """
      graph @bn(%x: 1x2x2x1xf32) -> (1x2x2x2xf32) {
        %w = const 2x1x1x1xf32 dense<\(R.hex([2, 1]))>
        %b = const 2xf32 dense<\(R.hex([4.5, 1]))>
        %y = conv2d(%x, %w, %b) {stride [1, 1]} : 1x2x2x2xf32 loc(onnx "bn")
        return %y
      }

      """
    #expect(try R.run(foldBatchNorm, on: text) == after)
  }

  @Test func notFoldedWhenTheConvResultIsAlsoAGraphOutput() throws {
    let text = Self.before.replacingOccurrences(of: "return %y", with: "return %y, %c")
      .replacingOccurrences(of: "-> (1x2x2x2xf32)", with: "-> (1x2x2x2xf32, 1x2x2x2xf32)")
    #expect(try R.run(foldBatchNorm, on: text) == Printer().print(try Parser.parse(text)))
  }

  @Test func notFoldedAcrossAFusedActivation() throws {
    let text = Self.before.replacingOccurrences(of: "{stride [1, 1]} :", with: "{stride [1, 1], act relu} :")
    #expect(text != Self.before)
    #expect(try R.run(foldBatchNorm, on: text) == Printer().print(try Parser.parse(text)))
  }

  @Test func addOfAConstantVectorBecomesTheBias() throws {
    // ONNX MatMul + Add: the add's activation and location move to the fully_connected.
    let before = """
      graph @m(%x: 1x2xf32) -> (1x2xf32) {
        %w = const 2x2xf32 dense<\(R.hex([1, 2, 3, 4]))>
        %k = const 1x2xf32 dense<\(R.hex([0.5, -1]))>
        %f = fully_connected(%x, %w) : 1x2xf32 loc(onnx "matmul")
        %y = add(%f, %k) {act relu} : 1x2xf32 loc(onnx "add")
        return %y
      }

      """
    let after = """
      graph @m(%x: 1x2xf32) -> (1x2xf32) {
        %w = const 2x2xf32 dense<\(R.hex([1, 2, 3, 4]))>
        %k_bias = const 2xf32 dense<\(R.hex([0.5, -1]))>
        %y = fully_connected(%x, %w, %k_bias) {act relu} : 1x2xf32 loc(onnx "add")
        return %y
      }

      """
    #expect(try R.run(foldBatchNorm, on: before) == after)
    // Not when the add broadcasts the op's result to a larger shape.
    let broadcast = before.replacingOccurrences(of: "%k = const 1x2xf32", with: "%k = const 3x2xf32")
      .replacingOccurrences(of: "dense<\(R.hex([0.5, -1]))>", with: "dense<\(R.hex([0.5, -1, 0, 0, 1, 1]))>")
      .replacingOccurrences(of: "{act relu} : 1x2xf32", with: "{act relu} : 3x2xf32")
      .replacingOccurrences(of: "-> (1x2xf32)", with: "-> (3x2xf32)")
    #expect(try R.run(foldBatchNorm, on: broadcast) == Printer().print(try Parser.parse(broadcast)))
  }

  /// A graph with conv2d, depthwise_conv2d and fully_connected, each followed by a batch norm
  /// with random parameters; folding must not change the outputs beyond float rounding.
  static func randomModel(_ rng: inout R.Numbers) -> String {
    func c(_ name: String, _ shape: String, _ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> String {
      "  %\(name) = const \(shape)xf32 dense<\(R.hex(rng.floats(n, lo, hi)))>\n"
    }
    var s = "graph @m(%x: 1x6x6x3xf32) -> (1x5xf32) {\n"
    s += c("w0", "4x3x3x3", 108) + c("b0", "4", 4)
    for (k, n) in [(1, 4), (2, 4), (3, 5)] {
      s += c("g\(k)", "\(n)", n, 0.5, 2) + c("be\(k)", "\(n)", n) + c("m\(k)", "\(n)", n) + c("v\(k)", "\(n)", n, 0.1, 3)
    }
    s += c("w1", "1x3x3x4", 36) + c("w2", "5x16", 80) + c("b2", "5", 5)
    s += """
        %c0 = conv2d(%x, %w0, %b0) {stride [2, 2], pad [1, 1, 1, 1]} : 1x3x3x4xf32 loc(onnx "c0")
        %n0 = batch_norm(%c0, %g1, %be1, %m1, %v1) {epsilon 0.001} : 1x3x3x4xf32 loc(onnx "n0")
        %c1 = depthwise_conv2d(%n0, %w1) {stride [1, 1], multiplier 1} : 1x1x1x4xf32 loc(onnx "c1")
        %n1 = batch_norm(%c1, %g2, %be2, %m2, %v2) {epsilon 0.001} : 1x1x1x4xf32 loc(onnx "n1")
        %r = reshape(%n1) {shape [1, 4]} : 1x4xf32 loc(onnx "r")
        %r2 = concat(%r, %r, %r, %r) {axis 1} : 1x16xf32 loc(onnx "cat")
        %c2 = fully_connected(%r2, %w2, %b2) : 1x5xf32 loc(onnx "fc")
        %n2 = batch_norm(%c2, %g3, %be3, %m3, %v3) {epsilon 0.001} : 1x5xf32 loc(onnx "n2")
        return %n2
      }

      """
    return s
  }

  @Test func foldingPreservesOutputs() throws {
    var rng = R.Numbers(seed: 7)
    let g = try Parser.parse(Self.randomModel(&rng))
    var folded = g
    try PassManager([foldBatchNorm]).run(&folded)
    #expect(!folded.ops.contains { $0.kind.mnemonic == "batch_norm" })
    #expect(folded.ops.count == g.ops.count - 3)
    let before = try Interpreter(g)
    let after = try Interpreter(folded)
    for _ in 0..<5 {
      let x = R.randomInputs(g, &rng)
      let d = R.maxDifference(try before.run(x)[0], try after.run(x)[0])
      #expect(d <= 1e-5, "largest difference \(d)")
    }
  }
}
