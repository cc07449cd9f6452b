#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The integer arithmetic and Prepare-time parameters of TFLite Micro's 16x8 kernels (int16
/// activations with zero point 0, int8 weights, int64 biases). Shared by the interpreter and
/// the C back-end so that the constants the C carries are the ones the interpreter checks.
extension QuantMath {
  /// TFLite's `MultiplyByQuantizedMultiplier(int64_t x, int32_t multiplier, int shift)`: the
  /// Q31 multiplier rounded to Q15 (`(m + 2^15) >> 16`, at most 0x7FFF), one rounding shift
  /// by `15 - shift`, the result truncated to 32 bits. The 16x8 convolution and fully
  /// connected kernels requantize their 64-bit accumulators with it (both rounding modes of
  /// TFLite define it the same way).
  public static func multiplyByQuantizedMultiplier(_ x: Int64, _ multiplier: Int32, _ shift: Int) -> Int32 {
    let reduced = Int64(multiplier < 0x7FFF_0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF)
    let totalShift = Int64(15 - shift)
    let round = Int64(1) << (totalShift - 1)
    return Int32(truncatingIfNeeded: (x &* reduced &+ round) >> totalShift)
  }
}

extension KernelParams {
  /// ADD / SUB (int16, TFLM): as int8 but with 15 extra bits instead of 20.
  public static func addSub16(_ a: Quantization, _ b: Quantization, out: Quantization) -> AddSub {
    let twiceMax = 2 * max(Double(a.scale), Double(b.scale))
    return AddSub(
      leftShift: 15, input1: Requant(Double(a.scale) / twiceMax), input2: Requant(Double(b.scale) / twiceMax),
      output: Requant(twiceMax / (Double(1 << 15) * Double(out.scale))),
      input1Offset: Int32(-a.zeroPoint), input2Offset: Int32(-b.zeroPoint), outputOffset: Int32(out.zeroPoint))
  }

  /// SOFTMAX (int16, TFLM): the input difference is rescaled so that [-65535, 0] covers
  /// [-10, 0]: `QuantizeMultiplier(s_in · beta / (10 / 65535))`.
  public static func softmax16(beta: Float, inputScale: Float) -> Requant {
    Requant(Double(inputScale) * Double(beta) / (10.0 / 65535.0))
  }

  /// The two 513-entry tables TFLM's int16 softmax builds in Prepare (LUTPopulate<int16_t> in
  /// float): exp(x) over [-10, 0] and 1 / (1 + x) over [0, 1], each sampled at 512 steps
  /// with half the midpoint interpolation error taken off every entry.
  public static func softmax16Tables() -> (exp: [Int16], oneOverOnePlusX: [Int16]) {
    let range = Float(Int32(Int16.max) - Int32(Int16.min))
    let exp = lutPopulate16(inputScale: 10 / range, inputZeroPoint: Int32(Int16.max), outputScale: 2 / range) {
      expf($0)  // std::exp on float, as TFLM calls it
    }
    let reciprocal = lutPopulate16(inputScale: 1 / range, inputZeroPoint: Int32(Int16.min), outputScale: 2 / range) {
      1 / (1 + $0)
    }
    return (exp, reciprocal)
  }

  /// TFLite's detail::LUTPopulateInt16<float> with output zero point 0.
  static func lutPopulate16(
    inputScale: Float, inputZeroPoint: Int32, outputScale: Float, _ f: (Float) -> Float
  ) -> [Int16] {
    let inputMin = inputScale * Float(Int32(Int16.min) - inputZeroPoint)
    let inputMax = inputScale * Float(Int32(Int16.max) - inputZeroPoint)
    let outputMin = outputScale * Float(Int16.min)
    let outputMax = outputScale * Float(Int16.max)
    let steps = 512
    let step = (inputMax - inputMin) / Float(steps)
    let halfStep = step / 2
    let scalingInv = Float(65536) / (outputMax - outputMin)
    func round(_ v: Float) -> Float { v.rounded(.toNearestOrAwayFromZero) }
    func clamp(_ v: Float) -> Int16 { Int16(min(max(v, Float(Int16.min)), Float(Int16.max))) }
    var lut = [Int16](repeating: 0, count: steps + 1)
    for i in 0..<steps {
      let x = inputMin + Float(i) * step
      let val = f(x)
      let midpoint = f(x + halfStep)
      let next = f(inputMin + Float(i + 1) * step)
      let sample = round(val * scalingInv)
      let midpointInterp = round((next * scalingInv + round(val * scalingInv)) / 2)
      let midpointVal = round(midpoint * scalingInv)
      let bias = round((midpointInterp - midpointVal) / 2)
      lut[i] = clamp(sample - bias)
    }
    lut[steps] = clamp(round(f(inputMax) * scalingInv))
    return lut
  }

