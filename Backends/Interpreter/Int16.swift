import TinyIR

/// 16x8 quantization (int16 activations with zero point 0, int8 weights, int64 biases), as
/// TFLite Micro's reference kernels run it. `prepareInt16` takes every op that reads or
/// writes an int16 activation; data-movement ops (reshape, transpose, slices, padding with
/// zero point 0) need no arithmetic and stay with their generic kernels.
func prepareInt16(_ c: OpContext) throws -> Kernel? {
  guard c.x.elementType == .i16 || c.y.elementType == .i16 else { return nil }
  switch c.op.kind {
  case .conv2d(let w, let act):
    return try prepareConv16(c, window: w, depthwise: false, act: act)
  case .depthwiseConv2d(let w, _, let act):
    return try prepareConv16(c, window: w, depthwise: true, act: act)
  case .fullyConnected(let act, _):
    return try prepareFullyConnected16(c, act: act)
  case .averagePool2d(let w, let fh, let fw, let act):
    return try preparePool16(c, window: w, filterH: fh, filterW: fw, act: act, max: false)
  case .maxPool2d(let w, let fh, let fw, let act):
    return try preparePool16(c, window: w, filterH: fh, filterW: fw, act: act, max: true)
  case .softmax(let beta):
    return try prepareSoftmax16(c, beta: beta)
  case .add(let act):
    return try prepareAddSub16(c, act: act, subtract: false)
  case .sub(let act):
    return try prepareAddSub16(c, act: act, subtract: true)
  case .mul(let act):
    return try prepareMul16(c, act: act)
  case .mean(let axes, _):
    return try prepareMean16(c, axes: axes)
  case .quantize:
    return try prepareQuantize16(c)
  case .dequantize:
    return try prepareDequantize16(c)
  case .logistic, .tanh:
    return try prepareLogisticTanh16(c, tanh: c.op.kind == .tanh)
  case .reshape, .transpose, .stridedSlice:
    return nil
  case .pad:
    guard try c.quant(c.x, "input").zeroPoint == 0 else { throw KernelError("int16 input must have zero point 0") }
    return nil
  default:
    throw KernelError("\(c.op.kind.mnemonic) is not supported on int16 activations")
  }
}

extension Storage {
  func int16s() throws -> [Int16] {
    if case .i16(let a) = self { return a }
    throw KernelError("expected an i16 operand")
  }

  func int64s() throws -> [Int64] {
    if case .i64(let a) = self { return a }
    throw KernelError("expected an i64 operand")
  }
}

/// Little-endian i16 or i64 elements.
func decodeWide(_ bytes: [UInt8], as type: ElementType) -> Storage {
  let width = type.bits / 8
  let words = (0..<bytes.count / width).map { i in
    (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[i * width + $1]) << (8 * $1) }
  }
  if type == .i16 { return .i16(words.map { Int16(truncatingIfNeeded: $0) }) }
  return .i64(words.map { Int64(bitPattern: $0) })
}

@inline(__always) func clampToInt16(_ v: Int32, _ lo: Int32, _ hi: Int32) -> Int16 {
  Int16(truncatingIfNeeded: min(max(v, lo), hi))
}

extension OpContext {
  /// The scale of an int16 activation, which TFLite Micro requires to have zero point 0.
  func scale16(_ t: TensorType, _ what: String) throws -> Float {
    let (s, zp) = try quant(t, what)
    guard zp == 0 else { throw KernelError("int16 \(what) must have zero point 0, not \(zp)") }
    return s
  }
}

/// The bias of a 16x8 conv or fully connected: TFLM accumulates in 64 bits with an int64
/// bias (the converter's default, and also without a bias) and in 32 bits with an int32 one.
enum Bias16 {
  case none, i32, i64

  init(_ c: OpContext) throws {
    guard c.op.inputs.count > 2 else {
      self = .none
      return
    }
    switch c.input(2).elementType {
    case .i64: self = .i64
    case .i32: self = .i32
    default: throw KernelError("a 16x8 layer needs an i64 or i32 bias, not \(c.input(2).elementType.rawValue)")
    }
  }

