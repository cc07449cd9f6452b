import Foundation
import Interpreter
import TinyIR

/// `quantize{calibration=PATH,io=int8|float}`: post-training int8 quantization of a float graph,
/// with the rules of the TFLite converter's full-integer scheme (TF 2.21,
/// `optimizations=[DEFAULT]` with a representative dataset), so that a float model quantized
/// here and the converter's int8 model of it are the same model (`scripts/check_quantize.py`
/// compares them on the Example models).
///
/// The float graph runs in the reference interpreter on every calibration sample and each
/// value's range is the smallest and largest value seen over all samples, as TFLite's
/// calibrator logs them: it logs every op's operands again after the op has run, and its
/// interpreter runs add, sub, mul, div and softmax in place when an operand (0, else 1) has the
/// result's size, is read by that op only, is not a graph input or constant and the result is
/// not a graph output, so that operand's range also covers the result's. A concat with a fused
/// activation is first split into the concat and a standalone activation (the converter
/// keeps them apart). Then:
/// - activations (graph inputs and op results) become int8 per tensor, asymmetric, from their
///   range widened to include 0 (and by ±1e-6 when narrower than 1e-6), with the converter's
///   arithmetic: `scale = (float(max) − float(min)) / 255` in float32, zero point
///   `−128 − min / scale` (in double, then float32) rounded half away from zero and clamped to
///   [-128, 127];
/// - results with a fixed range in TFLite get it: softmax and logistic (1/256, -128), tanh
///   (1/128, 0);
/// - max/average pool, reshape, transpose, strided_slice, pad, concat and relu6 have one
///   quantization for their operands and result, chosen as the converter does: a
///   single-operand one takes its operand's; a concat keeps its own range and gives it back to
///   its operands and through chains of such ops to their producers (the last reader decides
///   when two disagree); an operand that still differs (a fixed-range result, another concat's
///   choice) is requantized (`quantize` int8 → int8) in front of the op. Standalone relu and
///   clip have their own range, as in the converter;
/// - the one place tinyc departs from the converter: the converter gives a standalone relu6 its
///   own range too, but TFLite Micro's int8 relu6 (CMSIS-NN's, the interpreter's) clamps its
///   operand's codes without requantizing, so wherever the two ranges differ (after a concat, a
///   mean, a pad) the converter's model is wrong in TFLite Micro (its ops_int8 agrees with its
///   float model on 27 of 43 random inputs). Here a standalone relu6 keeps its operand's
///   quantization, which is exact;
/// - conv2d / depthwise_conv2d / fully_connected weights become int8 per output channel,
///   symmetric: `scale[c] = max|w[c]| / 127` (max|w[c]| at least 5e-7), zero point 0, codes
///   `round(w · float(1 / scale))` in [-127, 127]; their biases int32 with `scale[c] = s_in ·
///   s_w[c]` rounded to float32, codes `round(b · float(1 / scale))`, except that a channel whose
///   bias would need (2^31 − 1) / 2 steps or more gets `scale[c] = |b[c]| / ((2^31 − 1) / 2)`
///   and the weight scale `scale[c] / s_in` (the converter's bias adjustment);
/// - other constant operands (of add, mul, …) become int8 per tensor from their own range
///   (widened to include 0, and to ±5e-7 when narrower than 1e-6), codes
///   `round(x / scale + zp)`; a same-scale op's constant operand takes that op's quantization;
/// - a batch_norm that fold-batchnorm could not fold becomes a 1x1 depthwise_conv2d (with
///   reshapes around it when its operand is not 4-D), its weights `s[c] = scale[c] / sqrt(var[c]
///   + eps)` and bias `bias[c] − mean[c]·s[c]` quantized as lower-qdq does;
/// - log_softmax, div, prelu and hard_sigmoid have no int8 kernel in TFLite Micro or CMSIS-NN:
///   they stay float, with a `dequantize` of their int8 operands and a `quantize` (to the
///   quantization the rules above give their result) for its int8 readers; a graph output they
///   produce stays f32.
///
/// What the rules do not reproduce: the calibrator runs TFLite's optimized float kernels,
/// whose sums are rounded in another order than the reference interpreter's, so a range can
/// differ from the converter's in the last bits of a float, and its scale (and the bias scales
/// that follow from it) by a few units in the last place. On the Example models that changed
/// no weight or bias code (on a probe net, one bias code of an all-zero weight channel, about
/// 8·10^8 steps, by 64), and every layer's output on the golden inputs is that of the
/// converter's model in TFLite Micro, bit for bit.
///
/// With `io=int8` (the default, like the converter's `inference_input_type=int8`) the graph's
/// inputs and outputs become int8 and the caller quantizes inputs with the input's scale and
/// zero point; with `io=float` they stay f32 and a `quantize` after each input and a
/// `dequantize` before each output do it inside the graph.
///
/// Calibration data (`PATH`): float32 `.npy` files. For a graph with one input, either one
/// file (its elements split into samples of the input's size, so `N×H×W×C` or a single
/// `1×H×W×C` both work) or a folder whose `.npy` files (in name order) are read that way. For
/// several inputs, a folder with one sub-folder per input, named after the input
/// (`%name` without `%`) or `input0`, `input1`, …, each holding the same number of samples.
///
///     graph @g(%x: 1x2xf32) -> (1x2xf32) {
///       %w = const 2x2xf32 dense<…>
///       %b = const 2xf32 dense<…>
///       %y = fully_connected(%x, %w, %b) : 1x2xf32 loc(onnx "fc")
///       return %y
///     }
///
/// becomes, calibrated on inputs in [-1.28, 1.27] and outputs in [0, 2.55]:
///
///     graph @g(%x: 1x2xi8 q(0.01, 0)) -> (1x2xi8 q(0.01, -128)) {
///       %w = const 2x2xi8 q(axis 0, [0.0078740157, 0.015748031], [0, 0]) dense<…>
///       %b = const 2xi32 q(axis 0, [7.874016e-05, 0.00015748031], [0, 0]) dense<…>
///       %y = fully_connected(%x, %w, %b) : 1x2xi8 q(0.01, -128) loc(onnx "fc")
///       return %y
///     }
public let quantize = Pass("quantize") { graph, options in
  try checkOptionKeys(options, pass: "quantize", known: ["calibration", "io"])
  guard let path = options["calibration"], !path.isEmpty else {
    throw PassError(
      "quantize needs calibration data: quantize{calibration=PATH}, PATH a float32 .npy file or a folder of them")
  }
  let io = try QuantizedIO(option: options["io"])
  let samples = try CalibrationData.load(path: path, for: graph)
  try quantizeGraph(&graph, samples: samples, io: io)
}

