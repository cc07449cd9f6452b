import TinyIR

/// How `mixed-precision` moves a tensor to another width. Always from the tensor's values in
/// the graph the pass started from (its real values `scale · (q − zero point)`), never from an
/// intermediate width, so that 8 → 4 → 2 loses no more than 8 → 2.
enum Requantize {
  /// The integer type of a width.
  static func type(bits: Int) -> ElementType {
    switch bits {
    case 2: return .i2
    case 4: return .i4
    default: return .i8
    }
  }

  /// An activation at `bits` covering the same real range as `t` (per tensor): the scale grows
  /// by (2^b − 1)/(2^bits − 1) and the zero point moves so that the range's ends stay put. An
  /// int8 tensor after a ReLU (zero point −128, real range [0, 255·s]) becomes zero point −8
  /// (int4) or −2 (int2): the unsigned 0…15 / 0…3 levels on the signed type.
  static func activation(_ t: TensorType, bits: Int) -> TensorType {
    guard let q = t.quantization, t.elementType.bits != bits else { return t }
    let from = t.elementType.integerRange
    let to = type(bits: bits)
    let lo = Double(q.scale) * Double(from.lowerBound - q.zeroPoint)
    let hi = Double(q.scale) * Double(from.upperBound - q.zeroPoint)
    let scale = (hi - lo) / Double(to.integerRange.upperBound - to.integerRange.lowerBound)
    let zp = (Double(to.integerRange.lowerBound) - lo / scale).rounded()
    let zero = min(max(Int(zp), to.integerRange.lowerBound), to.integerRange.upperBound)
    return TensorType(t.shape, to, Quantization(scale: Float(scale), zeroPoint: zero))
  }

  /// Weights at `bits`, symmetric per output channel (zero point 0, per-axis on `axis`), from the
  /// real values of `t`/`bytes`. The grid is narrow and symmetric: ±7 for int4 (−8 unused, as
  /// TFLite's and CMSIS-NN's int4 weights), and ternary −1, 0, +1 for int2: with the zero point
  /// fixed at 0 a fourth level could only be −2, which would give negative weights twice the
  /// reach of positive ones; the ternary grid keeps the sign symmetric and zero exact. The scale
  /// of each channel minimizes the squared error over scales from 0.2 to 1 times max|w|/q_max
  /// (for ternary weights max|w| alone rounds everything under half the largest to 0; for int4
  /// the search clips a few outliers at most).
  static func weights(_ t: TensorType, _ bytes: [UInt8], axis: Int, bits: Int) -> (TensorType, [UInt8]) {
    let q = t.quantization ?? Quantization(scale: 1, zeroPoint: 0)
    let ints = NDArray(shape: t.shape, elementType: t.elementType, bytes: bytes).integers
    let channels = t.shape[axis]
    let inner = t.shape[(axis + 1)...].reduce(1, *)
    func channel(_ k: Int) -> Int { (k / inner) % channels }
    var real = [Double](repeating: 0, count: ints.count)
    var members = [[Int]](repeating: [], count: channels)
    for k in ints.indices {
      let c = channel(k)
      let s = q.isPerAxis ? q.scales[c] : q.scale
      let z = q.isPerAxis ? q.zeroPoints[c] : q.zeroPoint
      real[k] = Double(s) * Double(ints[k] - z)
      members[c].append(k)
    }
    let qmax = (1 << (bits - 1)) - 1
    var scales = [Float](repeating: 1, count: channels)
    var out = [Int](repeating: 0, count: ints.count)
    for c in 0..<channels {
      let m = members[c].reduce(0.0) { max($0, abs(real[$1])) }
      guard m > 0 else {
        // An all-zero channel: any scale gives zeros; keep the one it had.
        scales[c] = q.isPerAxis ? q.scales[c] : q.scale
        continue
      }
      var best = (error: Double.infinity, scale: m / Double(qmax))
      for step in 0...32 {
        let s = m / Double(qmax) * (1 - Double(step) * 0.025)
        var e = 0.0
        for k in members[c] {
          let v = min(max((real[k] / s).rounded(), Double(-qmax)), Double(qmax))
          e += (v * s - real[k]) * (v * s - real[k])
        }
        if e < best.error { best = (e, s) }
      }
      let s = Float(best.scale)
      guard s > 0, s.isFinite else { continue }
      scales[c] = s
      for k in members[c] {
        out[k] = Int(min(max((real[k] / Double(s)).rounded(), Double(-qmax)), Double(qmax)))
      }
    }
    let nt = TensorType(
      t.shape, type(bits: bits), Quantization(scales: scales, zeroPoints: Array(repeating: 0, count: channels), axis: axis))
    return (nt, NDArray.pack(out, as: nt.elementType, shape: t.shape).bytes)
  }

  /// An int32 bias for new input and weight scales: the same real value `B·S_x·S_w[c]`,
  /// rounded on the new grid `S_x'·S_w'[c]` (saturated to int32).
  static func bias(
    _ b: [Int], oldInput: Quantization, oldWeights: Quantization, newInput: Quantization, newWeights: Quantization
  ) -> [Int] {
    b.indices.map { c in
      let sw0 = Double(oldWeights.isPerAxis ? oldWeights.scales[c] : oldWeights.scale)
      let sw1 = Double(newWeights.isPerAxis ? newWeights.scales[c] : newWeights.scale)
      let v = (Double(b[c]) * Double(oldInput.scale) * sw0 / (Double(newInput.scale) * sw1)).rounded()
      return Int(min(max(v, Double(Int32.min)), Double(Int32.max)))
    }
  }

  /// The bias's own quantization after the change (scale `S_x·S_w[c]`), when it had one.
  static func biasQuantization(_ old: Quantization?, input: Quantization, weights: Quantization, channels: Int)
    -> Quantization?
  {
    guard old != nil else { return nil }
    if weights.isPerAxis || channels > 1 && old?.isPerAxis == true {
      let s = (0..<channels).map { c in input.scale * (weights.isPerAxis ? weights.scales[c] : weights.scale) }
      return Quantization(scales: s, zeroPoints: Array(repeating: 0, count: channels), axis: 0)
    }
    return Quantization(scale: input.scale * weights.scale, zeroPoint: 0)
  }
}
