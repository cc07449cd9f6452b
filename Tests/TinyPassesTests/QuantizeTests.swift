import Foundation
import Interpreter
import TFLiteFrontend
import Testing
import TinyIR

@testable import TinyPasses

@Suite struct QuantizeTests {
  typealias R = Rewrite

  static let fc = """
    graph @g(%x: 1x2xf32) -> (1x2xf32) {
      %w = const 2x2xf32 dense<\(R.hex([2, 0, 0, 1]))>
      %b = const 2xf32 dense<\(R.hex([0.5, -0.25]))>
      %y = fully_connected(%x, %w, %b) : 1x2xf32 loc(onnx "fc")
      return %y
    }

    """
  /// Inputs cover [-1, 1]; outputs are [-1.5, 0.75] and [2.5, -1.25], so they cover [-1.5, 2.5].
  static let fcSamples = [[NDArray(shape: [1, 2], floats: [-1, 1])], [NDArray(shape: [1, 2], floats: [1, -1])]]

  // Input [-1, 1]: scale 2/255; zero point −128 + 127.5 = 127 − 127.5 = −0.5, rounded away
  // from zero: −1 (TFLite gives (0.007843138, −1) for this range).
  // Output [-1.5, 2.5]: scale 4/255; zero point from the max end (smaller error):
  // 127 − 2.5·255/4 = −32.375 → −32.
  // Weights per output row: max|w| = 2 and 1 → scales 2/127, 1/127, codes [127, 0], [0, 127].
  // Bias: scales s_in·s_w = (2/255)(2/127), (2/255)(1/127); codes round(0.5/s) = 4048, −4048.
  static let sIn = Float(2.0 / 255)
  static let sW = [Float(2.0 / 127), Float(1.0 / 127)]
  static let sB = sW.map { Float(Double(sIn) * Double($0)) }
  static let sOut = Float(4.0 / 255)

  @Test func fullyConnectedWithInt8Interface() throws {
    var g = try Parser.parse(Self.fc)
    try quantizeGraph(&g, samples: Self.fcSamples)
    try Verifier.verify(g)
    let expected = """
      graph @g(%x: 1x2xi8 q(\(Self.sIn), -1)) -> (1x2xi8 q(\(Self.sOut), -32)) {
        %w = const 2x2xi8 q(axis 0, [\(Self.sW[0]), \(Self.sW[1])], [0, 0]) dense<\(R.hex(int8: [127, 0, 0, 127]))>
        %b = const 2xi32 q(axis 0, [\(Self.sB[0]), \(Self.sB[1])], [0, 0]) dense<\(R.hex(int32: [4048, -4048]))>
        %y = fully_connected(%x, %w, %b) : 1x2xi8 q(\(Self.sOut), -32) loc(onnx "fc")
        return %y
      }

      """
    #expect(Printer().print(g) == expected)
  }

  @Test func floatInterfaceQuantizesInsideTheGraph() throws {
    var g = try Parser.parse(Self.fc)
    try quantizeGraph(&g, samples: Self.fcSamples, io: .float)
    let expected = """
      graph @g(%x: 1x2xf32) -> (1x2xf32) {
        %w = const 2x2xi8 q(axis 0, [\(Self.sW[0]), \(Self.sW[1])], [0, 0]) dense<\(R.hex(int8: [127, 0, 0, 127]))>
        %b = const 2xi32 q(axis 0, [\(Self.sB[0]), \(Self.sB[1])], [0, 0]) dense<\(R.hex(int32: [4048, -4048]))>
        %x_q = quantize(%x) : 1x2xi8 q(\(Self.sIn), -1) loc(quantize "x")
        %y_q = fully_connected(%x_q, %w, %b) : 1x2xi8 q(\(Self.sOut), -32) loc(onnx "fc")
        %y = dequantize(%y_q) : 1x2xf32 loc(quantize "y")
        return %y
      }

      """
    #expect(Printer().print(g) == expected)
    // The int8 graph computes the float function to within an output step or two.
    let float = try Interpreter(try Parser.parse(Self.fc))
    let int8 = try Interpreter(g)
    for x in [[-1, 1], [1, -1], [0.3, 0.7], [-0.2, -0.9]] as [[Float]] {
      let a = NDArray(shape: [1, 2], floats: x)
      let d = R.maxDifference(try float.run([a])[0], try int8.run([a])[0])
      #expect(d <= 2 * Self.sOut, "input \(x): difference \(d)")
    }
  }