/// The interface of a quantized graph.
public enum QuantizedIO: String, Sendable {
  /// Inputs and outputs are int8 (the caller quantizes and dequantizes).
  case int8
  /// Inputs and outputs stay f32, with quantize/dequantize inside the graph.
  case float

  init(option: String?) throws {
    guard let option else {
      self = .int8
      return
    }
    guard let v = QuantizedIO(rawValue: option) else {
      throw PassError("quantize: option io must be int8 or float, got '\(option)'")
    }
    self = v
  }
}

/// Quantizes a float graph with the given calibration samples (each sample holds one array
/// per graph input). See `quantize` for the scheme.
public func quantizeGraph(_ graph: inout Graph, samples: [[NDArray]], io: QuantizedIO = .int8) throws {
  guard !samples.isEmpty else { throw PassError("quantize: no calibration samples") }
  var float = graph
  float.separateConcatActivations()
  let ranges = try calibrate(float, samples: samples)
  var q = Quantizer(graph: float, plan: ActivationPlan(float, ranges: ranges))
  try q.run(io: io)
  graph = q.g
}

/// The smallest and largest value of every f32 value of the graph over all samples.
func calibrate(_ graph: Graph, samples: [[NDArray]]) throws -> [ValueID: ClosedRange<Float>] {
  let interpreter: Interpreter
  do {
    interpreter = try Interpreter(graph)
  } catch {
    throw PassError("quantize: cannot run the float graph for calibration: \(error)")
  }
  final class Recorder {
    var ranges: [ValueID: ClosedRange<Float>] = [:]
    func record(_ v: ValueID, _ a: NDArray) {
      guard a.elementType == .f32 else { return }
      var lo = Float.infinity
      var hi = -Float.infinity
      for x in a.floats where x.isFinite {
        lo = min(lo, x)
        hi = max(hi, x)
      }
      guard lo <= hi else { return }
      if let r = ranges[v] { ranges[v] = min(r.lowerBound, lo)...max(r.upperBound, hi) } else { ranges[v] = lo...hi }
    }
  }
  let recorder = Recorder()
  for (k, sample) in samples.enumerated() {
    guard sample.count == graph.inputs.count else {
      throw PassError("quantize: calibration sample \(k) has \(sample.count) arrays, the graph has \(graph.inputs.count) inputs")
    }
    for (v, a) in zip(graph.inputs, sample) { recorder.record(v, a) }
    do {
      _ = try interpreter.run(sample) { _, op, results in
        for (v, a) in zip(op.outputs, results) { recorder.record(v, a) }
      }
    } catch {
      throw PassError("quantize: calibration sample \(k): \(error)")
    }
  }
  return recorder.ranges
}

