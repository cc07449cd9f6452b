import TinyIR

/// Applies `f` to every element of a float operand.
private func mapFloat(_ f: @escaping @Sendable (Float) -> Float) -> Kernel {
  { ins in [.f32(try ins[0].floats().map(f))] }
}

/// Applies `f` to every element of an int8 operand.
private func mapInt8(_ f: @escaping @Sendable (Int8) -> Int8) -> Kernel {
  { ins in [.i8(try ins[0].int8s().map(f))] }
}

/// RELU and CLIP (a relu with bounds). int8 as TFLM's ReluQuantized: the input is
/// requantized to the output's scale (multiplier `s_in/s_out`) and clamped to the bounds
/// quantized with the output's scale (`zp + roundf(bound / s_out)`).
func prepareReluLike(_ c: OpContext, min lo: Float, max hi: Float) throws -> Kernel {
  switch try c.numeric() {
  case .float:
    return mapFloat { v in
      let a = v < lo ? lo : v
      return a > hi ? hi : a
    }
  case .int8:
    let (sIn, zpIn) = try c.quant(c.x, "input")
    let (sOut, zpOut) = try c.quant(c.y, "result")
    let (m, sh) = QuantMath.quantizeMultiplier(Double(sIn) / Double(sOut))
    let r = c.y.elementType.integerRange
    let (qmin, qmax) = (Int32(r.lowerBound), Int32(r.upperBound))
    let actMin = lo.isFinite ? Swift.max(qmin, zpOut &+ roundToInt32(lo / sOut)) : qmin
    let actMax = hi.isFinite ? Swift.min(qmax, zpOut &+ roundToInt32(hi / sOut)) : qmax
    return mapInt8 { v in
      let y = zpOut &+ QuantMath.multiplyByQuantizedMultiplier(Int32(v) - zpIn, m, sh)
      return clampToInt8(y, actMin, actMax)
    }
  }
}

/// RELU6. int8 exactly as TFLM's Relu6Quantized: the input codes are clamped to
/// [zp_in, zp_in + round(6 / s_in)] and written unchanged; the result's own scale and zero
/// point are not used (TFLM and CMSIS-NN's arm_relu6_s8 do not requantize).
func prepareRelu6(_ c: OpContext) throws -> Kernel {
  guard try c.numeric() == .int8 else { return try prepareReluLike(c, min: 0, max: 6) }
  let (s, zp) = try c.quant(c.x, "input")
  let r = c.x.elementType.integerRange
  let six = Swift.min(Swift.max(roundToInt32(6 / s) &+ zp, Int32(r.lowerBound)), Int32(r.upperBound))
  let lower = Int8(truncatingIfNeeded: zp)
  let upper = Int8(truncatingIfNeeded: six)
  return mapInt8 { v in v > upper ? upper : (v < lower ? lower : v) }
}

/// LEAKY_RELU. int8 as TFLM: two multipliers computed in float then widened, identity
/// `s_in/s_out` for x >= zp and `s_in·alpha/s_out` below.
func prepareLeakyRelu(_ c: OpContext, alpha: Float) throws -> Kernel {
  switch try c.numeric() {
  case .float:
    return mapFloat { v in v > 0 ? v : v * alpha }
  case .int8:
    let (sIn, zpIn) = try c.quant(c.x, "input")
    let (sOut, zpOut) = try c.quant(c.y, "result")
    let (ma, sa) = QuantMath.quantizeMultiplier(Double(sIn * alpha / sOut))
    let (mi, si) = QuantMath.quantizeMultiplier(Double(sIn / sOut))
    let r = c.y.elementType.integerRange
    let (qmin, qmax) = (Int32(r.lowerBound), Int32(r.upperBound))
    return mapInt8 { v in
      let x = Int32(v) - zpIn
      let y =
        x >= 0
        ? zpOut &+ QuantMath.multiplyByQuantizedMultiplier(x, mi, si)
        : zpOut &+ QuantMath.multiplyByQuantizedMultiplier(x, ma, sa)
      return clampToInt8(y, qmin, qmax)
    }
  }
}