  @Test func asymmetricParametersFollowTheConverter() {
    // A range that excludes 0 is widened to include it: [0.5, 2.55] → [0, 2.55].
    let a = QuantRules.asymmetricInt8(min: 0.5, max: 2.55)
    #expect(a.zeroPoint == -128)
    #expect(abs(a.scale - 0.01) < 1e-8)
    // All-negative range: zero point at the top.
    let b = QuantRules.asymmetricInt8(min: -2.55, max: -1)
    #expect(b.zeroPoint == 127)
    // A zero range: scale 1, zero point −128.
    #expect(QuantRules.asymmetricInt8(min: 0, max: 0) == Quantization(scale: 1, zeroPoint: -128))
    // Symmetric per-channel weights: an all-zero channel gets scale 1 and codes 0.
    let (q, codes) = QuantRules.symmetricPerChannel([0, 0, -0.5, 0.25], shape: [2, 2], axis: 0)
    #expect(q.scales == [1, Float(0.5 / 127)])
    #expect(codes == [0, 0, -127, 64])
  }

  /// The TFLite converter quantized the Example models' inputs from the ranges of their
  /// representative datasets (`scripts/make_examples.py`: 32 inputs from numpy's
  /// `default_rng(1000 + seed).uniform(-1, 1)`, minima and maxima below computed with numpy).
  /// The rule must give the converter's scale and zero point exactly.
  @Test(arguments: [
    ("ds_cnn_s", Float(-0.9999930262565613), Float(0.9998844265937805)),
    ("mobilenet_s", -0.9999810457229614, 0.9999890923500061),
    ("resnet_s", -0.9999995231628418, 0.9999386668205261),
    ("ops_int8", -0.9989047646522522, 0.9992245435714722),
    ("quant_io_s", -0.9998201131820679, 0.9999884366989136),
  ])
  func inputParametersMatchTheTFLiteConverter(model: String, min: Float, max: Float) throws {
    let g = try importTFLite(path: R.repoRoot.path + "/Examples/\(model).tflite")
    // quant_io_s has a float input and quantizes it in its first op.
    let input = g.type(of: g.inputs[0]).elementType == .f32 ? g.ops[0].outputs[0] : g.inputs[0]
    let converter = try #require(g.type(of: input).quantization)
    #expect(QuantRules.asymmetricInt8(min: min, max: max) == converter)
    #expect(QuantRules.activation(min: min, max: max) == converter)
  }

  /// conv+relu, depthwise+relu6, max pool, add of a constant, mean, reshape, fully connected and
  /// softmax with random weights.
  static func smallCNN(_ rng: inout R.Numbers) -> String {
    func c(_ name: String, _ shape: String, _ n: Int, _ scale: Float = 1) -> String {
      "  %\(name) = const \(shape)xf32 dense<\(R.hex(rng.floats(n, -scale, scale)))>\n"
    }
    var s = "graph @cnn(%x: 1x8x8x2xf32) -> (1x5xf32) {\n"
    s += c("w0", "6x3x3x2", 108, 0.5) + c("b0", "6", 6, 0.1) + c("w1", "1x3x3x6", 54) + c("b1", "6", 6, 0.1)
    s += c("k", "6", 6, 0.5) + c("w2", "5x6", 30) + c("b2", "5", 5, 0.2)
    s += """
        %c0 = conv2d(%x, %w0, %b0) {stride [1, 1], pad [1, 1, 1, 1], act relu} : 1x8x8x6xf32 loc(onnx "c0")
        %c1 = depthwise_conv2d(%c0, %w1, %b1) {stride [2, 2], pad [0, 0, 1, 1], multiplier 1, act relu6} : 1x4x4x6xf32 loc(onnx "c1")
        %p = max_pool2d(%c1) {filter [2, 2], stride [2, 2]} : 1x2x2x6xf32 loc(onnx "p")
        %a = add(%p, %k) : 1x2x2x6xf32 loc(onnx "a")
        %m = mean(%a) {axes [1, 2], keep_dims 1} : 1x1x1x6xf32 loc(onnx "m")
        %r = reshape(%m) {shape [1, 6]} : 1x6xf32 loc(onnx "r")
        %f = fully_connected(%r, %w2, %b2) : 1x5xf32 loc(onnx "f")
        %y = softmax(%f) {beta 1.0} : 1x5xf32 loc(onnx "y")
        return %y
      }

      """
    return s
  }