/// The quantization rules, as the TFLite converter applies them.
enum QuantRules {
  /// The converter's asymmetric int8 parameters for a range that already includes 0 (its
  /// `DownCastScale`): `scale = (float(max) − float(min)) / 255` in float32, zero point
  /// `−128 − min / scale` computed in double, rounded to float32, then rounded half away
  /// from zero and clamped to [-128, 127].
  static func downCast(min rmin: Double, max rmax: Double) -> Quantization {
    let scale: Float = (Float(rmax) - Float(rmin)) / 255
    guard scale > 0, scale.isFinite else { return Quantization(scale: 1, zeroPoint: -128) }
    let fromMin = Float(-128 - rmin / Double(scale))
    let zp = fromMin < -128 ? -128 : fromMin > 127 ? 127 : Int(fromMin.rounded(.toNearestOrAwayFromZero))
    return Quantization(scale: scale, zeroPoint: zp)
  }

  /// An activation's parameters from its calibrated range: widened to include 0, and by
  /// 1e-6 on both sides when narrower than 1e-6 (so an all-zero tensor gets scale ≈ 7.8e-9,
  /// zero point 0, as in the converter), then `downCast`.
  static func activation(min lo: Float, max hi: Float) -> Quantization {
    var rmin = Swift.min(Double(lo), 0)
    var rmax = Swift.max(Double(hi), 0)
    if abs(rmax - rmin) < 1e-6 {
      rmin -= 1e-6
      rmax += 1e-6
    }
    return downCast(min: rmin, max: rmax)
  }

  /// A constant operand's per-tensor parameters (not conv or fully-connected weights): its
  /// range widened to include 0, and to at least ±5e-7 when narrower than 1e-6, then
  /// `downCast`.
  static func constant(min lo: Float, max hi: Float) -> Quantization {
    var rmin = Swift.min(Double(lo), 0)
    var rmax = Swift.max(Double(hi), 0)
    if rmax - rmin <= 1e-6 {
      rmin = Swift.min(rmin, -5e-7)
      rmax = Swift.max(rmax, 5e-7)
    }
    return downCast(min: rmin, max: rmax)
  }

  /// A constant's int8 codes under per-tensor `q` as the converter computes them:
  /// `round(x / scale + zp)` in double, half away from zero, clamped to [-128, 127].
  static func constantCodes(_ x: [Float], _ q: Quantization) -> [Int] {
    x.map { v in
      let scaled = (Double(v) / Double(q.scale) + Double(q.zeroPoint)).rounded(.toNearestOrAwayFromZero)
      return scaled.isNaN ? q.zeroPoint : Int(Swift.max(Swift.min(scaled, 127), -128))
    }
  }

  /// The converter's per-channel weight scales along `axis`: `max|w[c]| / 127` in float32,
  /// with max|w[c]| at least 5e-7 (an all-zero channel gets ≈ 3.9e-9).
  static func weightScales(_ w: [Float], shape: [Int], axis: Int) -> [Float] {
    let channels = shape[axis]
    let inner = shape[(axis + 1)...].reduce(1, *)
    var maxAbs = [Float](repeating: 0, count: channels)
    for (k, x) in w.enumerated() {
      let c = (k / inner) % channels
      maxAbs[c] = Swift.max(maxAbs[c], abs(x))
    }
    return maxAbs.map { m in
      let r = 2 * Double(m) > 1e-6 ? Double(m) : Swift.max(Double(m), 5e-7)
      return (Float(r) - Float(-r)) / 254
    }
  }

  /// Weight codes as the converter computes them: `round(w · float(1 / scale[c]))` in float32,
  /// half away from zero, clamped to [-127, 127].
  static func weightCodes(_ w: [Float], scales: [Float], shape: [Int], axis: Int) -> [Int] {
    let channels = shape[axis]
    let inner = shape[(axis + 1)...].reduce(1, *)
    let inverse = scales.map { Float(1 / Double($0)) }
    return w.enumerated().map { k, x in
      let v = (x * inverse[(k / inner) % channels]).rounded(.toNearestOrAwayFromZero)
      return v.isNaN ? 0 : Int(Swift.max(Swift.min(v, 127), -127))
    }
  }

  /// The most steps a bias may need before the converter enlarges its scale: (2^31 − 1) / 2.
  static let biasStepLimit = Double(Int32.max / 2)

