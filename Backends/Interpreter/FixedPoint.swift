import TinyIR

/// gemmlowp's fixed-point arithmetic on raw `Int32` values (a value with `n` integer bits
/// represents `raw / 2^(31 - n)`), as TFLite's softmax, logistic and tanh kernels use it.
/// Additions wrap as the C++ code does in practice.
enum FixedPoint {
  @inline(__always) static func mul(_ a: Int32, _ b: Int32) -> Int32 {
    QuantMath.saturatingRoundingDoublingHighMul(a, b)
  }

  @inline(__always) static func divideByPOT(_ x: Int32, _ exponent: Int) -> Int32 {
    QuantMath.roundingDivideByPOT(x, exponent)
  }

  /// SaturatingRoundingMultiplyByPOT: a saturating left shift for positive exponents, a
  /// rounding right shift for negative ones.
  static func multiplyByPOT(_ x: Int32, _ exponent: Int) -> Int32 {
    if exponent == 0 { return x }
    if exponent < 0 { return divideByPOT(x, -exponent) }
    let threshold = Int32((1 << (31 - exponent)) - 1)
    if x > threshold { return Int32.max }
    if x < -threshold { return Int32.min }
    return x &* Int32(1 << exponent)
  }

  /// Changes the number of integer bits from `from` to `to` (gemmlowp's Rescale).
  @inline(__always) static func rescale(_ x: Int32, from: Int, to: Int) -> Int32 {
    multiplyByPOT(x, from - to)
  }

  static func roundingHalfSum(_ a: Int32, _ b: Int32) -> Int32 {
    let sum = Int64(a) + Int64(b)
    let sign: Int64 = sum >= 0 ? 1 : -1
    return Int32(truncatingIfNeeded: (sum + sign) / 2)
  }

  /// exp(x) for x in [-1/4, 0), input and result with 0 integer bits.
  static func expOnIntervalNegativeQuarterToZero(_ a: Int32) -> Int32 {
    let constantTerm: Int32 = 1_895_147_668  // exp(-1/8)
    let oneThird: Int32 = 715_827_883
    let x = a &+ (1 << 28)  // a + 1/8
    let x2 = mul(x, x)
    let x3 = mul(x2, x)
    let x4 = mul(x2, x2)
    let x4Over4 = multiplyByPOT(x4, -2)
    let poly = multiplyByPOT(mul(x4Over4 &+ x3, oneThird) &+ x2, -1)
    return constantTerm &+ mul(constantTerm, x &+ poly)
  }

  /// exp(a) for a <= 0, with `integerBits` integer bits in; the result has 0 integer bits.
  static func expOnNegativeValues(_ a: Int32, integerBits: Int) -> Int32 {
    let fractionalBits = 31 - integerBits
    let oneQuarter = Int32(1) << (fractionalBits - 2)
    let mask = oneQuarter - 1
    let aModQuarterMinusQuarter = (a & mask) &- oneQuarter
    var result = expOnIntervalNegativeQuarterToZero(
      rescale(aModQuarterMinusQuarter, from: integerBits, to: 0))
    let remainder = aModQuarterMinusQuarter &- a
    let barrel: [(Int, Int32)] = [
      (-2, 1_672_461_947), (-1, 1_302_514_674), (0, 790_015_084), (1, 290_630_308),
      (2, 39_332_535), (3, 720_401), (4, 242),
    ]
    for (exponent, multiplier) in barrel where integerBits > exponent {
      let shift = fractionalBits + exponent
      if remainder & (Int32(1) << shift) != 0 { result = mul(result, multiplier) }
    }
    if integerBits > 5 {
      let clamp = -(Int32(1) << (36 - integerBits))
      if a < clamp { result = 0 }
    }
    if a == 0 { result = Int32.max }
    return result
  }

