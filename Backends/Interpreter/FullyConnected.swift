import TinyIR

/// FULLY_CONNECTED, as TFLite's reference kernels: `acc += (w - w_zp) * (x - x_zp)` over
/// the input depth, plus bias, requantized with one multiplier (per-tensor weights: TFLM's
/// GetQuantizedConvolutionMultipler, `double(float(s_in * s_w)) / double(s_out)`) or one per
/// output channel (per-channel weights: `double(s_in) * double(s_w[c]) / double(s_out)`).
func prepareFullyConnected(_ c: OpContext, act: Activation) throws -> Kernel {
  let w = c.input(1)
  let outDepth = w.shape[0]
  let depth = w.shape[1]
  let rows = c.x.elementCount / depth
  let hasBias = c.op.inputs.count == 3
  switch try c.numeric() {
  case .float:
    guard w.elementType == .f32 else { throw KernelError("float fully connected needs f32 weights") }
    if hasBias, c.input(2).elementType != .f32 { throw KernelError("float fully connected needs an f32 bias") }
    let (lo, hi) = floatActivationRange(act)
    return { ins in
      let x = try ins[0].floats()
      let wv = try ins[1].floats()
      let bias = hasBias ? try ins[2].floats() : nil
      var out = [Float](repeating: 0, count: rows * outDepth)
      for r in 0..<rows {
        for o in 0..<outDepth {
          var total: Float = 0
          for d in 0..<depth { total += x[r * depth + d] * wv[o * depth + d] }
          out[r * outDepth + o] = clampFloat(total + (bias?[o] ?? 0), lo, hi)
        }
      }
      return [.f32(out)]
    }
  case .int8:
    guard w.elementType.isStoredAsInt8, let wq = w.quantization else {
      throw KernelError("quantized fully connected needs quantized i8/i4/i2 weights")
    }
    if hasBias, c.input(2).elementType != .i32 { throw KernelError("quantized fully connected needs an i32 bias") }
    let (sIn, zpIn) = try c.quant(c.x, "input")
    let (sOut, zpOut) = try c.quant(c.y, "result")
    var multipliers = [Int32](repeating: 0, count: outDepth)
    var shifts = [Int](repeating: 0, count: outDepth)
    var weightOffsets = [Int32](repeating: 0, count: outDepth)
    if wq.scales.count > 1 {
      guard wq.scales.count == outDepth else {
        throw KernelError("weights have \(wq.scales.count) scales for \(outDepth) outputs")
      }
      for o in 0..<outDepth {
        let effective = Double(sIn) * Double(wq.scales[o]) / Double(sOut)
        (multipliers[o], shifts[o]) = QuantMath.quantizeMultiplier(effective)
        weightOffsets[o] = -Int32(wq.zeroPoints[o])
      }
    } else {
      let effective = Double(sIn * wq.scale) / Double(sOut)
      let (m, s) = QuantMath.quantizeMultiplier(effective)
      for o in 0..<outDepth {
        multipliers[o] = m
        shifts[o] = s
        weightOffsets[o] = -Int32(wq.zeroPoint)
      }
    }
    let (lo, hi) = try quantizedActivationRange(act, c.y)
    let params = RequantParams(
      inputOffset: -zpIn, outputOffset: zpOut, multipliers: multipliers, shifts: shifts, min: lo, max: hi)
    return { [weightOffsets] ins in
      let bias = hasBias ? try ins[2].int32s() : nil
      let x = try ins[0].int8s()
      let wv = try ins[1].int8s()
      var out = [Int8](repeating: 0, count: rows * outDepth)
      x.withUnsafeBufferPointer { xp in
        wv.withUnsafeBufferPointer { wp in
          out.withUnsafeMutableBufferPointer { yp in
            for r in 0..<rows {
              for o in 0..<outDepth {
                var acc: Int32 = 0
                let wOff = weightOffsets[o]
                for d in 0..<depth {
                  acc = acc &+ (Int32(wp[o * depth + d]) &+ wOff) &* (Int32(xp[r * depth + d]) &+ params.inputOffset)
                }
                if let bias { acc = acc &+ bias[o] }
                acc = QuantMath.multiplyByQuantizedMultiplier(acc, params.multipliers[o], params.shifts[o])
                yp[r * outDepth + o] = clampToInt8(acc &+ params.outputOffset, params.min, params.max)
              }
            }
          }
        }
      }
      return [.i8(out)]
    }
  }
}