  /// Bias scales `s_in · s_w[c]` (in double, rounded to float32) and the weight scales to use
  /// with them: where `|b[c]| / scale[c]` reaches `biasStepLimit`, the bias scale becomes
  /// `|b[c]| / biasStepLimit` and the weight scale that divided by `s_in`.
  static func biasAndWeightScales(bias: [Float], inputScale: Float, weightScales: [Float]) -> (bias: [Float], weights: [Float]) {
    var b = weightScales.map { Float(Double(inputScale) * Double($0)) }
    var w = weightScales
    for c in b.indices where c < bias.count {
      let half = Double(abs(bias[c]))
      guard half / Double(b[c]) >= biasStepLimit else { continue }
      let adjusted = half / biasStepLimit
      b[c] = Float(adjusted)
      w[c] = Float(adjusted / Double(inputScale))
    }
    return (b, w)
  }

  /// Bias codes as the converter computes them: `round(b · float(1 / scale[c]))` in float32,
  /// half away from zero, clamped to ±(2^31 − 1).
  static func biasCodes(_ b: [Float], scales: [Float]) -> [Int] {
    b.enumerated().map { c, x in
      let s = scales[scales.count == 1 ? 0 : c]
      let inverse: Float = s == 0 ? 0 : Float(1 / Double(s))
      let v = Double((x * inverse).rounded(.toNearestOrAwayFromZero))
      return v.isNaN ? 0 : Int(Swift.max(Swift.min(v, Double(Int32.max)), -Double(Int32.max)))
    }
  }

  /// The fixed quantization of an int8 result (softmax, logistic, tanh); log_softmax has one
  /// in TFLite but stays float here.
  static func int8FixedOutput(_ kind: OpKind) -> Quantization? {
    if case .logSoftmax = kind { return nil }
    return fixedOutput(kind)
  }

  /// Ops whose operands and result have one quantization in the converter's scheme.
  static func sharesScale(_ kind: OpKind) -> Bool {
    switch kind {
    case .maxPool2d, .averagePool2d, .reshape, .transpose, .stridedSlice, .pad, .concat, .relu6: return true
    default: return false
    }
  }

  /// Per-tensor asymmetric int8 parameters for a real range (lower-qdq's float constants), in
  /// float32: the range widened to include 0, `scale = (max − min) / 255`, zero point
  /// `−128 − min / scale` rounded half away from zero and clamped to [-128, 127]; a zero range
  /// gives scale 1, zero point −128. (quantize uses `activation` and `constant`, which follow
  /// the converter to the last bit.)
  static func asymmetricInt8(min lo: Float, max hi: Float) -> Quantization {
    let rmin = Swift.min(lo, 0)
    let rmax = Swift.max(hi, 0)
    let scale: Float = (rmax - rmin) / 255
    guard scale > 0, scale.isFinite else { return Quantization(scale: 1, zeroPoint: -128) }
    let fromMin: Float = -128 - rmin / scale
    let zp = fromMin < -128 ? -128 : fromMin > 127 ? 127 : Int(fromMin.rounded(.toNearestOrAwayFromZero))
    return Quantization(scale: scale, zeroPoint: zp)
  }

  /// Per-channel symmetric int8 weights along `axis` (lower-qdq's float weights): scales
  /// `max|w[c]| / 127` (1 for an all-zero channel), zero points 0, and the quantized values in
  /// [-127, 127].
  static func symmetricPerChannel(_ w: [Float], shape: [Int], axis: Int) -> (Quantization, [Int]) {
    let channels = shape[axis]
    let inner = shape[(axis + 1)...].reduce(1, *)
    var maxAbs = [Float](repeating: 0, count: channels)
    for (k, x) in w.enumerated() {
      let c = (k / inner) % channels
      maxAbs[c] = max(maxAbs[c], abs(x))
    }
    let scales = maxAbs.map { $0 > 0 ? $0 / 127 : 1 }
    let values = w.enumerated().map { k, x in
      clamp(Int((Double(x) / Double(scales[(k / inner) % channels])).rounded(.toNearestOrAwayFromZero)), -127, 127)
    }
    return (Quantization(scales: scales, zeroPoints: [Int](repeating: 0, count: channels), axis: axis), values)
  }

  /// Integer codes of `x` under per-tensor or per-axis quantization `q` for `shape`, clamped to
  /// the type's range.
  static func codes(_ x: [Float], _ q: Quantization, shape: [Int], type: ElementType) -> [Int] {
    let r = type.integerRange
    let channels = q.axis.map { shape[$0] } ?? 1
    let inner = q.axis.map { shape[($0 + 1)...].reduce(1, *) } ?? 1
    return x.enumerated().map { k, v in
      let c = q.axis == nil ? 0 : (k / inner) % channels
      let scaled = (Double(v) / Double(q.scales[c])).rounded(.toNearestOrAwayFromZero) + Double(q.zeroPoints[c])
      return clamp(Int(max(min(scaled, 4e9), -4e9)), r.lowerBound, r.upperBound)
    }
  }

