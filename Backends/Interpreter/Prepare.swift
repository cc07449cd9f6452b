import TinyIR

/// Picks the kernel for an op and computes its parameters once (TFLM's Prepare).
func prepareKernel(_ c: OpContext) throws -> Kernel {
  if let kernel = try prepareInt16(c) { return kernel }
  switch c.op.kind {
  case .conv2d(let w, let act):
    return try prepareConv(c, window: w, depthMultiplier: nil, act: act)
  case .depthwiseConv2d(let w, let m, let act):
    return try prepareConv(c, window: w, depthMultiplier: m, act: act)
  case .fullyConnected(let act, _):
    return try prepareFullyConnected(c, act: act)
  case .averagePool2d(let w, let fh, let fw, let act):
    return try preparePool(c, window: w, filterH: fh, filterW: fw, act: act, max: false)
  case .maxPool2d(let w, let fh, let fw, let act):
    return try preparePool(c, window: w, filterH: fh, filterW: fw, act: act, max: true)
  case .reshape:
    return { $0 }
  case .softmax(let beta):
    return try prepareSoftmax(c, beta: beta)
  case .logSoftmax:
    return try prepareLogSoftmax(c)
  case .add(let act):
    return try prepareAddSub(c, act: act, subtract: false)
  case .sub(let act):
    return try prepareAddSub(c, act: act, subtract: true)
  case .mul(let act):
    return try prepareMul(c, act: act)
  case .div(let act):
    return try prepareDiv(c, act: act)
  case .concat(let axis, let act):
    return try prepareConcat(c, axis: axis, act: act)
  case .pad(let paddings):
    return try preparePad(c, paddings: paddings)
  case .mean(let axes, let keepDims):
    return try prepareMean(c, axes: axes, keepDims: keepDims)
  case .quantize:
    return try prepareQuantize(c)
  case .dequantize:
    return try prepareDequantize(c)
  case .logistic:
    return try prepareLogistic(c)
  case .tanh:
    return try prepareTanh(c)
  case .relu:
    return try prepareReluLike(c, min: 0, max: .infinity)
  case .relu6:
    return try prepareRelu6(c)
  case .clip(let lo, let hi):
    return try prepareReluLike(c, min: lo, max: hi)
  case .leakyRelu(let alpha):
    return try prepareLeakyRelu(c, alpha: alpha)
  case .hardSwish:
    return try prepareHardSwish(c)
  case .transpose(let perm):
    return try prepareTranspose(c, perm: perm)
  case .stridedSlice(let begin, let end, let strides):
    return try prepareStridedSlice(c, begin: begin, end: end, strides: strides)
  case .batchNorm(let eps):
    return try prepareBatchNorm(c, epsilon: eps)
  case .prelu:
    return try preparePrelu(c)
  case .hardSigmoid(let alpha, let beta):
    return try prepareHardSigmoid(c, alpha: alpha, beta: beta)
  }
}

// MARK: shared helpers

/// Kinds of element arithmetic a kernel runs in.
enum Numeric {
  case float
  /// Quantized integers stored as `Int8` (i8, i4, i2).
  case int8
}

extension OpContext {
  /// float when the first operand and result are f32; int8 when both are quantized 8-bit (or
  /// narrower) integers; an error otherwise.
  func numeric() throws -> Numeric {
    let (a, b) = (x, y)
    if a.elementType == .f32 && b.elementType == .f32 { return .float }
    if a.elementType.isStoredAsInt8 && b.elementType.isStoredAsInt8 {
      guard a.quantization != nil, b.quantization != nil else {
        throw KernelError("integer operand and result must be quantized")
      }
      return .int8
    }
    throw KernelError(
      "unsupported element types \(a.elementType.rawValue) -> \(b.elementType.rawValue)")
  }

  /// Per-tensor scale and zero point of a quantized type.
  func quant(_ t: TensorType, _ what: String) throws -> (scale: Float, zeroPoint: Int32) {
    guard let q = t.quantization else { throw KernelError("\(what) is not quantized") }
    guard !q.isPerAxis || q.scales.count == 1 else {
      throw KernelError("\(what) must be quantized per tensor")
    }
    return (q.scale, Int32(q.zeroPoint))
  }
}

extension ElementType {
  var isStoredAsInt8: Bool { self == .i8 || self == .i4 || self == .i2 }
}

/// TFLite's round-half-away-from-zero of a float, converted to Int32 with saturation.
@inline(__always) func roundToInt32(_ x: Float) -> Int32 {
  let r = x.rounded(.toNearestOrAwayFromZero)
  if r.isNaN { return 0 }
  if r >= 2_147_483_648 { return Int32.max }
  if r <= -2_147_483_648 { return Int32.min }
  return Int32(r)
}

