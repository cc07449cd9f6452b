import TinyIR

/// Index maps for a binary op with numpy broadcasting (nil when the operand already has
/// the result's shape).
struct BroadcastMaps: Sendable {
  var a: [Int]?
  var b: [Int]?
  var count: Int

  init(_ c: OpContext) {
    let out = c.y.shape
    let sa = c.input(0).shape
    let sb = c.input(1).shape
    a = sa == out ? nil : broadcastIndexMap(from: sa, to: out)
    b = sb == out ? nil : broadcastIndexMap(from: sb, to: out)
    count = c.y.elementCount
  }

  @inline(__always) func ia(_ i: Int) -> Int { a?[i] ?? i }
  @inline(__always) func ib(_ i: Int) -> Int { b?[i] ?? i }
}

/// ADD and SUB. int8 as TFLM's add/sub Prepare and reference AddFunc: both inputs are
/// offset by their zero points, shifted left by 20, scaled by multipliers for
/// `s_i / (2·max(s1, s2))`, summed (or subtracted), and scaled by
/// `2·max(s1, s2) / (2^20 · s_out)`.
func prepareAddSub(_ c: OpContext, act: Activation, subtract: Bool) throws -> Kernel {
  let maps = BroadcastMaps(c)
  switch try c.numeric() {
  case .float:
    guard c.input(1).elementType == .f32 else { throw KernelError("both operands must be f32") }
    let (lo, hi) = floatActivationRange(act)
    return { ins in
      let a = try ins[0].floats()
      let b = try ins[1].floats()
      var out = [Float](repeating: 0, count: maps.count)
      for i in 0..<maps.count {
        let v = subtract ? a[maps.ia(i)] - b[maps.ib(i)] : a[maps.ia(i)] + b[maps.ib(i)]
        out[i] = clampFloat(v, lo, hi)
      }
      return [.f32(out)]
    }
  case .int8:
    guard c.input(1).elementType.isStoredAsInt8 else { throw KernelError("both operands must be quantized integers") }
    let (s1, zp1) = try c.quant(c.input(0), "first operand")
    let (s2, zp2) = try c.quant(c.input(1), "second operand")
    let (sOut, zpOut) = try c.quant(c.y, "result")
    let leftShift = 20
    let twiceMaxInputScale = 2 * Double(max(s1, s2))
    let (m1, sh1) = QuantMath.quantizeMultiplier(Double(s1) / twiceMaxInputScale)
    let (m2, sh2) = QuantMath.quantizeMultiplier(Double(s2) / twiceMaxInputScale)
    let (mo, sho) = QuantMath.quantizeMultiplier(
      twiceMaxInputScale / (Double(1 << leftShift) * Double(sOut)))
    let (lo, hi) = try quantizedActivationRange(act, c.y)
    return { ins in
      let a = try ins[0].int8s()
      let b = try ins[1].int8s()
      var out = [Int8](repeating: 0, count: maps.count)
      for i in 0..<maps.count {
        let x1 = (Int32(a[maps.ia(i)]) - zp1) &* Int32(1 << leftShift)
        let x2 = (Int32(b[maps.ib(i)]) - zp2) &* Int32(1 << leftShift)
        let v1 = QuantMath.multiplyByQuantizedMultiplier(x1, m1, sh1)
        let v2 = QuantMath.multiplyByQuantizedMultiplier(x2, m2, sh2)
        let raw = subtract ? v1 &- v2 : v1 &+ v2
        let r = QuantMath.multiplyByQuantizedMultiplier(raw, mo, sho) &+ zpOut
        out[i] = clampToInt8(r, lo, hi)
      }
      return [.i8(out)]
    }
  }
}

/// MUL. int8 as TFLM: `(x1 - zp1) * (x2 - zp2)` requantized by `s1·s2/s_out` (in double).
func prepareMul(_ c: OpContext, act: Activation) throws -> Kernel {
  let maps = BroadcastMaps(c)
  switch try c.numeric() {
  case .float:
    guard c.input(1).elementType == .f32 else { throw KernelError("both operands must be f32") }
    let (lo, hi) = floatActivationRange(act)
    return { ins in
      let a = try ins[0].floats()
      let b = try ins[1].floats()
      var out = [Float](repeating: 0, count: maps.count)
      for i in 0..<maps.count { out[i] = clampFloat(a[maps.ia(i)] * b[maps.ib(i)], lo, hi) }
      return [.f32(out)]
    }
  case .int8:
    guard c.input(1).elementType.isStoredAsInt8 else { throw KernelError("both operands must be quantized integers") }
    let (s1, zp1) = try c.quant(c.input(0), "first operand")
    let (s2, zp2) = try c.quant(c.input(1), "second operand")
    let (sOut, zpOut) = try c.quant(c.y, "result")
    let (m, sh) = QuantMath.quantizeMultiplier(Double(s1) * Double(s2) / Double(sOut))
    let (lo, hi) = try quantizedActivationRange(act, c.y)
    return { ins in
      let a = try ins[0].int8s()
      let b = try ins[1].int8s()
      var out = [Int8](repeating: 0, count: maps.count)
      for i in 0..<maps.count {
        let p = (Int32(a[maps.ia(i)]) - zp1) &* (Int32(b[maps.ib(i)]) - zp2)
        out[i] = clampToInt8(QuantMath.multiplyByQuantizedMultiplier(p, m, sh) &+ zpOut, lo, hi)
      }
      return [.i8(out)]
    }
  }
}

/// DIV, float only.
func prepareDiv(_ c: OpContext, act: Activation) throws -> Kernel {
  guard try c.numeric() == .float, c.input(1).elementType == .f32 else {
    throw KernelError("div is supported for f32 only")
  }
  let maps = BroadcastMaps(c)
  let (lo, hi) = floatActivationRange(act)
  return { ins in
    let a = try ins[0].floats()
    let b = try ins[1].floats()
    var out = [Float](repeating: 0, count: maps.count)
    for i in 0..<maps.count { out[i] = clampFloat(a[maps.ia(i)] / b[maps.ib(i)], lo, hi) }
    return [.f32(out)]
  }
}

/// PRELU, float only: `x >= 0 ? x : slope * x` with the slope broadcast.
func preparePrelu(_ c: OpContext) throws -> Kernel {
  guard try c.numeric() == .float, c.input(1).elementType == .f32 else {
    throw KernelError("prelu is supported for f32 only")
  }
  let maps = BroadcastMaps(c)
  return { ins in
    let a = try ins[0].floats()
    let b = try ins[1].floats()
    var out = [Float](repeating: 0, count: maps.count)
    for i in 0..<maps.count {
      let v = a[maps.ia(i)]
      out[i] = v >= 0 ? v : v * b[maps.ib(i)]
    }
    return [.f32(out)]
  }
}