  /// Bias quantization for an input scale and weight scales: `s_in · s_w[c]`, zero point 0.
  static func bias(inputScale: Float, weightScales: [Float]) -> Quantization {
    let s = weightScales.map { Float(Double(inputScale) * Double($0)) }
    return Quantization(scales: s, zeroPoints: [Int](repeating: 0, count: s.count), axis: 0)
  }

  static func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { Swift.min(Swift.max(v, lo), hi) }

  /// A batch norm as a 1x1 depthwise convolution (how TFLite runs one it could not fold):
  /// int8 weights `s[c] = scale[c] / sqrt(var[c] + eps)` per channel (shape 1x1x1xC, axis 3)
  /// and an int32 bias `bias[c] − mean[c]·s[c]` with scales `s_in · s_w[c]`.
  static func batchNormAsDepthwise(
    gamma: [Float], beta: [Float], mean: [Float], variance: [Float], epsilon: Float, inputScale: Float
  ) -> (weights: TensorType, weightBytes: [UInt8], bias: TensorType, biasBytes: [UInt8]) {
    let c = gamma.count
    let s = (0..<c).map { Double(gamma[$0]) / (Double(variance[$0]) + Double(epsilon)).squareRoot() }
    let (wq, codes) = symmetricPerChannel(s.map { Float($0) }, shape: [1, 1, 1, c], axis: 3)
    let bq = bias(inputScale: inputScale, weightScales: wq.scales)
    let realBias = (0..<c).map { Float(Double(beta[$0]) - Double(mean[$0]) * s[$0]) }
    return (
      TensorType([1, 1, 1, c], .i8, wq), NDArray.pack(codes, as: .i8, shape: [1, 1, 1, c]).bytes,
      TensorType([c], .i32, bq), NDArray.pack(self.codes(realBias, bq, shape: [c], type: .i32), as: .i32, shape: [c]).bytes
    )
  }

  /// The fixed output quantization TFLite gives an op's int8 result, if it has one.
  static func fixedOutput(_ kind: OpKind) -> Quantization? {
    switch kind {
    case .softmax, .logistic: return Quantization(scale: 1.0 / 256, zeroPoint: -128)
    case .tanh: return Quantization(scale: 1.0 / 128, zeroPoint: 0)
    case .logSoftmax: return Quantization(scale: 16.0 / 256, zeroPoint: 127)
    default: return nil
    }
  }

  /// Ops whose int8 result has their (first) operand's quantization in lower-qdq.
  static func keepsInputQuantization(_ kind: OpKind) -> Bool {
    switch kind {
    case .maxPool2d, .averagePool2d, .reshape, .transpose, .stridedSlice, .pad, .relu6, .clip: return true
    default: return false
    }
  }

  /// The output-channel axis of the weights of conv2d (OHWI: 0), depthwise_conv2d (1HWC: 3)
  /// and fully_connected ([out, in]: 0).
  static func weightChannelAxis(_ kind: OpKind) -> Int? {
    switch kind {
    case .conv2d, .fullyConnected: return 0
    case .depthwiseConv2d: return 3
    default: return nil
    }
  }
}

/// Rewrites a float graph into its int8 form, op by op, with the activation plan's quantization.
private struct Quantizer {
  var g: Graph
  let source: Graph
  let plan: ActivationPlan
  var ops: [Op] = []
  /// Dequantized copies of int8 values read by ops kept in float, and quantized copies of
  /// their float results read by int8 ops.
  var floatCopies: [ValueID: ValueID] = [:]
  var int8Copies: [ValueID: ValueID] = [:]

  init(graph: Graph, plan: ActivationPlan) {
    g = graph
    source = graph
    self.plan = plan
  }

  func what(_ op: Op) -> String { "\(op.kind.mnemonic) (\(op.location))" }

  /// The planned activation quantization of `v`.
  func activationQuantization(_ v: ValueID) throws -> Quantization {
    guard let q = plan.params[v] else {
      throw PassError("quantize: no calibration range for %\(source[v].name) (the calibration run never computed it)")
    }
    return q
  }

  mutating func setInt8(_ v: ValueID, _ q: Quantization) {
    g[v].type = TensorType(g[v].type.shape, .i8, q)
  }