/// LOGISTIC. int8 as TFLM (logistic_common.cc, integer_ops/logistic.h): the input is
/// rescaled to Q4.27 with a multiplier from frexp(s_in · 2^27); inputs beyond the radius
/// saturate; gemmlowp's fixed-point logistic; output scale 1/256, zero point -128.
func prepareLogistic(_ c: OpContext) throws -> Kernel {
  switch try c.numeric() {
  case .float:
    return mapFloat { v in
      if v > 16.619047164916992188 { return 1 }
      if v < -9 { return CMath.exp(v) }
      return 1 / (1 + CMath.exp(-v))
    }
  case .int8:
    let (zpIn, multiplier, leftShift, radius) = try sigmoidLikeParams(c)
    let (_, zpOut) = try c.quant(c.y, "result")
    guard zpOut == -128 else { throw KernelError("int8 logistic output must have zero point -128") }
    return mapInt8 { v in
      let x = Int32(v) - zpIn
      if x <= -radius { return -128 }
      if x >= radius { return 127 }
      let q4 = QuantMath.multiplyByQuantizedMultiplier(x, multiplier, leftShift)
      let q0 = FixedPoint.logistic(q4, integerBits: 4)
      return clampToInt8(FixedPoint.divideByPOT(q0, 31 - 8) &- 128, -128, 127)
    }
  }
}

/// TANH. int8 as TFLM (tanh.cc, integer_ops/tanh.h): as logistic, with gemmlowp's tanh and
/// the result in Q0.7 (output scale 1/128, zero point 0).
func prepareTanh(_ c: OpContext) throws -> Kernel {
  switch try c.numeric() {
  case .float:
    return mapFloat { CMath.tanh($0) }
  case .int8:
    let (zpIn, multiplier, leftShift, radius) = try sigmoidLikeParams(c)
    return mapInt8 { v in
      let x = Int32(v) - zpIn
      if x <= -radius { return -128 }
      if x >= radius { return 127 }
      let q4 = QuantMath.multiplyByQuantizedMultiplier(x, multiplier, leftShift)
      let q0 = FixedPoint.tanh(q4, integerBits: 4)
      return clampToInt8(FixedPoint.divideByPOT(q0, 31 - 7), -128, 127)
    }
  }
}

/// The int8 logistic/tanh Prepare: input zero point, multiplier and left shift from
/// frexp(s_in · 2^27) (4 integer bits), and the input radius.
private func sigmoidLikeParams(_ c: OpContext) throws -> (Int32, Int32, Int, Int32) {
  let (sIn, zpIn) = try c.quant(c.x, "input")
  let inputIntegerBits = 4
  let real = Double(sIn) * Double(1 << (31 - inputIntegerBits))
  let (q, leftShift) = frexpDouble(real)
  let rounded = (q * Double(Int64(1) << 31)).rounded(.toNearestOrAwayFromZero)
  // static_cast<int32_t> of 2^31 gives INT32_MIN on the hosts TFLM runs on.
  let multiplier = rounded >= 2_147_483_648 ? Int32.min : Int32(rounded)
  let radius = FixedPoint.inputRadius(integerBits: inputIntegerBits, leftShift: leftShift)
  return (zpIn, multiplier, leftShift, radius)
}

/// HARD_SWISH. int8 as TFLM (hard_swish_common.cc, reference/hard_swish.h): 16-bit
/// fixed point, the input on a "hires" scale s_in/128, a relu-ish factor in [0, 1] from the
/// input rescaled so that 3.0 is 32768, and an output multiplier, both rounded to 16 bits.
func prepareHardSwish(_ c: OpContext) throws -> Kernel {
  switch try c.numeric() {
  case .float:
    return mapFloat { v in v * Swift.min(6, Swift.max(0, v + 3)) / 6 }
  case .int8:
    let (sIn, zpIn) = try c.quant(c.x, "input")
    let (sOut, zpOut) = try c.quant(c.y, "result")
    let hiresInputScale = (1.0 as Float / 128.0) * sIn
    let reluishScale: Float = 3.0 / 32768.0
    let (om32, outputExponent) = QuantMath.quantizeMultiplier(Double(hiresInputScale / sOut))
    guard outputExponent <= 0 else { throw KernelError("hard_swish output multiplier must be below 1") }
    let (rm32, reluishExponent) = QuantMath.quantizeMultiplier(Double(hiresInputScale / reluishScale))
    let outputMultiplier = downScaleToInt16(om32)
    let reluishMultiplier = downScaleToInt16(rm32)
    let r = c.y.elementType.integerRange
    let (qmin, qmax) = (Int16(r.lowerBound), Int16(r.upperBound))
    return mapInt8 { v in
      let inputValue = Int16(truncatingIfNeeded: Int32(v) - zpIn)
      let hires = Int16(truncatingIfNeeded: Int32(inputValue) * 128)
      let preshiftOutput = Fixed16.roundingDoublingHighMul(hires, outputMultiplier)
      var reluish = hires
      if reluishExponent > 0 { reluish = Fixed16.saturatingLeftShift(reluish, reluishExponent - 1) }
      reluish = Fixed16.roundingDoublingHighMul(reluish, reluishMultiplier)
      if reluishExponent > 0 { reluish = Fixed16.saturatingLeftShift(reluish, 1) }
      if reluishExponent < 0 { reluish = Fixed16.roundingDivideByPOT(reluish, -reluishExponent) }
      reluish = Int16(truncatingIfNeeded: (Int32(reluish) + (1 << 15)) >> 1)
      let preshift = Fixed16.doublingHighMul(reluish, preshiftOutput)
      var out = Fixed16.roundingDivideByPOT(preshift, -outputExponent)
      out = out &+ Int16(truncatingIfNeeded: zpOut)
      return Int8(truncatingIfNeeded: Swift.max(Swift.min(out, qmax), qmin))
    }
  }
}

