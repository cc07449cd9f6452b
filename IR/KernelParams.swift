/// The integer parameters TFLite Micro's kernels compute in their Prepare step, computed the
/// same way (double-precision real multipliers, `QuantMath.quantizeMultiplier`). The C
/// back-end emits them as constants; kernels on both sides consume them.
public enum KernelParams {
  /// A Q31 multiplier and a power-of-two shift (positive = left).
  public struct Requant: Hashable, Sendable {
    public var multiplier: Int32
    public var shift: Int32
    public init(_ real: Double) {
      let (m, s) = QuantMath.quantizeMultiplier(real)
      multiplier = m
      shift = Int32(s)
    }
  }

  /// Per-output-channel multipliers of a convolution or fully-connected layer:
  /// real = s_in · s_w[c] / s_out.
  public static func perChannel(input: Quantization, weights: Quantization, output: Quantization, channels: Int)
    -> [Requant]
  {
    (0..<channels).map { c in
      let ws = weights.scales.count == 1 ? weights.scales[0] : weights.scales[c]
      return Requant(Double(input.scale) * Double(ws) / Double(output.scale))
    }
  }

  /// TFLite's CalculateActivationRangeQuantized: the clamp range of a fused activation in the
  /// output's integer domain.
  public static func activationRange(_ act: Activation, output: TensorType) -> (min: Int32, max: Int32) {
    let r = output.elementType.integerRange
    var lo = Int32(r.lowerBound)
    var hi = Int32(r.upperBound)
    guard let q = output.quantization, let range = act.range else { return (lo, hi) }
    func quantize(_ f: Float) -> Int32 {
      let v = (Double(f / q.scale)).rounded(.toNearestOrAwayFromZero)
      return Int32(clamping: Int64(q.zeroPoint) + Int64(max(min(v, 1e12), -1e12)))
    }
    lo = max(lo, quantize(range.min))
    if range.max.isFinite { hi = min(hi, quantize(range.max)) }
    return (lo, hi)
  }

  /// Softmax (int8, TFLM): beta multiplier and shift from PreprocessSoftmaxScaling with 5
  /// integer bits, and diff_min = -CalculateInputRadius(5, shift).
  public static func softmax(beta: Float, inputScale: Float) -> (multiplier: Int32, shift: Int32, diffMin: Int32) {
    let integerBits = 5
    let real = min(
      Double(beta) * Double(inputScale) * Double(1 << (31 - integerBits)), Double((Int64(1) << 31) - 1))
    let (m, s) = QuantMath.quantizeMultiplier(real)
    let maxRescaled =
      1.0 * Double((1 << integerBits) - 1) * Double(Int64(1) << (31 - integerBits)) / Double(Int64(1) << s)
    return (m, Int32(s), -Int32(maxRescaled.rounded(.down)))
  }

  /// ADD / SUB (int8, TFLM): inputs are scaled to a common scale with 20 extra bits.
  public struct AddSub: Hashable, Sendable {
    public var leftShift: Int32 = 20
    public var input1: Requant, input2: Requant, output: Requant
    public var input1Offset: Int32, input2Offset: Int32, outputOffset: Int32
  }

  public static func addSub(_ a: Quantization, _ b: Quantization, out: Quantization) -> AddSub {
    let twiceMax = 2 * max(Double(a.scale), Double(b.scale))
    return AddSub(
      input1: Requant(Double(a.scale) / twiceMax), input2: Requant(Double(b.scale) / twiceMax),
      output: Requant(twiceMax / (Double(1 << 20) * Double(out.scale))),
      input1Offset: Int32(-a.zeroPoint), input2Offset: Int32(-b.zeroPoint), outputOffset: Int32(out.zeroPoint))
  }

  /// FULLY_CONNECTED with per-tensor weights (TFLM): the product s_in · s_w in float32, then
  /// divided in double.
  public static func fullyConnectedPerTensor(input: Quantization, weights: Quantization, output: Quantization) -> Requant {
    Requant(Double(input.scale * weights.scale) / Double(output.scale))
  }

  /// MUL (int8, TFLM): real = s1 · s2 / s_out.
  public static func mul(_ a: Quantization, _ b: Quantization, out: Quantization) -> Requant {
    Requant(Double(a.scale) * Double(b.scale) / Double(out.scale))
  }

  /// A plain rescale from one quantization to another (requantize, concat inputs, relu).
  public static func rescale(from a: Quantization, to b: Quantization) -> Requant {
    Requant(Double(a.scale) / Double(b.scale))
  }
}

extension KernelParams {
  /// LOGISTIC / TANH (int8, TFLM): input multiplier and left shift from the input scale with 4
  /// integer bits (logistic) or 4 (tanh), and the input range radius.
  public static func logisticTanh(inputScale: Float, tanh: Bool) -> (radius: Int32, multiplier: Int32, leftShift: Int32) {
    let integerBits = 4
    let real = Double(inputScale) * Double(Int64(1) << (31 - integerBits))
    let (m, s) = QuantMath.quantizeMultiplier(real)
    _ = tanh
    let maxRescaled =
      1.0 * Double((1 << integerBits) - 1) * Double(Int64(1) << (31 - integerBits)) / Double(Int64(1) << s)
    return (Int32(maxRescaled.rounded(.down)), m, Int32(s))
  }

  /// HARD_SWISH (int8, TFLM): Q15 multipliers for the "reluish" and output scales.
  public static func hardSwish(input: Quantization, output: Quantization) -> (
    reluishMultiplier: Int32, reluishExponent: Int32, outputMultiplier: Int32, outputExponent: Int32
  ) {
    let hires = input.scale * (1.0 / 128.0)
    let reluishScale = Float(3.0 / 32768.0)
    func q15(_ real: Float) -> (Int32, Int32) {
      let (m, s) = QuantMath.quantizeMultiplier(Double(real))
      // DownScaleInt32ToInt16Multiplier: round the Q31 multiplier to Q15, saturating.
      let rounded = (Int64(m) + (1 << 15)) >> 16
      return (Int32(min(rounded, Int64(Int16.max))), Int32(s))
    }
    let r = q15(hires / reluishScale)
    let o = q15(hires / output.scale)
    return (r.0, r.1, o.0, o.1)
  }

  /// LEAKY_RELU (int8, TFLM): identity and alpha multipliers (float32 product for alpha).
  public static func leakyRelu(alpha: Float, input: Quantization, output: Quantization) -> (identity: Requant, alpha: Requant) {
    // TFLM divides in float32 before widening to double.
    (Requant(Double(input.scale / output.scale)), Requant(Double(input.scale * alpha / output.scale)))
  }

}