/// TFLM's CalculateActivationRangeQuantized: the fused activation's bounds quantized with the
/// output's scale and zero point (`zp + round(f / scale)` in float), within the output type.
func quantizedActivationRange(_ act: Activation, _ out: TensorType) throws -> (Int32, Int32) {
  let range = out.elementType.integerRange
  let qmin = Int32(range.lowerBound)
  let qmax = Int32(range.upperBound)
  guard let q = out.quantization else { throw KernelError("result is not quantized") }
  let scale = q.scale
  let zp = Int32(q.zeroPoint)
  func quantize(_ f: Float) -> Int32 { zp &+ roundToInt32(f / scale) }
  switch act {
  case .none: return (qmin, qmax)
  case .relu: return (max(qmin, quantize(0)), qmax)
  case .relu6: return (max(qmin, quantize(0)), min(qmax, quantize(6)))
  case .reluN1To1: return (max(qmin, quantize(-1)), min(qmax, quantize(1)))
  case .clip(let lo, let hi):
    let a = lo.isFinite ? max(qmin, quantize(lo)) : (lo > 0 ? qmax : qmin)
    let b = hi.isFinite ? min(qmax, quantize(hi)) : (hi > 0 ? qmax : qmin)
    return (a, b)
  }
}

/// TFLite's CalculateActivationRange for float kernels.
func floatActivationRange(_ act: Activation) -> (Float, Float) {
  switch act {
  case .none: return (-Float.greatestFiniteMagnitude, Float.greatestFiniteMagnitude)
  case .relu: return (0, Float.greatestFiniteMagnitude)
  case .relu6: return (0, 6)
  case .reluN1To1: return (-1, 1)
  case .clip(let lo, let hi): return (lo, hi)
  }
}

@inline(__always) func clampFloat(_ v: Float, _ lo: Float, _ hi: Float) -> Float {
  min(max(v, lo), hi)
}

@inline(__always) func clampToInt8(_ v: Int32, _ lo: Int32, _ hi: Int32) -> Int8 {
  Int8(truncatingIfNeeded: min(max(v, lo), hi))
}

/// Row-major strides of a shape.
func strides(of shape: [Int]) -> [Int] {
  var s = [Int](repeating: 1, count: shape.count)
  var acc = 1
  for d in stride(from: shape.count - 1, through: 0, by: -1) {
    s[d] = acc
    acc *= shape[d]
  }
  return s
}

/// Calls `body` with every multi-index of `shape` in row-major order and its flat position.
func forEachIndex(_ shape: [Int], _ body: ([Int], Int) -> Void) {
  let n = shape.reduce(1, *)
  if n == 0 { return }
  var idx = [Int](repeating: 0, count: shape.count)
  for flat in 0..<n {
    body(idx, flat)
    var d = shape.count - 1
    while d >= 0 {
      idx[d] += 1
      if idx[d] < shape[d] { break }
      idx[d] = 0
      d -= 1
    }
  }
}

/// For each element of `outShape`, the flat index of the element of `inShape` it reads
/// under numpy broadcasting (shapes aligned at the right).
func broadcastIndexMap(from inShape: [Int], to outShape: [Int]) -> [Int] {
  let rank = outShape.count
  let padded = [Int](repeating: 1, count: rank - inShape.count) + inShape
  let inStrides = strides(of: padded)
  var map = [Int](repeating: 0, count: outShape.reduce(1, *))
  forEachIndex(outShape) { idx, flat in
    var o = 0
    for d in 0..<rank where padded[d] != 1 { o += idx[d] * inStrides[d] }
    map[flat] = o
  }
  return map
}

/// Gathers `indices` from an array (`-1` gives `fill`).
func gather<T>(_ a: [T], _ indices: [Int], fill: T) -> [T] {
  a.withUnsafeBufferPointer { src in
    indices.map { $0 < 0 ? fill : src[$0] }
  }
}

/// Applies an index map to any storage (a data-movement op's whole work).
func gatherStorage(_ s: Storage, _ indices: [Int], fillInt8: Int8 = 0, fillFloat: Float = 0) -> Storage {
  switch s {
  case .i8(let a): return .i8(gather(a, indices, fill: fillInt8))
  case .i16(let a): return .i16(gather(a, indices, fill: 0))
  case .i64(let a): return .i64(gather(a, indices, fill: 0))
  case .i32(let a): return .i32(gather(a, indices, fill: 0))
  case .f32(let a): return .f32(gather(a, indices, fill: fillFloat))
  }
}