/// TFLite's DownScaleInt32ToInt16Multiplier.
private func downScaleToInt16(_ m: Int32) -> Int16 {
  let rounding: Int32 = 1 << 15
  if m >= Int32.max - rounding { return Int16.max }
  return Int16(truncatingIfNeeded: (m + rounding) >> 16)
}

/// 16-bit versions of gemmlowp's primitives (hard_swish).
private enum Fixed16 {
  static func roundingDoublingHighMul(_ a: Int16, _ b: Int16) -> Int16 {
    if a == b && a == Int16.min { return Int16.max }
    let ab = Int32(a) * Int32(b)
    let nudge: Int32 = ab >= 0 ? (1 << 14) : (1 - (1 << 14))
    return Int16(truncatingIfNeeded: (ab + nudge) / (1 << 15))
  }

  /// Rounds toward zero (SQDMULH).
  static func doublingHighMul(_ a: Int16, _ b: Int16) -> Int16 {
    if a == b && a == Int16.min { return Int16.max }
    return Int16(truncatingIfNeeded: (Int32(a) * Int32(b)) / (1 << 15))
  }

  static func roundingDivideByPOT(_ x: Int16, _ exponent: Int) -> Int16 {
    let mask = Int16(truncatingIfNeeded: (Int64(1) << exponent) - 1)
    let remainder = x & mask
    let threshold = Int16(truncatingIfNeeded: Int32(mask >> 1) + (x < 0 ? 1 : 0))
    let shifted = Int16(truncatingIfNeeded: Int32(x) >> Int32(Swift.min(exponent, 31)))
    return shifted &+ (remainder > threshold ? 1 : 0)
  }

  static func saturatingLeftShift(_ x: Int16, _ amount: Int) -> Int16 {
    let r = Int64(x) * (Int64(1) << Int64(Swift.min(amount, 40)))
    return Int16(Swift.max(Swift.min(r, Int64(Int16.max)), Int64(Int16.min)))
  }
}

/// HARD_SIGMOID (ONNX), float only: `max(0, min(1, alpha·x + beta))`.
func prepareHardSigmoid(_ c: OpContext, alpha: Float, beta: Float) throws -> Kernel {
  guard try c.numeric() == .float else { throw KernelError("hard_sigmoid is supported for f32 only") }
  return mapFloat { v in Swift.max(0, Swift.min(1, alpha * v + beta)) }
}

/// BATCH_NORM (ONNX BatchNormalization, channel last), float only:
/// `(x - mean) / sqrt(var + eps) · scale + bias`.
func prepareBatchNorm(_ c: OpContext, epsilon: Float) throws -> Kernel {
  guard try c.numeric() == .float, c.inputTypes.allSatisfy({ $0.elementType == .f32 }) else {
    throw KernelError("batch_norm is supported for f32 only")
  }
  let channels = c.x.shape.last ?? 1
  return { ins in
    let x = try ins[0].floats()
    let scale = try ins[1].floats()
    let bias = try ins[2].floats()
    let mean = try ins[3].floats()
    let variance = try ins[4].floats()
    var out = [Float](repeating: 0, count: x.count)
    for i in 0..<x.count {
      let ch = i % channels
      out[i] = (x[i] - mean[ch]) / CMath.sqrt(variance[ch] + epsilon) * scale[ch] + bias[ch]
    }
    return [.f32(out)]
  }
}