  /// The requantized accumulator: TFLM's int64 MultiplyByQuantizedMultiplier, or the int32 one
  /// (wrapping accumulation) for an int32 bias.
  @inline(__always) func requantize(_ acc: Int64, _ bias: Int64, _ m: Int32, _ s: Int) -> Int32 {
    if self == .i32 {
      return QuantMath.multiplyByQuantizedMultiplier(Int32(truncatingIfNeeded: acc) &+ Int32(truncatingIfNeeded: bias), m, s)
    }
    return QuantMath.multiplyByQuantizedMultiplier(acc &+ bias, m, s)
  }

  func values(_ ins: [Storage], count: Int) throws -> [Int64] {
    switch self {
    case .none: return [Int64](repeating: 0, count: count)
    case .i32: return try ins[2].int32s().map { Int64($0) }
    case .i64: return try ins[2].int64s()
    }
  }
}

/// CONV_2D and DEPTHWISE_CONV_2D, 16x8 (reference_integer_ops::ConvPerChannel and
/// DepthwiseConvPerChannel for int16): `acc += w * x` with no input offset, plus bias,
/// per-channel requantization, clamp.
func prepareConv16(_ c: OpContext, window: Window, depthwise: Bool, act: Activation) throws -> Kernel {
  let g = ConvGeometry(c, window: window, depthMultiplier: depthwise ? c.y.shape[3] / max(c.x.shape[3], 1) : nil)
  guard c.x.elementType == .i16, c.y.elementType == .i16 else {
    throw KernelError("a 16x8 convolution needs i16 input and result")
  }
  let w = c.input(1)
  guard w.elementType == .i8, let wq = w.quantization, wq.zeroPoints.allSatisfy({ $0 == 0 }) else {
    throw KernelError("a 16x8 convolution needs symmetric i8 weights")
  }
  guard wq.scales.count == 1 || wq.scales.count == g.outC else {
    throw KernelError("weights have \(wq.scales.count) scales for \(g.outC) output channels")
  }
  if !depthwise {
    guard g.filterInC > 0, g.inC % g.filterInC == 0, g.outC % (g.inC / g.filterInC) == 0 else {
      throw KernelError("\(g.outC) output channels do not split into groups of \(g.filterInC) input channels")
    }
  }
  let bias = try Bias16(c)
  if depthwise && bias == .i32 { throw KernelError("a 16x8 depthwise convolution needs an i64 bias") }
  let sIn = try c.scale16(c.x, "input")
  let sOut = try c.scale16(c.y, "result")
  let rq = KernelParams.perChannel(
    input: Quantization(scale: sIn, zeroPoint: 0), weights: wq, output: Quantization(scale: sOut, zeroPoint: 0),
    channels: g.outC)
  let (lo, hi) = try quantizedActivationRange(act, c.y)
  return { ins in
    let x = try ins[0].int16s()
    let f = try ins[1].int8s()
    let b = try bias.values(ins, count: g.outC)
    var out = [Int16](repeating: 0, count: g.batches * g.outH * g.outW * g.outC)
    var o = 0
    for n in 0..<g.batches {
      for oy in 0..<g.outH {
        let iy0 = oy * g.strideH - g.padTop
        for ox in 0..<g.outW {
          let ix0 = ox * g.strideW - g.padLeft
          for oc in 0..<g.outC {
            var acc: Int64 = 0
            for fy in 0..<g.filterH {
              let iy = iy0 + g.dilationH * fy
              if iy < 0 || iy >= g.inH { continue }
              for fx in 0..<g.filterW {
                let ix = ix0 + g.dilationW * fx
                if ix < 0 || ix >= g.inW { continue }
                let pixel = ((n * g.inH + iy) * g.inW + ix) * g.inC
                if let m = g.depthMultiplier {
                  acc += Int64(f[(fy * g.filterW + fx) * g.outC + oc]) * Int64(x[pixel + oc / m])
                } else {
                  let group = oc / (g.outC / (g.inC / g.filterInC))
                  let wb = ((oc * g.filterH + fy) * g.filterW + fx) * g.filterInC
                  let xb = pixel + group * g.filterInC
                  for ic in 0..<g.filterInC { acc += Int64(f[wb + ic]) * Int64(x[xb + ic]) }
                }
              }
            }
            let r = bias.requantize(acc, b[oc], rq[oc].multiplier, Int(rq[oc].shift))
            out[o] = clampToInt16(r, lo, hi)
            o += 1
          }
        }
      }
    }
    return [.i16(out)]
  }
}

