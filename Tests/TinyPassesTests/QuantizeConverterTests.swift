import Foundation
import Interpreter
import TFLiteFrontend
import Testing
import TinyIR

@testable import TinyPasses

/// tinyc's `quantize` against the TFLite converter's full-integer post-training quantization
/// (TF 2.21) of the same float model with the same representative data.
///
/// Fixtures (`Fixtures/`): the float twins of `Examples/ops_int8.tflite` and
/// `Examples/resnet_s.tflite` (the same Keras nets and seeds as `scripts/make_examples.py`,
/// converted as plain float32) and the 32 representative samples the converter calibrated the
/// int8 Examples with. Regenerate them with
/// `python3 scripts/check_quantize.py --write-fixtures Tests/TinyPassesTests/Fixtures`, which
/// also checks every Example and prints the full comparison.
///
/// Quantizing a twin must give exactly the converter's int8 model's outputs in TFLite Micro
/// (the committed goldens), the same weight and bias codes and weight scales, and the same
/// zero points, with one deliberate exception: ops_int8's standalone relu6 keeps its operand's
/// quantization (see `quantize`: TFLite Micro's int8 relu6 does not requantize, so the
/// converter's choice is wrong there), so in ops_int8 every layer before it is the converter's,
/// bit for bit, and the relu6's result and the fully-connected layer reading it are not. Activation and bias scales may differ by a few units in the last place:
/// TFLite's calibrator runs its optimized float kernels, which round sums in another order
/// than the reference interpreter, so a calibrated range can differ in its last bits.
@Suite struct QuantizeConverterTests {
  typealias R = Rewrite

  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
  static let examples = R.repoRoot.path + "/Examples"
  /// Scale differences allowed between tinyc and the converter, in float32 units in the last
  /// place (2 is the most on these two models; see the suite's comment for why any).
  static let scaleULPs = 4

  /// The float twin quantized with tinyc's own pipeline for a float model.
  static func quantizedTwin(_ name: String) throws -> Graph {
    var g = try importTFLite(path: "\(fixtures)/\(name)_float.tflite")
    let calibration = "\(fixtures)/\(name)_calibration.npy"
    try PassManager([
      foldConstants, foldBatchNorm, fuseActivations, quantize.with(options: ["calibration": calibration]), eliminateDeadCode,
    ]).run(&g)
    try Verifier.verify(g)
    return g
  }

  /// The last op made from each TFLite operator, by operator index.
  static func byOperator(_ g: Graph) -> [Int: Op] {
    var ops: [Int: Op] = [:]
    for op in g.ops where op.location.source == "tflite" {
      if let i = op.location.index { ops[i] = op }
    }
    return ops
  }

  static func ulps(_ a: Float, _ b: Float) -> Int { abs(Int(a.bitPattern) - Int(b.bitPattern)) }

  /// How two quantized types differ: nil when they agree (shape, element type, axis, zero
  /// points, scales within `scaleULPs`), else a description; `exact` tells whether the
  /// scales are bit-identical.
  static func difference(_ ours: TensorType, _ theirs: TensorType) -> (String?, exact: Bool) {
    guard ours.shape == theirs.shape, ours.elementType == theirs.elementType else {
      return ("\(Printer.type(ours)) vs \(Printer.type(theirs))", false)
    }
    guard let a = ours.quantization, let b = theirs.quantization else {
      return ours.quantization == nil && theirs.quantization == nil ? (nil, true) : ("quantization missing on one side", false)
    }
    guard a.axis == b.axis, a.zeroPoints == b.zeroPoints, a.scales.count == b.scales.count else {
      return ("\(Printer.quantization(a)) vs \(Printer.quantization(b))", false)
    }
    let worst = zip(a.scales, b.scales).map { ulps($0, $1) }.max() ?? 0
    return (worst <= scaleULPs ? nil : "scales \(worst) ulp apart: \(Printer.quantization(a)) vs \(Printer.quantization(b))", worst == 0)
  }

  @Test func outputsAreTheConvertersModelsInTFLiteMicro() throws {
    let name = "resnet_s"
    let g = try Self.quantizedTwin(name)
    let interpreter = try Interpreter(g)
    for k in 0..<3 {
      let x = try Npy.read(path: "\(Self.examples)/golden/\(name).input\(k).npy")
      let want = try Npy.read(path: "\(Self.examples)/golden/\(name).output\(k).npy")
      let got = try interpreter.run([x])[0]
      #expect(got.elementType == .i8 && got.shape == want.shape)
      #expect(got.integers == want.integers, "\(name) input \(k)")
    }
  }