  @Test func smallCNNStaysCloseToFloat() throws {
    var rng = R.Numbers(seed: 11)
    let float = try Parser.parse(Self.smallCNN(&rng))
    let calibration = (0..<16).map { _ in R.randomInputs(float, &rng) }
    var g = float
    try quantizeGraph(&g, samples: calibration)
    try Verifier.verify(g)
    // Layers TFLite fixes: max pool and reshape keep their input's quantization, softmax 1/256.
    let types = Dictionary(uniqueKeysWithValues: g.ops.map { (g[$0.outputs[0]].name, g.type(of: $0.outputs[0])) })
    #expect(types["p"]?.quantization == types["c1"]?.quantization)
    #expect(types["r"]?.quantization == types["m"]?.quantization)
    #expect(types["y"]?.quantization == Quantization(scale: 1.0 / 256, zeroPoint: -128))
    let fi = try Interpreter(float)
    let qi = try Interpreter(g)
    let qIn = g.type(of: g.inputs[0]).quantization ?? Quantization(scale: 1, zeroPoint: 0)
    var worst: Float = 0
    var total: Float = 0
    var agree = 0
    let trials = 40
    for _ in 0..<trials {
      let x = R.randomInputs(float, &rng)[0]
      let want = try fi.run([x])[0].floats
      let got = R.dequantized(try qi.run([R.quantized(x.floats, qIn, shape: x.shape)])[0], Quantization(scale: 1.0 / 256, zeroPoint: -128))
      worst = max(worst, zip(want, got).map { abs($0 - $1) }.max() ?? 0)
      total += zip(want, got).map { abs($0 - $1) }.reduce(0, +)
      if R.argmax(want) == R.argmax(got) { agree += 1 }
    }
    let mean = total / Float(trials * 5)
    print("small CNN int8 vs float: top-1 agrees on \(agree) of \(trials), probability difference mean \(mean), largest \(worst)")
    // Every layer is within about 1.5 steps of its float value; on the softmax output that gives
    // probabilities within 0.1 (worst case, inputs that leave the calibrated ranges saturate) and
    // within 0.01 on average; top-1 mostly agrees (random weights give near-ties).
    #expect(worst <= 0.1, "largest probability difference \(worst)")
    #expect(mean <= 0.01, "mean probability difference \(mean)")
    #expect(agree >= trials * 9 / 10, "top-1 agrees on \(agree) of \(trials)")
  }

