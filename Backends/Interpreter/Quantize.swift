import TinyIR

/// For each element of a tensor of `shape`, its index along `axis` (per-axis quantization).
private func channelIndex(_ shape: [Int], _ axis: Int?) -> [Int]? {
  guard let axis else { return nil }
  let inner = shape[(axis + 1)...].reduce(1, *)
  let n = shape[axis]
  return (0..<shape.reduce(1, *)).map { ($0 / inner) % n }
}

/// QUANTIZE. float → int as TFLite's AffineQuantize: `round(x / scale) + zp` (round half
/// away from zero, division in float), clamped to the type. int → int as TFLM's Requantize:
/// `(x - zp_in)` times the multiplier for `s_in/s_out` (in double), plus `zp_out`, clamped.
func prepareQuantize(_ c: OpContext) throws -> Kernel {
  guard c.y.elementType.isStoredAsInt8, let qo = c.y.quantization else {
    throw KernelError("quantize must produce a quantized i8/i4/i2 tensor")
  }
  let r = c.y.elementType.integerRange
  let (qmin, qmax) = (Int32(r.lowerBound), Int32(r.upperBound))
  if c.x.elementType == .f32 {
    let channel = channelIndex(c.y.shape, qo.axis)
    let scales = qo.scales
    let zps = qo.zeroPoints.map { Int32($0) }
    return { ins in
      let x = try ins[0].floats()
      var out = [Int8](repeating: 0, count: x.count)
      for i in 0..<x.count {
        let ch = channel?[i] ?? 0
        let q = roundToInt32(x[i] / scales[ch]) &+ zps[ch]
        out[i] = clampToInt8(q, qmin, qmax)
      }
      return [.i8(out)]
    }
  }
  guard c.x.elementType.isStoredAsInt8 else {
    throw KernelError("quantize takes f32 or a quantized i8/i4/i2 tensor")
  }
  let (sIn, zpIn) = try c.quant(c.x, "input")
  let (sOut, zpOut) = try c.quant(c.y, "result")
  let (m, sh) = QuantMath.quantizeMultiplier(Double(sIn) / Double(sOut))
  return { ins in
    [
      .i8(
        try ins[0].int8s().map { v in
          clampToInt8(QuantMath.multiplyByQuantizedMultiplier(Int32(v) - zpIn, m, sh) &+ zpOut, qmin, qmax)
        })
    ]
  }
}

/// DEQUANTIZE: `float(double(scale) * (x - zp))`, per tensor or per axis.
func prepareDequantize(_ c: OpContext) throws -> Kernel {
  guard c.x.elementType.isStoredAsInt8 || c.x.elementType == .i32, let q = c.x.quantization else {
    throw KernelError("dequantize takes a quantized integer tensor")
  }
  let channel = channelIndex(c.x.shape, q.axis)
  let scales = q.scales.map { Double($0) }
  let zps = q.zeroPoints
  return { ins in
    var ints: [Int] = []
    switch ins[0] {
    case .i8(let a): ints = a.map { Int($0) }
    case .i16(let a): ints = a.map { Int($0) }
    case .i32(let a): ints = a.map { Int($0) }
    case .i64(let a): ints = a.map { Int($0) }
    case .f32: throw KernelError("dequantize takes an integer operand")
    }
    var out = [Float](repeating: 0, count: ints.count)
    for i in 0..<ints.count {
      let ch = channel?[i] ?? 0
      out[i] = Float(scales[ch] * Double(ints[i] - zps[ch]))
    }
    return [.f32(out)]
  }
}
