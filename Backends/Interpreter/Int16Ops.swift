import TinyIR

/// SOFTMAX on int16 (reference_ops::SoftmaxInt16): the difference to the row maximum is
/// rescaled so that [-65535, 0] covers [-10, 0], exponentiated through the exp table, summed in
/// Q16.15, and divided through the 1/(1 + x) table. The result has scale 1/32768, zero point 0.
func prepareSoftmax16(_ c: OpContext, beta: Float) throws -> Kernel {
  guard c.x.elementType == .i16, c.y.elementType == .i16 else { throw KernelError("int16 softmax needs i16 tensors") }
  let sIn = try c.scale16(c.x, "input")
  let sOut = try c.scale16(c.y, "result")
  guard abs(sOut - 1.0 / 32768) <= 0.001 / 32768 else {
    throw KernelError("int16 softmax output must be quantized with scale 1/32768")
  }
  let depth = c.x.shape.last ?? 1
  let rows = depth == 0 ? 0 : c.x.elementCount / depth
  let rq = KernelParams.softmax16(beta: beta, inputScale: sIn)
  let tables = KernelParams.softmax16Tables()
  return { ins in
    let x = try ins[0].int16s()
    var out = [Int16](repeating: 0, count: x.count)
    var exps = [Int16](repeating: 0, count: depth)
    for r in 0..<rows {
      let row = x[(r * depth)..<((r + 1) * depth)]
      let maxInRow = Int32(row.max() ?? 0)
      var sum: Int32 = 0
      for (k, v) in row.enumerated() {
        let scaled = QuantMath.multiplyByQuantizedMultiplier(Int32(v) - maxInRow, rq.multiplier, Int(rq.shift))
        let centered = Int16(clamping: scaled &+ 32767)
        exps[k] = KernelParams.lutLookup16(centered, tables.exp)
        sum = sum &+ Int32(exps[k])
      }
      let headroomPlusOne = UInt32(bitPattern: sum).leadingZeroBitCount
      guard headroomPlusOne >= 1, headroomPlusOne <= 30 else { throw KernelError("softmax sum out of range") }
      let shiftedSum = Int32(truncatingIfNeeded: ((Int64(sum) << (headroomPlusOne - 1)) + (1 << 13)) >> 14)
      let centeredSum = Int16(clamping: shiftedSum - ((1 << 15) + (1 << 16)))
      let reciprocal = Int64(KernelParams.lutLookup16(centeredSum, tables.oneOverOnePlusX))
      let rightShift = 31 - headroomPlusOne
      let round = Int64(1) << (rightShift - 1)
      for k in 0..<depth {
        let v = Int32(truncatingIfNeeded: (Int64(exps[k]) * reciprocal + round) >> rightShift)
        out[r * depth + k] = clampToInt16(v, 0, 32767)
      }
    }
    return [.i16(out)]
  }
}

/// ADD and SUB on int16 (TFLM's general-scale path, AddElementwise): as int8 with 15 extra
/// bits instead of 20.
func prepareAddSub16(_ c: OpContext, act: Activation, subtract: Bool) throws -> Kernel {
  guard c.x.elementType == .i16, c.input(1).elementType == .i16, c.y.elementType == .i16 else {
    throw KernelError("int16 \(subtract ? "sub" : "add") needs i16 operands and result")
  }
  let q1 = Quantization(scale: try c.scale16(c.x, "first operand"), zeroPoint: 0)
  let q2 = Quantization(scale: try c.scale16(c.input(1), "second operand"), zeroPoint: 0)
  let qo = Quantization(scale: try c.scale16(c.y, "result"), zeroPoint: 0)
  let p = KernelParams.addSub16(q1, q2, out: qo)
  let (lo, hi) = try quantizedActivationRange(act, c.y)
  let maps = BroadcastMaps(c)
  return { ins in
    let a = try ins[0].int16s()
    let b = try ins[1].int16s()
    var out = [Int16](repeating: 0, count: maps.count)
    for i in 0..<maps.count {
      let x1 = Int32(a[maps.ia(i)]) &* Int32(1 << p.leftShift)
      let x2 = Int32(b[maps.ib(i)]) &* Int32(1 << p.leftShift)
      let v1 = QuantMath.multiplyByQuantizedMultiplier(x1, p.input1.multiplier, Int(p.input1.shift))
      let v2 = QuantMath.multiplyByQuantizedMultiplier(x2, p.input2.multiplier, Int(p.input2.shift))
      let raw = subtract ? v1 &- v2 : v1 &+ v2
      out[i] = clampToInt16(QuantMath.multiplyByQuantizedMultiplier(raw, p.output.multiplier, Int(p.output.shift)), lo, hi)
    }
    return [.i16(out)]
  }
}