  @Test func calibrationFromNpyFilesAndFolders() throws {
    var rng = R.Numbers(seed: 5)
    let float = try Parser.parse(Self.smallCNN(&rng))
    let samples = (0..<6).map { _ in R.randomInputs(float, &rng) }
    var direct = float
    try quantizeGraph(&direct, samples: samples)

    let dir = try R.temporaryFolder("calibration")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // One file holding all six samples stacked.
    try R.writeNpy(samples.flatMap { $0[0].floats }, shape: [6, 8, 8, 2], to: dir + "/all.npy")
    // A folder: three files of two samples each.
    try FileManager.default.createDirectory(atPath: dir + "/parts", withIntermediateDirectories: true)
    for k in 0..<3 {
      try R.writeNpy(samples[2 * k][0].floats + samples[2 * k + 1][0].floats, shape: [2, 8, 8, 2], to: dir + "/parts/s\(k).npy")
    }
    for path in [dir + "/all.npy", dir + "/parts"] {
      var g = float
      try PassManager([quantize.with(options: ["calibration": path])]).run(&g)
      #expect(g == direct, "calibration from \(path)")
    }
    // A file whose size is not a whole number of inputs.
    try R.writeNpy([1, 2, 3], shape: [3], to: dir + "/bad.npy")
    #expect {
      var g = float
      try PassManager([quantize.with(options: ["calibration": dir + "/bad.npy"])]).run(&g)
    } throws: { "\($0)".contains("not a whole number of inputs of shape [1, 8, 8, 2]") }
  }

  @Test func clearErrors() throws {
    let g = try Parser.parse(Self.fc)
    let cases: [([String: String], String)] = [
      ([:], "quantize needs calibration data: quantize{calibration=PATH}"),
      (["calibration": "/nonexistent/data.npy"], "calibration data '/nonexistent/data.npy' does not exist"),
      (["calibration": "x.npy", "io": "uint8"], "option io must be int8 or float, got 'uint8'"),
      (["calibrate": "x.npy"], "unknown option 'calibrate'"),
    ]
    for (options, message) in cases {
      #expect {
        var h = g
        try PassManager([quantize.with(options: options)]).run(&h)
      } throws: { "\($0)".contains(message) }
    }
    var qdq = try Parser.parse(LowerQDQTests.qdq)
    #expect {
      try quantizeGraph(&qdq, samples: [[NDArray(shape: [1, 4, 4, 2], floats: [Float](repeating: 0.5, count: 32))]])
    } throws: { "\($0)".contains("the graph is already quantized (use lower-qdq for QDQ graphs)") }
  }

  /// A batch norm after a relu (fold-batchnorm cannot fold it) on a 2-D value, and a
  /// log_softmax (no int8 kernel) at the end.
  static let unfoldable = """
    graph @u(%x: 1x3xf32) -> (1x3xf32) {
      %w = const 3x3xf32 dense<\(R.hex([1, -0.5, 0.25, 0.5, 1, -1, -0.25, 0.75, 1]))>
      %gamma = const 3xf32 dense<\(R.hex([1.5, 0.5, 2]))>
      %beta = const 3xf32 dense<\(R.hex([0.1, -0.2, 0.3]))>
      %mean = const 3xf32 dense<\(R.hex([0.2, 0.1, 0]))>
      %var = const 3xf32 dense<\(R.hex([1, 4, 0.25]))>
      %f = fully_connected(%x, %w) {act relu} : 1x3xf32 loc(onnx "fc")
      %n = batch_norm(%f, %gamma, %beta, %mean, %var) {epsilon 0.001} : 1x3xf32 loc(onnx "bn")
      %y = log_softmax(%n) : 1x3xf32 loc(onnx "ls")
      return %y
    }

    """

  @Test func unfoldedBatchNormAndFloatOnlyOps() throws {
    let float = try Parser.parse(Self.unfoldable)
    var rng = R.Numbers(seed: 4)
    var g = float
    try quantizeGraph(&g, samples: (0..<16).map { _ in R.randomInputs(float, &rng) })
    // The batch norm runs as reshape → 1x1 depthwise → reshape on int8; log_softmax stays
    // float after a dequantize, so the graph output is f32.
    #expect(g.ops.map(\.kind.mnemonic) == ["fully_connected", "reshape", "depthwise_conv2d", "reshape", "dequantize", "log_softmax"])
    #expect(g.type(of: g.outputs[0]).elementType == .f32)
    let qIn = g.type(of: g.inputs[0]).quantization ?? Quantization(scale: 1, zeroPoint: 0)
    var worst: Float = 0
    for _ in 0..<20 {
      let x = R.randomInputs(float, &rng)[0]
      let want = try Interpreter(float).run([x])[0]
      let got = try Interpreter(g).run([R.quantized(x.floats, qIn, shape: x.shape)])[0]
      worst = max(worst, R.maxDifference(want, got))
    }
    // Log-probabilities within 0.05 (three int8 layers, ranges about 2 wide: steps ≈ 0.01).
    #expect(worst <= 0.05, "largest difference \(worst)")
  }

  /// The float op zoo from Examples (TFLite converter output, float32), quantized with 32
  /// random calibration inputs, against the float graph on the three golden inputs and on
  /// 40 more random ones.
  ///
  /// Its standalone relu6 (after a concat) keeps its operand's quantization: given its own
  /// range, as the TFLite converter does, top-1 agreed on only 28 of these 43 inputs, since
  /// TFLite Micro's int8 relu6 (and so the interpreter's) does not requantize.
  @Test func floatExampleModelKeepsItsTopOne() throws {
    let path = R.repoRoot.path + "/Examples/float_s.tflite"
    let float = try importTFLite(path: path)
    var rng = R.Numbers(seed: 2026)
    let calibration = (0..<32).map { _ in R.randomInputs(float, &rng) }
    var g = float
    #expect(float.ops.filter { $0.kind == .relu6 }.count == 1)
    try PassManager([foldBatchNorm, fuseActivations]).run(&g)
    try quantizeGraph(&g, samples: calibration)
    try Verifier.verify(g)
    #expect(g.ops.allSatisfy { op in op.outputs.allSatisfy { g.type(of: $0).elementType != .f32 } })
    let fi = try Interpreter(float)
    let qi = try Interpreter(g)
    let qIn = g.type(of: g.inputs[0]).quantization ?? Quantization(scale: 1, zeroPoint: 0)
    let qOut = g.type(of: g.outputs[0]).quantization ?? Quantization(scale: 1, zeroPoint: 0)
    var inputs: [NDArray] = []
    for k in 0..<3 {
      let golden = R.repoRoot.path + "/Examples/golden/float_s.input\(k).npy"
      inputs.append(try CalibrationData.split(try CalibrationData.readNpy(golden), path: golden, for: float.type(of: float.inputs[0]))[0])
    }
    inputs += (0..<40).map { _ in R.randomInputs(float, &rng)[0] }
    var agree = 0
    var worst: Float = 0
    for x in inputs {
      let want = try fi.run([x])[0].floats
      let got = R.dequantized(try qi.run([R.quantized(x.floats, qIn, shape: x.shape)])[0], qOut)
      worst = max(worst, zip(want, got).map { abs($0 - $1) }.max() ?? 0)
      if R.argmax(want) == R.argmax(got) { agree += 1 }
    }
    print("float_s int8 vs float: top-1 agrees on \(agree) of \(inputs.count), largest probability difference \(worst)")
    #expect(agree >= inputs.count * 9 / 10, "top-1 agrees on \(agree) of \(inputs.count)")
    #expect(worst <= 0.1, "largest probability difference \(worst)")
  }
}