  /// Replaces a float constant by `codes` under `q` (in place the first time, as a copy when
  /// it was already converted differently); returns the value to use.
  mutating func quantizedConstant(_ v: ValueID, _ q: Quantization, type: ElementType, codes: [Int]) -> ValueID {
    let shape = source.type(of: v).shape
    let t = TensorType(shape, type, q)
    let bytes = NDArray.pack(codes, as: type, shape: shape).bytes
    if g.type(of: v).elementType == .f32 {
      g[v].type = t
      g.constants[v] = ConstantData(bytes)
      return v
    }
    if g.type(of: v) == t, g.constants[v]?.bytes == bytes { return v }
    return g.addConstant(name: g.freshName(source[v].name + "_q"), type: t, bytes: bytes)
  }

  /// An int8 operand: a quantized op result or input as is, a float constant quantized per
  /// tensor from its own range (or with `q` when given).
  mutating func activationOperand(_ v: ValueID, of op: Op, as q: Quantization? = nil) throws -> ValueID {
    if source.isConstant(v) {
      guard let x = source.floatConstant(v) else {
        throw PassError("quantize: \(what(op)): constant operand %\(source[v].name) is not f32")
      }
      let cq = q ?? QuantRules.constant(min: x.min() ?? 0, max: x.max() ?? 0)
      return quantizedConstant(v, cq, type: .i8, codes: QuantRules.constantCodes(x, cq))
    }
    let t = g.type(of: v)
    if t.elementType == .f32 {
      // The result of an op kept in float: quantize it once for its int8 readers.
      if let q = int8Copies[v] { return q }
      let r = g.addValue(name: g.freshName(g[v].name + "_q"), type: TensorType(t.shape, .i8, try activationQuantization(v)))
      ops.append(Op(.quantize, inputs: [v], outputs: [r], location: Location(source: "quantize", name: g[v].name)))
      int8Copies[v] = r
      return r
    }
    guard t.elementType == .i8, t.quantization != nil else {
      throw PassError("quantize: \(what(op)): operand %\(g[v].name) is \(t.elementType.rawValue), expected a quantized int8 value")
    }
    return v
  }

  mutating func run(io: QuantizedIO) throws {
    let originalInputs = g.inputs
    for v in originalInputs {
      guard g.type(of: v).elementType == .f32 else {
        throw PassError("quantize: input %\(g[v].name) is \(g.type(of: v).elementType.rawValue); quantize takes a float graph")
      }
      setInt8(v, try activationQuantization(v))
    }
    for op in source.ops { try rewrite(op) }
    g.ops = ops
    if io == .float { addFloatInterface() }
  }