/// FULLY_CONNECTED, 16x8 (reference_integer_ops::FullyConnected / FullyConnectedPerChannel
/// for int16): one multiplier for per-tensor weights (`double(float(s_in · s_w)) / s_out`),
/// one per output for per-channel weights.
func prepareFullyConnected16(_ c: OpContext, act: Activation) throws -> Kernel {
  let w = c.input(1)
  guard c.x.elementType == .i16, c.y.elementType == .i16, w.rank == 2 else {
    throw KernelError("a 16x8 fully connected needs i16 input and result and 2-D weights")
  }
  guard w.elementType == .i8, let wq = w.quantization, wq.zeroPoints.allSatisfy({ $0 == 0 }) else {
    throw KernelError("a 16x8 fully connected needs symmetric i8 weights")
  }
  let (units, depth) = (w.shape[0], w.shape[1])
  guard depth > 0, c.x.elementCount % depth == 0, wq.scales.count == 1 || wq.scales.count == units else {
    throw KernelError("weights \(w.shape) do not fit input \(c.x.shape)")
  }
  let rows = c.x.elementCount / depth
  let bias = try Bias16(c)
  let qIn = Quantization(scale: try c.scale16(c.x, "input"), zeroPoint: 0)
  let qOut = Quantization(scale: try c.scale16(c.y, "result"), zeroPoint: 0)
  let rq =
    wq.scales.count > 1
    ? KernelParams.perChannel(input: qIn, weights: wq, output: qOut, channels: units)
    : Array(repeating: KernelParams.fullyConnectedPerTensor(input: qIn, weights: wq, output: qOut), count: units)
  let (lo, hi) = try quantizedActivationRange(act, c.y)
  return { ins in
    let x = try ins[0].int16s()
    let f = try ins[1].int8s()
    let b = try bias.values(ins, count: units)
    var out = [Int16](repeating: 0, count: rows * units)
    for r in 0..<rows {
      for u in 0..<units {
        var acc: Int64 = 0
        for d in 0..<depth { acc += Int64(f[u * depth + d]) * Int64(x[r * depth + d]) }
        out[r * units + u] = clampToInt16(bias.requantize(acc, b[u], rq[u].multiplier, Int(rq[u].shift)), lo, hi)
      }
    }
    return [.i16(out)]
  }
}

/// AVERAGE_POOL_2D and MAX_POOL_2D on int16 (reference_integer_ops pooling): the window
/// clamped to the image, the average rounded half away from zero, no requantization.
func preparePool16(
  _ c: OpContext, window w: Window, filterH: Int, filterW: Int, act: Activation, max isMax: Bool
) throws -> Kernel {
  guard c.x.elementType == .i16, c.y.elementType == .i16, c.x.rank == 4 else {
    throw KernelError("int16 pooling needs 4-D i16 input and result")
  }
  guard c.x.quantization == c.y.quantization else {
    throw KernelError("int16 pooling needs the same quantization on input and result")
  }
  let (n, inH, inW, depth) = (c.x.shape[0], c.x.shape[1], c.x.shape[2], c.x.shape[3])
  let (outH, outW) = (c.y.shape[1], c.y.shape[2])
  let (lo, hi) = try quantizedActivationRange(act, c.y)
  return { ins in
    let x = try ins[0].int16s()
    var out = [Int16](repeating: 0, count: n * outH * outW * depth)
    var o = 0
    for b in 0..<n {
      for oy in 0..<outH {
        for ox in 0..<outW {
          let iy0 = oy * w.strideH - w.padding.top
          let ix0 = ox * w.strideW - w.padding.left
          let (fy0, fy1) = (Swift.max(0, -iy0), Swift.min(filterH, inH - iy0))
          let (fx0, fx1) = (Swift.max(0, -ix0), Swift.min(filterW, inW - ix0))
          guard fy0 < fy1, fx0 < fx1 else { throw KernelError("a pooling window lies entirely outside the input") }
          for ch in 0..<depth {
            var acc: Int32 = isMax ? Int32(Int16.min) : 0
            for fy in fy0..<fy1 {
              for fx in fx0..<fx1 {
                let v = Int32(x[((b * inH + iy0 + fy) * inW + ix0 + fx) * depth + ch])
                acc = isMax ? Swift.max(acc, v) : acc &+ v
              }
            }
            if !isMax {
              let count = Int32((fy1 - fy0) * (fx1 - fx0))
              acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count
            }
            out[o] = clampToInt16(acc, lo, hi)
            o += 1
          }
        }
      }
    }
    return [.i16(out)]
  }
}