/// MUL on int16 (reference_integer_ops::MulElementwise): `x1 · x2` requantized by
/// `s1·s2/s_out`.
func prepareMul16(_ c: OpContext, act: Activation) throws -> Kernel {
  guard c.x.elementType == .i16, c.input(1).elementType == .i16, c.y.elementType == .i16 else {
    throw KernelError("int16 mul needs i16 operands and result")
  }
  let r = KernelParams.mul(
    Quantization(scale: try c.scale16(c.x, "first operand"), zeroPoint: 0),
    Quantization(scale: try c.scale16(c.input(1), "second operand"), zeroPoint: 0),
    out: Quantization(scale: try c.scale16(c.y, "result"), zeroPoint: 0))
  let (lo, hi) = try quantizedActivationRange(act, c.y)
  let maps = BroadcastMaps(c)
  return { ins in
    let a = try ins[0].int16s()
    let b = try ins[1].int16s()
    var out = [Int16](repeating: 0, count: maps.count)
    for i in 0..<maps.count {
      let p = Int32(a[maps.ia(i)]) &* Int32(b[maps.ib(i)])
      out[i] = clampToInt16(QuantMath.multiplyByQuantizedMultiplier(p, r.multiplier, Int(r.shift)), lo, hi)
    }
    return [.i16(out)]
  }
}

/// MEAN on int16 (reference_ops::QuantizedMeanOrSum): the int32 sum requantized by
/// `s_in/s_out` with 1/count folded into the multiplier.
func prepareMean16(_ c: OpContext, axes: [Int]) throws -> Kernel {
  guard c.x.elementType == .i16, c.y.elementType == .i16 else { throw KernelError("int16 mean needs i16 tensors") }
  let sIn = try c.scale16(c.x, "input")
  let sOut = try c.scale16(c.y, "result")
  let inShape = c.x.shape
  let map = reductionOutputIndex(inShape, axes: axes)
  let outCount = c.y.elementCount
  let r = KernelParams.mean(inputScale: sIn, outputScale: sOut, count: axes.reduce(1) { $0 * inShape[$1] })
  let (m, sh) = (r.multiplier, Int(r.shift))
  return { ins in
    let x = try ins[0].int16s()
    var sum = [Int32](repeating: 0, count: outCount)
    for i in 0..<x.count { sum[map[i]] = sum[map[i]] &+ Int32(x[i]) }
    return [.i16(sum.map { clampToInt16(QuantMath.multiplyByQuantizedMultiplier($0, m, sh), -32768, 32767) })]
  }
}

/// QUANTIZE float → int16 as TFLite's AffineQuantize: `round(x / s) + zp` in float, clamped.
/// (Requantizing between int8 and int16, which TFLite Micro also runs, is not supported yet.)
func prepareQuantize16(_ c: OpContext) throws -> Kernel {
  guard c.x.elementType == .f32, c.y.elementType == .i16, let qo = c.y.quantization,
    !qo.isPerAxis || qo.scales.count == 1
  else {
    throw KernelError(
      "quantize to int16 is supported from float32 to a per-tensor quantized i16, not \(c.x.elementType.rawValue) → \(c.y.elementType.rawValue)"
    )
  }
  let (scale, zp) = (qo.scale, Int32(qo.zeroPoint))
  return { ins in [.i16(try ins[0].floats().map { clampToInt16(roundToInt32($0 / scale) &+ zp, -32768, 32767) })] }
}

/// DEQUANTIZE from int16: `float(double(scale) · (x - zp))`.
func prepareDequantize16(_ c: OpContext) throws -> Kernel {
  guard c.x.elementType == .i16, c.y.elementType == .f32 else { throw KernelError("dequantize takes i16 to f32 here") }
  let (s, zp) = try c.quant(c.x, "input")
  return { ins in [.f32(try ins[0].int16s().map { Float(Double(s) * Double(Int32($0) - zp)) })] }
}

/// LOGISTIC and TANH on int16 (reference_integer_ops, TFLite's sigmoid table with linear
/// interpolation); the result has scale 2^-15 and zero point 0.
func prepareLogisticTanh16(_ c: OpContext, tanh: Bool) throws -> Kernel {
  guard c.x.elementType == .i16, c.y.elementType == .i16 else { throw KernelError("needs i16 input and result") }
  let p = KernelParams.logisticTanh16(inputScale: try c.scale16(c.x, "input"), tanh: tanh)
  guard try c.scale16(c.y, "result") == 1.0 / 32768 else { throw KernelError("the int16 result must have scale 2^-15") }
  return { ins in
    [.i16(try ins[0].int16s().map { KernelParams.logisticTanh16($0, multiplier: p.multiplier, shift: p.shift, tanh: tanh) })]
  }
}