  /// TFLite's LUTLookup for int16: the high 9 bits index the table, the low 7 interpolate.
  @inline(__always) public static func lutLookup16(_ value: Int16, _ lut: [Int16]) -> Int16 {
    let index = 256 + Int(value >> 7)
    let offset = Int32(value & 0x7f)
    let base = Int32(lut[index])
    let slope = Int32(lut[index + 1]) - base
    return Int16(truncatingIfNeeded: base + ((slope * offset + 64) >> 7))
  }
}

extension KernelParams {
  /// LOGISTIC / TANH on int16 (TFLM's Prepare): a power-of-two input scale 2^k with
  /// `12 + k == 0` (tanh also 1) gives multiplier 0 and left shift `12 + k` (the kernel then
  /// uses `3 << shift`); any other scale a multiplier for `s_in · 3 · 4096` doubled until it
  /// exceeds 32767/2, with the number of doublings as the right shift.
  public static func logisticTanh16(inputScale: Float, tanh: Bool) -> (multiplier: Int32, shift: Int32) {
    // CheckedLog2, in float as TFLite computes it.
    let log2 = logf(inputScale) * (1 / logf(2))
    let rounded = log2.rounded(.toNearestOrAwayFromZero)
    var shift = Int32(15 - 3) + Int32(rounded)
    let pot = abs(log2 - rounded) < 1e-3 && (shift == 0 || (tanh && shift == 1))
    if pot { return (0, shift) }
    var multiplier = Double(inputScale) * 4096.0 * 3.0
    shift = 0
    while multiplier <= 32767.0 / 2.0 && shift <= 30 {
      shift += 1
      multiplier *= 2
    }
    return (Int32(multiplier), shift)
  }

  /// reference_integer_ops::Logistic / Tanh for int16, one element.
  public static func logisticTanh16(_ x: Int16, multiplier: Int32, shift: Int32, tanh: Bool) -> Int16 {
    var (m, s) = (multiplier, shift)
    if m == 0 {
      m = 3 << s
      s = 0
    }
    let round: Int32 = s > 0 ? 1 << (s - 1) : 0
    let input = (Int32(x) &* m &+ round) >> s
    let magnitude = UInt32(input.magnitude)
    let table = sigmoidTable16
    if !tanh {
      let uh = magnitude >> 9
      var result: UInt32
      if uh >= 255 {
        result = 0x7FFF << 10
      } else {
        let (ua, ub) = (UInt32(table[Int(uh)]), UInt32(table[Int(uh) + 1]))
        result = (ua << 9) &+ (magnitude & 0x1ff) &* (ub &- ua)
      }
      result = input >= 0 ? result &+ (1 << 9) : (1 << 25) &- result &+ (1 << 9) &- 1
      return Int16(truncatingIfNeeded: result >> 10)
    }
    let uh = magnitude >> 8
    var result: Int32
    if uh >= 255 {
      result = 0xFFFF << 8
    } else {
      let (ua, ub) = (UInt32(table[Int(uh)]), UInt32(table[Int(uh) + 1]))
      result = Int32(bitPattern: (ua << 8) &+ (magnitude & 0xff) &* (ub &- ua))
    }
    result = input >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1
    return Int16(truncatingIfNeeded: result >> 8)
  }
}

extension KernelParams {
  /// MEAN (TFLM's QuantizedMeanOrSum): QuantizeMultiplier(s_in / s_out), then 1/count folded
  /// into the multiplier with up to 32 extra bits of shift.
  public static func mean(inputScale: Float, outputScale: Float, count: Int) -> Requant {
    var r = Requant(Double(inputScale) / Double(outputScale))
    var shift = 63 - UInt64(max(count, 1)).leadingZeroBitCount
    shift = min(shift, 32, 31 + Int(r.shift))
    r.multiplier = Int32(truncatingIfNeeded: (Int64(r.multiplier) << Int64(shift)) / Int64(max(count, 1)))
    r.shift -= Int32(shift)
    return r
  }
}
