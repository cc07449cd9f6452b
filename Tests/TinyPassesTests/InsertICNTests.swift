import Foundation
import Interpreter
import Testing
import TinyIR

@testable import TinyPasses

@Suite struct InsertICNTests {
  typealias R = Rewrite

  // γ/σ = [2/1, −1/0.5] = [2, −2] (σ = sqrt(var + 0.25)); S_w' = 0.5·|γ/σ| = [1, 1];
  // channel 1 negated: [3, −5] → [3, 5]; b' = (0 − μ)·γ/σ + β = [−1·2 + 0.5, 0·−2 − 1] = [−1.5, −1].
  static func before(weights: [Int] = [3, -5]) -> String {
    """
    graph @icn(%x: 1x2x2x1xf32) -> (1x2x2x2xf32) {
      %w = const 2x1x1x1xi8 q(0.5, 0) dense<\(R.hex(int8: weights))>
      %gamma = const 2xf32 dense<\(R.hex([2, -1]))>
      %beta = const 2xf32 dense<\(R.hex([0.5, -1]))>
      %mean = const 2xf32 dense<\(R.hex([1, 0]))>
      %var = const 2xf32 dense<\(R.hex([0.75, 0]))>
      %wd = dequantize(%w) : 2x1x1x1xf32 loc(onnx "dq_w")
      %c = conv2d(%x, %wd) {stride [1, 1]} : 1x2x2x2xf32 loc(onnx "conv")
      %y = batch_norm(%c, %gamma, %beta, %mean, %var) {epsilon 0.25} : 1x2x2x2xf32 loc(onnx "bn")
      return %y
    }

    """
  }

  @Test func batchNormGoesIntoScalesAndBiasWithTheIntegerWeightsKept() throws {
    let after = """
      graph @icn(%x: 1x2x2x1xf32) -> (1x2x2x2xf32) {
        %w = const 2x1x1x1xi8 q(axis 0, [1.0, 1.0], [0, 0]) dense<\(R.hex(int8: [3, 5]))>
        %w_bias_icn = const 2xf32 dense<\(R.hex([-1.5, -1]))>
        %wd = dequantize(%w) : 2x1x1x1xf32 loc(onnx "dq_w")
        %y = conv2d(%x, %wd, %w_bias_icn) {stride [1, 1]} : 1x2x2x2xf32 loc(onnx "bn")
        return %y
      }

      """
    #expect(try R.run(insertICN, on: Self.before()) == after)
  }

  /// −128 in a channel with γ < 0 has no int8 negation: it becomes 127 (one step off).
  @Test func theLowestCodeSaturatesWhenItsChannelIsNegated() throws {
    let out = try R.run(insertICN, on: Self.before(weights: [-128, -128]))
    #expect(out.contains("dense<\(R.hex(int8: [-128, 127]))>"), "\(out)")
  }

  @Test func leftAloneWhenTheLayerHasAnActivationOrAnotherReader() throws {
    let fused = Self.before().replacingOccurrences(of: "{stride [1, 1]}", with: "{stride [1, 1], act relu}")
    #expect(try R.run(insertICN, on: fused) == Printer().print(try Parser.parse(fused)))
    let shared = Self.before().replacingOccurrences(of: "return %y", with: "return %y, %c")
      .replacingOccurrences(of: "-> (1x2x2x2xf32)", with: "-> (1x2x2x2xf32, 1x2x2x2xf32)")
    #expect(try R.run(insertICN, on: shared) == Printer().print(try Parser.parse(shared)))
  }

  /// A quantization-aware-trained layer as ONNX QDQ exports it: int8 weights, a float conv, its
  /// batch norm, a relu, then a quantize.
  static func qat() -> String {
    var rng = R.Numbers(seed: 11)
    let w = (0..<12).map { _ in Int(rng.next(-127, 127)) }
    return """
      graph @qat(%x: 1x4x4x4xf32) -> (1x4x4x3xf32) {
        %w = const 3x1x1x4xi8 q(axis 0, [0.02, 0.01, 0.03], [0, 0, 0]) dense<\(R.hex(int8: w))>
        %b = const 3xf32 dense<\(R.hex([0.1, -0.2, 0.05]))>
        %gamma = const 3xf32 dense<\(R.hex([1.5, -0.7, 0.9]))>
        %beta = const 3xf32 dense<\(R.hex([0.2, 0.4, -0.1]))>
        %mean = const 3xf32 dense<\(R.hex([0.3, -0.1, 0.2]))>
        %var = const 3xf32 dense<\(R.hex([2.0, 0.5, 1.2]))>
        %xq = quantize(%x) : 1x4x4x4xi8 q(0.01, 0) loc(onnx "q_x")
        %xd = dequantize(%xq) : 1x4x4x4xf32 loc(onnx "dq_x")
        %wd = dequantize(%w) : 3x1x1x4xf32 loc(onnx "dq_w")
        %c = conv2d(%xd, %wd, %b) {stride [1, 1]} : 1x4x4x3xf32 loc(onnx "conv")
        %n = batch_norm(%c, %gamma, %beta, %mean, %var) {epsilon 0.001} : 1x4x4x3xf32 loc(onnx "bn")
        %r = relu(%n) : 1x4x4x3xf32 loc(onnx "relu")
        %rq = quantize(%r) : 1x4x4x3xi8 q(0.01, -128) loc(onnx "q_y")
        %y = dequantize(%rq) : 1x4x4x3xf32 loc(onnx "dq_y")
        return %y
      }

      """
  }

  /// The interpreter before and after agrees within one step of the result's quantization
  /// (the float sums differ only in rounding), and after the integer pipeline too, where the
  /// layer now runs on integers; without insert-icn lower-qdq leaves that layer in float.
  @Test func interpreterAgreesBeforeAndAfterAndTheLayerBecomesInteger() throws {
    let g = try Parser.parse(Self.qat())
    try Verifier.verify(g)
    var rng = R.Numbers(seed: 5)
    let inputs = R.randomInputs(g, &rng, -1.2, 1.2)
    let reference = try Interpreter(g).run(inputs)[0]

    var icn = g
    try PassManager([insertICN]).run(&icn)
    #expect(!icn.ops.contains { if case .batchNorm = $0.kind { return true } else { return false } })
    #expect(R.maxDifference(try Interpreter(icn).run(inputs)[0], reference) <= 0.01 + 1e-6)

    let pipeline = "fold-constants,cancel-transposes,insert-icn,fold-batchnorm,fuse-activations,lower-qdq,eliminate-dead-code"
    var integer = g
    try PassManager(pipeline: pipeline, passes: standardPasses).run(&integer)
    let conv = try #require(integer.ops.first { if case .conv2d = $0.kind { return true } else { return false } })
    #expect(integer.type(of: conv.inputs[0]).elementType == .i8 && integer.type(of: conv.outputs[0]).elementType == .i8)
    #expect(integer.type(of: conv.inputs[1]).elementType == .i8)
    #expect(R.maxDifference(try Interpreter(integer).run(inputs)[0], reference) <= 0.01 + 1e-6)

    var without = g
    try PassManager(pipeline: pipeline.replacingOccurrences(of: "insert-icn,", with: ""), passes: standardPasses)
      .run(&without)
    let floatConv = try #require(without.ops.first { if case .conv2d = $0.kind { return true } else { return false } })
    #expect(without.type(of: floatConv.outputs[0]).elementType == .f32)
  }
}