  mutating func rewrite(_ original: Op) throws {
    var op = original
    for v in op.inputs where source.type(of: v).elementType != .f32 {
      throw PassError("quantize: \(what(op)): operand %\(source[v].name) is not f32; quantize takes a float graph")
    }
    guard op.outputs.count == 1, let out = op.outputs.first else {
      throw PassError("quantize: \(what(op)): ops with \(op.outputs.count) results are not supported")
    }
    switch op.kind {
    case .quantize, .dequantize:
      throw PassError("quantize: \(what(op)): the graph is already quantized (use lower-qdq for QDQ graphs)")
    case .logSoftmax, .div, .prelu, .hardSigmoid:
      // No int8 kernel in TFLite Micro / CMSIS-NN (or in tinyc's interpreter): stays float
      // between a dequantize and a quantize.
      op.inputs = op.inputs.map { floatOperand($0) }
    case .batchNorm(let epsilon):
      // Not folded into a producer (e.g. after a relu): a 1x1 depthwise convolution.
      let x = try activationOperand(op.inputs[0], of: op)
      let params = op.inputs[1...].map { source.floatConstant($0) }
      guard let inQ = g.type(of: x).quantization, params.allSatisfy({ $0 != nil }) else {
        throw PassError("quantize: \(what(op)): batch_norm needs constant float parameters")
      }
      let dw = QuantRules.batchNormAsDepthwise(
        gamma: params[0] ?? [], beta: params[1] ?? [], mean: params[2] ?? [], variance: params[3] ?? [],
        epsilon: epsilon, inputScale: inQ.scale)
      let w = g.addConstant(name: g.freshName(source[op.inputs[1]].name + "_dw"), type: dw.weights, bytes: dw.weightBytes)
      let b = g.addConstant(name: g.freshName(source[op.inputs[2]].name + "_dw"), type: dw.bias, bytes: dw.biasBytes)
      let outQ = try activationQuantization(out)
      let shape = g.type(of: x).shape
      let kind = OpKind.depthwiseConv2d(Window(), depthMultiplier: 1, .none)
      if shape.count == 4 {
        op.kind = kind
        op.inputs = [x, w, b]
      } else {
        let c = shape.last ?? 1
        let rows = shape.dropLast().reduce(1, *)
        let flat = g.addValue(name: g.freshName(g[x].name + "_nhwc"), type: TensorType([rows, 1, 1, c], .i8, inQ))
        let conv = g.addValue(name: g.freshName(g[out].name + "_nhwc"), type: TensorType([rows, 1, 1, c], .i8, outQ))
        ops.append(Op(.reshape(shape: [rows, 1, 1, c]), inputs: [x], outputs: [flat], location: op.location))
        ops.append(Op(kind, inputs: [flat, w, b], outputs: [conv], location: op.location))
        op.kind = .reshape(shape: shape)
        op.inputs = [conv]
      }
      setInt8(out, outQ)
    case .conv2d, .depthwiseConv2d, .fullyConnected:
      guard let axis = QuantRules.weightChannelAxis(op.kind) else { return }
      let x = try activationOperand(op.inputs[0], of: op)
      let inScale = g.type(of: x).quantization?.scale ?? 1
      guard let w = source.floatConstant(op.inputs[1]) else {
        throw PassError("quantize: \(what(op)): weights %\(source[op.inputs[1]].name) must be a float constant")
      }
      let wShape = source.type(of: op.inputs[1]).shape
      var wScales = QuantRules.weightScales(w, shape: wShape, axis: axis)
      var biasPart: (ValueID, [Float], [Float])?
      if op.inputs.count == 3 {
        guard let b = source.floatConstant(op.inputs[2]), b.count == wScales.count else {
          throw PassError("quantize: \(what(op)): bias %\(source[op.inputs[2]].name) must be a float constant with one value per output channel")
        }
        let scales = QuantRules.biasAndWeightScales(bias: b, inputScale: inScale, weightScales: wScales)
        wScales = scales.weights
        biasPart = (op.inputs[2], b, scales.bias)
      }
      let zeros = [Int](repeating: 0, count: wScales.count)
      let wq = Quantization(scales: wScales, zeroPoints: zeros, axis: axis)
      let wCodes = QuantRules.weightCodes(w, scales: wScales, shape: wShape, axis: axis)
      var inputs = [x, quantizedConstant(op.inputs[1], wq, type: .i8, codes: wCodes)]
      if let (v, b, scales) = biasPart {
        let bq = Quantization(scales: scales, zeroPoints: zeros, axis: 0)
        inputs.append(quantizedConstant(v, bq, type: .i32, codes: QuantRules.biasCodes(b, scales: scales)))
      }
      op.inputs = inputs
      setInt8(out, try activationQuantization(out))
    default:
      let q = try activationQuantization(out)
      if QuantRules.sharesScale(op.kind) {
        // One quantization for operands and result: an operand quantized otherwise is
        // requantized in front of the op.
        var inputs: [ValueID] = []
        for v in op.inputs {
          let x = try activationOperand(v, of: op, as: q)
          inputs.append(g.type(of: x).quantization == q ? x : requantize(x, to: q))
        }
        op.inputs = inputs
      } else {
        op.inputs = try op.inputs.map { try activationOperand($0, of: op) }
      }
      setInt8(out, q)
    }
    ops.append(op)
  }

  /// An f32 operand for an op kept in float: constants and float values as they are, int8
  /// values through one `dequantize`.
  mutating func floatOperand(_ v: ValueID) -> ValueID {
    let t = g.type(of: v)
    if t.elementType == .f32 { return v }
    if source.isConstant(v), let data = source.constants[v] {
      if let c = floatCopies[v] { return c }
      let c = g.addConstant(name: g.freshName(source[v].name + "_f32"), type: source.type(of: v), bytes: data.bytes)
      floatCopies[v] = c
      return c
    }
    if let f = floatCopies[v] { return f }
    let f = g.addValue(name: g.freshName(g[v].name + "_f32"), type: TensorType(t.shape, .f32))
    ops.append(Op(.dequantize, inputs: [v], outputs: [f], location: Location(source: "quantize", name: g[v].name)))
    floatCopies[v] = f
    return f
  }

  /// Appends an int8 → int8 `quantize` of `x` to `q`; returns its result.
  mutating func requantize(_ x: ValueID, to q: Quantization) -> ValueID {
    let name = g.freshName(g[x].name + "_requant")
    let t = TensorType(g.type(of: x).shape, .i8, q)
    let r = g.addValue(name: name, type: t)
    ops.append(Op(.quantize, inputs: [x], outputs: [r], location: Location(source: "quantize", name: g[x].name)))
    return r
  }

