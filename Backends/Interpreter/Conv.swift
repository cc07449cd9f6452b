import TinyIR

/// CONV_2D and DEPTHWISE_CONV_2D, as TFLite's reference kernels (integer_ops/conv.h,
/// integer_ops/depthwise_conv.h and their float versions): NHWC input, OHWI (conv) or
/// 1HW(C·m) (depthwise) weights, taps outside the image skipped, int32 accumulator,
/// `acc += w * (x - x_zp)`, plus bias, per-channel requantization, plus output zero point,
/// clamp to the fused activation's range.
struct ConvGeometry: Sendable {
  var batches, inH, inW, inC: Int
  var outH, outW, outC: Int
  var filterH, filterW, filterInC: Int
  var strideH, strideW, dilationH, dilationW, padTop, padLeft: Int
  /// nil for a plain (grouped) convolution.
  var depthMultiplier: Int?

  init(_ c: OpContext, window w: Window, depthMultiplier: Int?) {
    let x = c.x.shape
    let f = c.input(1).shape
    let y = c.y.shape
    batches = x[0]
    inH = x[1]
    inW = x[2]
    inC = x[3]
    outH = y[1]
    outW = y[2]
    outC = y[3]
    filterH = f[1]
    filterW = f[2]
    filterInC = f[3]
    strideH = w.strideH
    strideW = w.strideW
    dilationH = w.dilationH
    dilationW = w.dilationW
    padTop = w.padding.top
    padLeft = w.padding.left
    self.depthMultiplier = depthMultiplier
  }
}

func prepareConv(
  _ c: OpContext, window: Window, depthMultiplier: Int?, act: Activation
) throws -> Kernel {
  let g = ConvGeometry(c, window: window, depthMultiplier: depthMultiplier)
  if depthMultiplier == nil {
    let groups = g.inC / g.filterInC
    guard g.outC % groups == 0 else {
      throw KernelError("\(g.outC) output channels do not split into \(groups) groups")
    }
  }
  let hasBias = c.op.inputs.count == 3
  switch try c.numeric() {
  case .float:
    guard c.input(1).elementType == .f32 else { throw KernelError("float convolution needs f32 weights") }
    if hasBias, c.input(2).elementType != .f32 { throw KernelError("float convolution needs an f32 bias") }
    let (lo, hi) = floatActivationRange(act)
    return { ins in
      let bias = hasBias ? try ins[2].floats() : nil
      return [.f32(convFloat(g, try ins[0].floats(), try ins[1].floats(), bias, lo, hi))]
    }
  case .int8:
    let w = c.input(1)
    guard w.elementType.isStoredAsInt8, let wq = w.quantization else {
      throw KernelError("quantized convolution needs quantized i8/i4/i2 weights")
    }
    guard wq.zeroPoints.allSatisfy({ $0 == 0 }) else {
      throw KernelError("convolution weights must be symmetric (zero point 0)")
    }
    if hasBias, c.input(2).elementType != .i32 { throw KernelError("quantized convolution needs an i32 bias") }
    let (sIn, zpIn) = try c.quant(c.x, "input")
    let (sOut, zpOut) = try c.quant(c.y, "result")
    guard wq.scales.count == 1 || wq.scales.count == g.outC else {
      throw KernelError("weights have \(wq.scales.count) scales for \(g.outC) output channels")
    }
    // TFLM PopulateConvolutionQuantizationParams: double(in) * double(w[c]) / double(out).
    var multipliers = [Int32](repeating: 0, count: g.outC)
    var shifts = [Int](repeating: 0, count: g.outC)
    for oc in 0..<g.outC {
      let ws = wq.scales.count > 1 ? wq.scales[oc] : wq.scales[0]
      let effective = Double(sIn) * Double(ws) / Double(sOut)
      (multipliers[oc], shifts[oc]) = QuantMath.quantizeMultiplier(effective)
    }
    let (lo, hi) = try quantizedActivationRange(act, c.y)
    let params = RequantParams(
      inputOffset: -zpIn, outputOffset: zpOut, multipliers: multipliers, shifts: shifts, min: lo, max: hi)
    return { ins in
      let bias = hasBias ? try ins[2].int32s() : nil
      return [.i8(convInt8(g, try ins[0].int8s(), try ins[1].int8s(), bias, params))]
    }
  }
}

/// Per-output-channel requantization parameters of conv / fully connected.
struct RequantParams: Sendable {
  var inputOffset: Int32
  var outputOffset: Int32
  var multipliers: [Int32]
  var shifts: [Int]
  var min: Int32
  var max: Int32
}

