import TinyIR

/// TRANSPOSE: output index i reads input index perm-applied (precomputed gather).
func prepareTranspose(_ c: OpContext, perm: [Int]) throws -> Kernel {
  let inStrides = strides(of: c.x.shape)
  var map = [Int](repeating: 0, count: c.y.elementCount)
  forEachIndex(c.y.shape) { idx, flat in
    var o = 0
    for d in 0..<perm.count { o += idx[d] * inStrides[perm[d]] }
    map[flat] = o
  }
  return { [map] ins in [gatherStorage(ins[0], map)] }
}

/// STRIDED_SLICE with normalized begin/end/strides: element i along dimension d reads
/// `begin[d] + i·strides[d]`.
func prepareStridedSlice(_ c: OpContext, begin: [Int], end: [Int], strides st: [Int]) throws -> Kernel {
  let inStrides = strides(of: c.x.shape)
  var map = [Int](repeating: 0, count: c.y.elementCount)
  var bad = false
  forEachIndex(c.y.shape) { idx, flat in
    var o = 0
    for d in 0..<idx.count {
      let i = begin[d] + idx[d] * st[d]
      if i < 0 || i >= c.x.shape[d] { bad = true }
      o += i * inStrides[d]
    }
    map[flat] = o
  }
  if bad { throw KernelError("slice reads outside its operand") }
  return { [map] ins in [gatherStorage(ins[0], map)] }
}

/// PAD with the real value 0: the zero point for quantized tensors, 0.0 for floats.
func preparePad(_ c: OpContext, paddings: [Int]) throws -> Kernel {
  let inShape = c.x.shape
  let inStrides = strides(of: inShape)
  var map = [Int](repeating: -1, count: c.y.elementCount)
  forEachIndex(c.y.shape) { idx, flat in
    var o = 0
    for d in 0..<idx.count {
      let i = idx[d] - paddings[2 * d]
      if i < 0 || i >= inShape[d] { return }
      o += i * inStrides[d]
    }
    map[flat] = o
  }
  let fill = Int8(truncatingIfNeeded: c.y.quantization?.zeroPoint ?? 0)
  return { [map] ins in [gatherStorage(ins[0], map, fillInt8: fill)] }
}

/// CONCATENATION. As TFLM, a copy when every input has the output's quantization; an input
/// quantized differently is requantized as TFLite's ConcatenationWithScaling does
/// (`round(x · s_in/s_out - zp_in · s_in/s_out) + zp_out`, in float).
func prepareConcat(_ c: OpContext, axis: Int, act: Activation) throws -> Kernel {
  let outShape = c.y.shape
  let outer = outShape[..<axis].reduce(1, *)
  let inner = outShape[(axis + 1)...].reduce(1, *)
  let sizes = c.inputTypes.map { $0.shape[axis] * inner }
  let total = c.y.elementCount
  switch try c.numeric() {
  case .float:
    guard c.inputTypes.allSatisfy({ $0.elementType == .f32 }) else { throw KernelError("all operands must be f32") }
    let (lo, hi) = floatActivationRange(act)
    let needsClamp = act != .none
    return { ins in
      var out: [Float] = []
      out.reserveCapacity(total)
      let parts = try ins.map { try $0.floats() }
      for o in 0..<outer {
        for (k, p) in parts.enumerated() { out += p[(o * sizes[k])..<((o + 1) * sizes[k])] }
      }
      return [.f32(needsClamp ? out.map { clampFloat($0, lo, hi) } : out)]
    }
  case .int8:
    guard c.inputTypes.allSatisfy({ $0.elementType.isStoredAsInt8 && $0.quantization != nil }) else {
      throw KernelError("all operands must be quantized integers")
    }
    let (sOut, zpOut) = try c.quant(c.y, "result")
    let (lo, hi) = try quantizedActivationRange(act, c.y)
    let inverseOutputScale = 1 / sOut
    var rescale: [(Float, Float)?] = []
    for t in c.inputTypes {
      let (s, zp) = try c.quant(t, "operand")
      if s == sOut && zp == zpOut {
        rescale.append(nil)
      } else {
        let scale = s * inverseOutputScale
        rescale.append((scale, -Float(zp) * scale))
      }
    }
    let requant = rescale
    return { ins in
      var out: [Int8] = []
      out.reserveCapacity(total)
      let parts = try ins.map { try $0.int8s() }
      for o in 0..<outer {
        for (k, p) in parts.enumerated() {
          let slice = p[(o * sizes[k])..<((o + 1) * sizes[k])]
          if let (scale, bias) = requant[k] {
            out += slice.map { v in clampToInt8(roundToInt32(Float(v) * scale + bias) &+ zpOut, lo, hi) }
          } else {
            out += slice.map { clampToInt8(Int32($0), lo, hi) }
          }
        }
      }
      return [.i8(out)]
    }
  }
}