  /// Keeps f32 inputs and outputs: `quantize` after each input, `dequantize` before each output.
  mutating func addFloatInterface() {
    var front: [Op] = []
    for (k, v) in g.inputs.enumerated() {
      let name = g[v].name
      g[v].name = g.freshName(name + "_q")
      let f = g.addValue(name: name, type: TensorType(g.type(of: v).shape, .f32))
      g.inputs[k] = f
      front.append(Op(.quantize, inputs: [f], outputs: [v], location: Location(source: "quantize", name: name)))
    }
    var back: [Op] = []
    var done: [ValueID: ValueID] = [:]
    for (k, v) in g.outputs.enumerated() where g.type(of: v).elementType != .f32 {
      if let f = done[v] {
        g.outputs[k] = f
        continue
      }
      let name = g[v].name
      g[v].name = g.freshName(name + "_q")
      let f = g.addValue(name: name, type: TensorType(g.type(of: v).shape, .f32))
      back.append(Op(.dequantize, inputs: [v], outputs: [f], location: Location(source: "quantize", name: name)))
      g.outputs[k] = f
      done[v] = f
    }
    g.ops = front + g.ops + back
  }
}

/// Reading calibration samples from `.npy` files (see `quantize`).
public enum CalibrationData {
  /// One sample per element: an array for each graph input.
  public static func load(path: String, for graph: Graph) throws -> [[NDArray]] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw PassError("quantize: calibration data '\(path)' does not exist")
    }
    guard !graph.inputs.isEmpty else { throw PassError("quantize: the graph has no inputs to calibrate") }
    var perInput: [[NDArray]] = []
    if graph.inputs.count == 1 {
      perInput = [try samples(at: path, isDirectory: isDirectory.boolValue, for: graph.type(of: graph.inputs[0]))]
    } else {
      guard isDirectory.boolValue else {
        throw PassError(
          "quantize: the graph has \(graph.inputs.count) inputs; calibration=PATH must be a folder with one sub-folder per input (input0, input1, … or the input names)"
        )
      }
      for (k, v) in graph.inputs.enumerated() {
        let candidates = [path + "/" + graph[v].name, path + "/input\(k)"]
        guard let dir = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
          throw PassError("quantize: no calibration folder for input \(k): expected \(candidates.joined(separator: " or "))")
        }
        perInput.append(try samples(at: dir, isDirectory: true, for: graph.type(of: v)))
      }
      let counts = Set(perInput.map(\.count))
      guard counts.count == 1 else {
        throw PassError("quantize: the inputs' calibration folders hold different numbers of samples (\(perInput.map(\.count)))")
      }
    }
    let n = perInput[0].count
    guard n > 0 else { throw PassError("quantize: no calibration samples in '\(path)'") }
    return (0..<n).map { i in perInput.map { $0[i] } }
  }

  /// The samples in one file, or in the `.npy` files of a folder in name order.
  static func samples(at path: String, isDirectory: Bool, for type: TensorType) throws -> [NDArray] {
    guard isDirectory else { return try split(try readNpy(path), path: path, for: type) }
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".npy") }.sorted()
    } catch {
      throw PassError("quantize: cannot list calibration folder '\(path)': \(error.localizedDescription)")
    }
    guard !names.isEmpty else { throw PassError("quantize: no .npy files in calibration folder '\(path)'") }
    var all: [NDArray] = []
    for name in names { all += try split(try readNpy(path + "/" + name), path: path + "/" + name, for: type) }
    return all
  }

  /// Splits an array into samples of the input's size.
  static func split(_ a: NDArray, path: String, for type: TensorType) throws -> [NDArray] {
    guard a.elementType == .f32 else {
      throw PassError("quantize: \(path) holds \(a.elementType.rawValue); calibration data must be float32")
    }
    let n = type.elementCount
    guard n > 0, a.count > 0, a.count % n == 0 else {
      throw PassError("quantize: \(path) has shape \(a.shape), not a whole number of inputs of shape \(type.shape)")
    }
    return stride(from: 0, to: a.count, by: n).map { start in
      NDArray(shape: type.shape, elementType: .f32, bytes: Array(a.bytes[(4 * start)..<(4 * (start + n))]))
    }
  }

  /// A `.npy` file (`split` checks that it holds float32).
  static func readNpy(_ path: String) throws -> NDArray {
    do { return try Npy.read(path: path) } catch { throw PassError("quantize: \(error)") }
  }
}