  /// ops_int8 layer by layer against TFLite Micro's outputs of the converter's model
  /// (`Examples/golden/layers`): identical up to its relu6, which keeps its operand's
  /// quantization here; from there on the converter's model computes with a relu6 result
  /// TFLite Micro never rescaled.
  @Test func opsZooIsTheConvertersUpToItsRelu6() throws {
    let name = "ops_int8"
    let g = try Self.quantizedTwin(name)
    let converter = try importTFLite(path: "\(Self.examples)/\(name).tflite")
    // Twin operator i is the converter's i-th operator other than QUANTIZE.
    let converterIndex = converter.ops.filter { $0.kind != .quantize }.compactMap(\.location.index)
    let relu6 = try #require(Self.byOperator(g).first { $0.value.kind == .relu6 }?.key)
    #expect(
      g.type(of: Self.byOperator(g)[relu6]?.outputs[0] ?? g.inputs[0]).quantization
        == g.type(of: Self.byOperator(g)[relu6]?.inputs[0] ?? g.inputs[0]).quantization)
    var compared = 0
    for k in 0..<3 {
      let x = try Npy.read(path: "\(Self.examples)/golden/\(name).input\(k).npy")
      var results: [Int: NDArray] = [:]
      _ = try Interpreter(g).run([x]) { _, op, out in
        if op.location.source == "tflite", let i = op.location.index { results[i] = out[0] }
      }
      // (A concat quantize split from its fused activation has no operator of its own.)
      for i in 0..<relu6 {
        guard let got = results[i] else { continue }
        let golden = "\(Self.examples)/golden/layers/\(name).input\(k)/op\(converterIndex[i]).npy"
        #expect(got.integers == (try Npy.read(path: golden)).integers, "\(name) input \(k) operator \(i)")
        compared += 1
      }
    }
    #expect(compared >= 3 * (relu6 - 2), "\(compared) layers compared")
  }

  /// Operator by operator (the twin and the converter's model have the same operators apart
  /// from the converter's QUANTIZE ops), every operand and result of tinyc's quantized graph
  /// against the converter's model.
  @Test(arguments: ["ops_int8", "resnet_s"])
  func quantizationIsTheConverters(name: String) throws {
    let ourGraph = try Self.quantizedTwin(name)
    let ours = Self.byOperator(ourGraph)
    let converterGraph = try importTFLite(path: "\(Self.examples)/\(name).tflite")
    let theirs = Self.byOperator(converterGraph).sorted { $0.key < $1.key }.map(\.value).filter {
      $0.kind != .quantize && $0.kind != .dequantize
    }
    let twinOperators = Set(try importTFLite(path: "\(Self.fixtures)/\(name)_float.tflite").ops.compactMap(\.location.index))
    #expect(theirs.count == twinOperators.count)
    var compared = 0
    var exact = 0
    var departed = false
    for (i, c) in theirs.enumerated() {
      guard let t = ours[i] else {
        // quantize splits a concat from its fused activation; the concat's result is checked
        // as the activation's operand.
        #expect(c.kind.mnemonic == "concat", "operator \(i) (\(c.kind.mnemonic)) has no tinyc op")
        continue
      }
      let what = "\(name) operator \(i) \(c.kind.mnemonic)"
      #expect(t.kind == c.kind, "\(what): \(t.kind) vs \(c.kind)")
      #expect(t.inputs.count == c.inputs.count, "\(what): operand count")
      let pairs = zip(t.inputs, c.inputs).map { ($0, $1, true) } + zip(t.outputs, c.outputs).map { ($0, $1, false) }
      // The deliberate departure (see the suite): from ops_int8's relu6 on, its result's
      // quantization (its operand's) and what follows from it (the next layer's bias scales).
      if t.kind == .relu6 {
        #expect(ourGraph.type(of: t.outputs[0]).quantization == ourGraph.type(of: t.inputs[0]).quantization)
        departed = true
      }
      if departed { continue }
      for (v, w, isOperand) in pairs {
        let (diff, same) = Self.difference(ourGraph.type(of: v), converterGraph.type(of: w))
        #expect(diff == nil, "\(what) \(isOperand ? "operand" : "result") %\(ourGraph[v].name): \(diff ?? "")")
        compared += 1
        if same { exact += 1 }
        if let a = ourGraph.constants[v], let b = converterGraph.constants[w] {
          // Constant codes are exact; weights (int8) have exactly the converter's scales too.
          #expect(a.bytes == b.bytes, "\(what): codes of %\(ourGraph[v].name) differ")
          if ourGraph.type(of: v).elementType == .i8 {
            #expect(ourGraph.type(of: v) == converterGraph.type(of: w), "\(what): weight scales of %\(ourGraph[v].name)")
          }
        }
      }
    }
    print("\(name): \(compared) operands and results agree with the converter's, \(exact) with bit-identical scales")
  }

  /// Values the TFLite converter (TF 2.21) gave small probe models (`scripts/check_quantize.py
  /// --probes` builds similar ones): an activation that is always 0, an all-zero weight
  /// channel, and a channel whose bias (−1) is too large for its tiny weights (input scale
  /// 0.007836868).
  @Test func edgeCasesFollowTheConverter() {
    #expect(QuantRules.activation(min: 0, max: 0) == Quantization(scale: 7.843137e-09, zeroPoint: 0))
    let scales = QuantRules.weightScales([0, 0, 0.5, -0.25], shape: [2, 2], axis: 0)
    #expect(scales == [3.937008e-09, Float(0.5 / 127)])
    let adjusted = QuantRules.biasAndWeightScales(bias: [-1], inputScale: 0.007836868, weightScales: [3.937008e-09])
    #expect(adjusted.bias == [9.313226e-10])
    #expect(adjusted.weights == [1.1883862e-07])
    #expect(QuantRules.biasCodes([-1], scales: adjusted.bias) == [-1_073_741_824])
    // A constant operand [0.5631789, 0.24146122, -0.00028810947, 0.12268722] of an add.
    let k: [Float] = [0.5631789, 0.24146122, -0.00028810947, 0.12268722]
    let q = QuantRules.constant(min: k.min() ?? 0, max: k.max() ?? 0)
    #expect(q == Quantization(scale: 0.0022096746, zeroPoint: -128))
    #expect(QuantRules.constantCodes(k, q) == [127, -19, -128, -72])
  }

  /// TFLite's calibrator logs an op's operands again after the op ran; add, sub, mul, div and
  /// softmax run in place, so the overwritten operand's range covers the result's. What the
  /// converter showed (TF 2.21): operand 0 is taken when it can be, else operand 1; not when
  /// the operand has another reader, is a graph input, or the result is a graph output.
  @Test func inPlaceOpsWidenTheOverwrittenOperand() throws {
    let g = try Parser.parse(
      """
      graph @g(%x: 1x4xf32) -> (1x4xf32) {
        %w = const 4x4xf32 dense<\(R.hex([Float](repeating: 0.25, count: 16)))>
        %a = fully_connected(%x, %w) : 1x4xf32 loc(onnx "a")
        %b = fully_connected(%x, %w) : 1x4xf32 loc(onnx "b")
        %s = add(%a, %b) : 1x4xf32 loc(onnx "s")
        %t = sub(%b, %s) : 1x4xf32 loc(onnx "t")
        %u = mul(%t, %t) : 1x4xf32 loc(onnx "u")
        %v = add(%x, %u) : 1x4xf32 loc(onnx "v")
        %y = softmax(%v) {beta 1.0} : 1x4xf32 loc(onnx "y")
        return %y
      }

      """)
    let id = Dictionary(uniqueKeysWithValues: g.values.indices.map { (g.values[$0].name, ValueID($0)) })
    func v(_ n: String) throws -> ValueID { try #require(id[n]) }
    let observed: [String: ClosedRange<Float>] = [
      "x": -1...1, "a": -1...1, "b": -2...2, "s": -5...5, "t": -7...7, "u": 0...49, "v": -1...50, "y": 0...1,
    ]
    var ranges: [ValueID: ClosedRange<Float>] = [:]
    for (n, r) in observed { ranges[try v(n)] = r }
    let logged = ActivationPlan.rangesAsLogged(g, ranges)
    #expect(logged[try v("a")] == -5...5)  // operand 0 of s, read once
    #expect(logged[try v("b")] == -2...2)  // read by s and t
    #expect(logged[try v("s")] == -7...7)  // operand 1 of t (operand 0 has two readers)
    #expect(logged[try v("t")] == -7...7)  // read twice by u
    #expect(logged[try v("u")] == -1...50)  // operand 1 of v (operand 0 is the graph input)
    #expect(logged[try v("v")] == -1...50)  // softmax's result is the graph output
  }
}