func convInt8(
  _ g: ConvGeometry, _ input: [Int8], _ filter: [Int8], _ bias: [Int32]?, _ p: RequantParams
) -> [Int8] {
  var out = [Int8](repeating: 0, count: g.batches * g.outH * g.outW * g.outC)
  input.withUnsafeBufferPointer { x in
    filter.withUnsafeBufferPointer { w in
      out.withUnsafeMutableBufferPointer { y in
        p.multipliers.withUnsafeBufferPointer { mult in
          p.shifts.withUnsafeBufferPointer { shift in
            let inOff = p.inputOffset
            var o = 0
            for b in 0..<g.batches {
              for oy in 0..<g.outH {
                let iy0 = oy * g.strideH - g.padTop
                for ox in 0..<g.outW {
                  let ix0 = ox * g.strideW - g.padLeft
                  for oc in 0..<g.outC {
                    var acc: Int32 = 0
                    if let m = g.depthMultiplier {
                      let ic = oc / m
                      for fy in 0..<g.filterH {
                        let iy = iy0 + g.dilationH * fy
                        if iy < 0 || iy >= g.inH { continue }
                        for fx in 0..<g.filterW {
                          let ix = ix0 + g.dilationW * fx
                          if ix < 0 || ix >= g.inW { continue }
                          let xv = Int32(x[((b * g.inH + iy) * g.inW + ix) * g.inC + ic])
                          let wv = Int32(w[(fy * g.filterW + fx) * g.outC + oc])
                          acc = acc &+ wv &* (xv &+ inOff)
                        }
                      }
                    } else {
                      let groups = g.inC / g.filterInC
                      let group = oc / (g.outC / groups)
                      for fy in 0..<g.filterH {
                        let iy = iy0 + g.dilationH * fy
                        if iy < 0 || iy >= g.inH { continue }
                        for fx in 0..<g.filterW {
                          let ix = ix0 + g.dilationW * fx
                          if ix < 0 || ix >= g.inW { continue }
                          let xb = ((b * g.inH + iy) * g.inW + ix) * g.inC + group * g.filterInC
                          let wb = ((oc * g.filterH + fy) * g.filterW + fx) * g.filterInC
                          for ic in 0..<g.filterInC {
                            acc = acc &+ Int32(w[wb + ic]) &* (Int32(x[xb + ic]) &+ inOff)
                          }
                        }
                      }
                    }
                    if let bias { acc = acc &+ bias[oc] }
                    acc = QuantMath.multiplyByQuantizedMultiplier(acc, mult[oc], shift[oc])
                    y[o] = clampToInt8(acc &+ p.outputOffset, p.min, p.max)
                    o += 1
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return out
}

func convFloat(
  _ g: ConvGeometry, _ input: [Float], _ filter: [Float], _ bias: [Float]?, _ lo: Float, _ hi: Float
) -> [Float] {
  var out = [Float](repeating: 0, count: g.batches * g.outH * g.outW * g.outC)
  input.withUnsafeBufferPointer { x in
    filter.withUnsafeBufferPointer { w in
      out.withUnsafeMutableBufferPointer { y in
        var o = 0
        for b in 0..<g.batches {
          for oy in 0..<g.outH {
            let iy0 = oy * g.strideH - g.padTop
            for ox in 0..<g.outW {
              let ix0 = ox * g.strideW - g.padLeft
              for oc in 0..<g.outC {
                var total: Float = 0
                if let m = g.depthMultiplier {
                  let ic = oc / m
                  for fy in 0..<g.filterH {
                    let iy = iy0 + g.dilationH * fy
                    if iy < 0 || iy >= g.inH { continue }
                    for fx in 0..<g.filterW {
                      let ix = ix0 + g.dilationW * fx
                      if ix < 0 || ix >= g.inW { continue }
                      total += x[((b * g.inH + iy) * g.inW + ix) * g.inC + ic] * w[(fy * g.filterW + fx) * g.outC + oc]
                    }
                  }
                } else {
                  let groups = g.inC / g.filterInC
                  let group = oc / (g.outC / groups)
                  for fy in 0..<g.filterH {
                    let iy = iy0 + g.dilationH * fy
                    if iy < 0 || iy >= g.inH { continue }
                    for fx in 0..<g.filterW {
                      let ix = ix0 + g.dilationW * fx
                      if ix < 0 || ix >= g.inW { continue }
                      let xb = ((b * g.inH + iy) * g.inW + ix) * g.inC + group * g.filterInC
                      let wb = ((oc * g.filterH + fy) * g.filterW + fx) * g.filterInC
                      for ic in 0..<g.filterInC { total += x[xb + ic] * w[wb + ic] }
                    }
                  }
                }
                let biasValue = bias?[oc] ?? 0
                y[o] = clampFloat(total + biasValue, lo, hi)
                o += 1
              }
            }
          }
        }
      }
    }
  }
  return out
}
