import TinyIR

/// MEAN. int8 as TFLM (checked against its goldens for a 4-D input reduced over H and W):
/// `sum(x) - zp_in · count` requantized by `s_in/s_out` with 1/count folded into the
/// multiplier (reference_ops::QuantizedMeanOrSum), plus `zp_out`. Reductions other than the
/// 4-D H,W case whose input and output share their quantization use TFLite's plain integer
/// mean (sum / count, C division). Float: sum in input order, divided by the count.
func prepareMean(_ c: OpContext, axes: [Int], keepDims: Bool) throws -> Kernel {
  let inShape = c.x.shape
  let outCount = c.y.elementCount
  let outIndexMap = reductionOutputIndex(inShape, axes: axes)
  let countInAxis = axes.reduce(1) { $0 * inShape[$1] }
  let specialCase = inShape.count == 4 && Set(axes) == [1, 2] && keepDims
  switch try c.numeric() {
  case .float:
    return { ins in
      let x = try ins[0].floats()
      var sum = [Float](repeating: 0, count: outCount)
      for i in 0..<x.count { sum[outIndexMap[i]] += x[i] }
      return [.f32(sum.map { $0 / Float(countInAxis) })]
    }
  case .int8:
    let (sIn, zpIn) = try c.quant(c.x, "input")
    let (sOut, zpOut) = try c.quant(c.y, "result")
    let r = c.y.elementType.integerRange
    let (qmin, qmax) = (Int32(r.lowerBound), Int32(r.upperBound))
    let n = Int32(truncatingIfNeeded: countInAxis)
    let plainMean = !specialCase && sIn == sOut && zpIn == zpOut
    let (m, sh) = meanMultiplier(Double(sIn) / Double(sOut), count: countInAxis)
    return { ins in
      let x = try ins[0].int8s()
      var sum = [Int32](repeating: 0, count: outCount)
      for i in 0..<x.count { sum[outIndexMap[i]] = sum[outIndexMap[i]] &+ Int32(x[i]) }
      if plainMean {
        return [.i8(sum.map { Int8(truncatingIfNeeded: $0 / n) })]
      }
      return [
        .i8(
          sum.map { s in
            let shifted = s &- zpIn &* n
            return clampToInt8(QuantMath.multiplyByQuantizedMultiplier(shifted, m, sh) &+ zpOut, qmin, qmax)
          })
      ]
    }
  }
}

/// The multiplier of `real / count`: TFLite quantizes `real`, then folds 1/count into the
/// multiplier with up to 32 extra bits of shift (reference_ops::QuantizedMeanOrSum).
func meanMultiplier(_ real: Double, count: Int) -> (Int32, Int) {
  var (m, sh) = QuantMath.quantizeMultiplier(real)
  var shift = 63 - UInt64(max(count, 1)).leadingZeroBitCount
  shift = min(shift, 32)
  shift = min(shift, 31 + sh)
  m = Int32(truncatingIfNeeded: (Int64(m) << Int64(shift)) / Int64(max(count, 1)))
  sh -= shift
  return (m, sh)
}

/// The output position of every input element of a reduction over `axes` (int8, int16 and
/// float MEAN share it).
func reductionOutputIndex(_ inShape: [Int], axes: [Int]) -> [Int] {
  var reducedShape = inShape
  for a in axes { reducedShape[a] = 1 }
  let reducedStrides = strides(of: reducedShape)
  var outIndex = [Int](repeating: 0, count: inShape.reduce(1, *))
  forEachIndex(inShape) { idx, flat in
    var o = 0
    for d in 0..<idx.count where !axes.contains(d) { o += idx[d] * reducedStrides[d] }
    outIndex[flat] = o
  }
  return outIndex
}
