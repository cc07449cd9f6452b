/// TFLite's integer arithmetic, in one place: the quantized multiplier, saturating rounding
/// doubling high multiply, rounding divide by a power of two. The interpreter and the C
/// back-end both use these, so the compiler's constants and the kernels' math agree.
public enum QuantMath {
  /// Splits a real multiplier into a Q31 fixed-point multiplier and a power-of-two shift
  /// (positive = left), as TFLite's QuantizeMultiplier does (frexp, round, fix 2^31).
  public static func quantizeMultiplier(_ real: Double) -> (multiplier: Int32, shift: Int) {
    if real == 0 { return (0, 0) }
    let (mant, exp) = frexp(real)
    var q = Int64((mant * Double(1 << 31)).rounded(.toNearestOrAwayFromZero))
    var shift = exp
    if q == 1 << 31 {
      q /= 2
      shift += 1
    }
    if shift < -31 {
      shift = 0
      q = 0
    }
    return (Int32(q), shift)
  }

  /// frexp without Foundation: real = mant * 2^exp with 0.5 <= |mant| < 1.
  static func frexp(_ x: Double) -> (Double, Int) {
    if x == 0 || !x.isFinite { return (x, 0) }
    let e = Int(x.exponent) + 1
    return (x / Double(sign: .plus, exponent: e, significand: 1), e)
  }

  public static func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
    if a == b && a == Int32.min { return Int32.max }
    let ab = Int64(a) * Int64(b)
    let nudge: Int64 = ab >= 0 ? (1 << 30) : (1 - (1 << 30))
    // C++ integer division truncates toward zero; Swift's `/` does too.
    return Int32(truncatingIfNeeded: (ab + nudge) / (1 << 31))
  }

  public static func roundingDivideByPOT(_ x: Int32, _ exponent: Int) -> Int32 {
    let mask = Int32(truncatingIfNeeded: (Int64(1) << exponent) - 1)
    let remainder = x & mask
    let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
    return (x >> Int32(exponent)) + (remainder > threshold ? 1 : 0)
  }

  /// TFLite's MultiplyByQuantizedMultiplier (double rounding, TFLM's default).
  public static func multiplyByQuantizedMultiplier(_ x: Int32, _ multiplier: Int32, _ shift: Int) -> Int32 {
    let left = shift > 0 ? shift : 0
    let right = shift > 0 ? 0 : -shift
    // `x * (1 << left)` in int32 as TFLite writes it (wraps on overflow in practice).
    let shifted = Int32(truncatingIfNeeded: Int64(x) << left)
    return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, multiplier), right)
  }
}