  /// 1 / (1 + a) for a in [0, 1), 0 integer bits in and out (Newton-Raphson).
  static func oneOverOnePlusX(_ a: Int32) -> Int32 {
    let halfDenominator = roundingHalfSum(a, Int32.max)
    let x = newtonReciprocal(halfDenominator)
    return rescale(x, from: 1, to: 0)  // ExactMulByPot<-1> then Rescale<0>
  }

  /// (1 - a) / (1 + a) for a in [0, 1), 0 integer bits in and out.
  static func oneMinusXOverOnePlusX(_ a: Int32) -> Int32 {
    let halfDenominator = roundingHalfSum(a, Int32.max)
    let x = newtonReciprocal(halfDenominator)
    return rescale(x &- (1 << 29), from: 2, to: 0)
  }

  /// 1 / d for d in [1/2, 1) with 2 integer bits out: three Newton-Raphson steps from
  /// 48/17 - 32/17 d.
  private static func newtonReciprocal(_ halfDenominator: Int32) -> Int32 {
    let c48Over17: Int32 = 1_515_870_810
    let cNeg32Over17: Int32 = -1_010_580_540
    let one2: Int32 = 1 << 29  // 1.0 with 2 integer bits
    var x = c48Over17 &+ mul(halfDenominator, cNeg32Over17)
    for _ in 0..<3 {
      let hdx = mul(halfDenominator, x)
      let oneMinus = one2 &- hdx
      x = x &+ rescale(mul(x, oneMinus), from: 4, to: 2)
    }
    return x
  }

  /// logistic(a) with `integerBits` integer bits in, 0 out.
  static func logistic(_ a: Int32, integerBits: Int) -> Int32 {
    if a == 0 { return 1 << 30 }
    let absA = a > 0 ? a : 0 &- a
    let positive = oneOverOnePlusX(expOnNegativeValues(0 &- absA, integerBits: integerBits))
    return a > 0 ? positive : Int32.max &- positive
  }

  /// tanh(a) with `integerBits` integer bits in, 0 out.
  static func tanh(_ a: Int32, integerBits: Int) -> Int32 {
    if a == 0 { return 0 }
    let negative = a < 0
    let n = negative ? a : 0 &- a
    // -tanh(n) for n < 0: (1 - exp(2n)) / (1 + exp(2n)); 2n is n with one more integer bit.
    let t = oneMinusXOverOnePlusX(expOnNegativeValues(n, integerBits: integerBits + 1))
    return negative ? 0 &- t : t
  }

  /// TFLite's GetReciprocal: 1/x for x with `integerDigits` integer bits, as a value with 0
  /// integer bits and the number of bits it must be shifted by.
  static func reciprocal(_ x: Int32, integerDigits: Int) -> (Int32, numBitsOverUnit: Int) {
    let headroomPlusOne = UInt32(bitPattern: x).leadingZeroBitCount
    let numBitsOverUnit = integerDigits - headroomPlusOne
    let shifted = (UInt32(bitPattern: x) << UInt32(headroomPlusOne)) &- (UInt32(1) << 31)
    return (oneOverOnePlusX(Int32(bitPattern: shifted)), numBitsOverUnit)
  }

  /// TFLite's CalculateInputRadius (float path): the largest input magnitude whose rescaled
  /// value still fits.
  static func inputRadius(integerBits: Int, leftShift: Int, totalSignedBits: Int = 31) -> Int32 {
    let maxInputRescaled =
      1.0 * Double((1 << integerBits) - 1) * Double(Int64(1) << (totalSignedBits - integerBits))
      / Double(sign: .plus, exponent: leftShift, significand: 1)
    return Int32(min(maxInputRescaled.rounded(.down), Double(Int32.max)))
  }
}

/// frexp: x = mantissa * 2^exponent with 0.5 <= |mantissa| < 1.
func frexpDouble(_ x: Double) -> (Double, Int) {
  if x == 0 || !x.isFinite { return (x, 0) }
  let e = Int(x.exponent) + 1
  return (x / Double(sign: .plus, exponent: e, significand: 1), e)
}
