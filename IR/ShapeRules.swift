/// The shape rule of every op: from operand shapes to result shapes, or an error that says
/// which constraint fails. The verifier checks each op's declared result types against it.
extension OpKind {
  /// The allowed operand counts.
  public var operandCounts: ClosedRange<Int> {
    switch self {
    case .conv2d, .depthwiseConv2d, .fullyConnected: return 2...3
    case .add, .sub, .mul, .div, .prelu: return 2...2
    case .concat: return 1...Int.max
    case .batchNorm: return 5...5
    default: return 1...1
    }
  }

  public func resultShapes(_ s: [[Int]]) throws(IRError) -> [[Int]] {
    guard operandCounts.contains(s.count) else {
      throw IRError("\(mnemonic) takes \(operandCounts.lowerBound)...\(operandCounts.upperBound) operands, got \(s.count)")
    }
    let x = s[0]
    func need(_ ok: Bool, _ what: @autoclosure () -> String) throws(IRError) {
      if !ok { throw IRError("\(mnemonic): \(what())") }
    }
    switch self {
    case .conv2d(let w, _), .depthwiseConv2d(let w, _, _):
      let f = s[1]
      try need(x.count == 4 && f.count == 4, "input and weights must be 4-D (NHWC, OHWI)")
      try need(w.strideH > 0 && w.strideW > 0 && w.dilationH > 0 && w.dilationW > 0, "strides and dilations must be positive")
      var outC = f[0]
      if case .depthwiseConv2d(_, let m, _) = self {
        try need(f[0] == 1 && m > 0 && f[3] == x[3] * m, "depthwise weights must be 1xHxWx(C*multiplier)")
        outC = f[3]
      } else {
        try need(f[3] > 0 && x[3] % f[3] == 0, "weights' input channels \(f[3]) do not divide input channels \(x[3])")
      }
      if s.count == 3 { try need(s[2] == [outC], "bias must be [\(outC)], got \(s[2])") }
      let (oh, ow) = w.outputSize(inH: x[1], inW: x[2], filterH: f[1], filterW: f[2])
      try need(oh > 0 && ow > 0, "output would be empty")
      return [[x[0], oh, ow, outC]]
    case .fullyConnected(_, let keep):
      let f = s[1]
      try need(f.count == 2 && f[1] > 0, "weights must be [out, in]")
      let n = x.reduce(1, *)
      try need(n % f[1] == 0, "input size \(n) is not a multiple of \(f[1])")
      if s.count == 3 { try need(s[2] == [f[0]], "bias must be [\(f[0])]") }
      if keep { return [Array(x.dropLast()) + [f[0]]] }
      return [[n / f[1], f[0]]]
    case .averagePool2d(let w, let fh, let fw, _), .maxPool2d(let w, let fh, let fw, _):
      try need(x.count == 4 && fh > 0 && fw > 0 && w.strideH > 0 && w.strideW > 0, "input must be NHWC, filter and stride positive")
      let (oh, ow) = w.outputSize(inH: x[1], inW: x[2], filterH: fh, filterW: fw)
      try need(oh > 0 && ow > 0, "output would be empty")
      return [[x[0], oh, ow, x[3]]]
    case .reshape(let shape):
      try need(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == x.reduce(1, *), "cannot reshape \(x) to \(shape)")
      return [shape]
    case .softmax, .logSoftmax, .quantize, .dequantize, .logistic, .tanh, .relu, .relu6, .clip, .leakyRelu,
      .hardSwish, .hardSigmoid:
      return [x]
    case .add, .sub, .mul, .div, .prelu:
      return [try broadcast(x, s[1])]
    case .concat(let axis, _):
      try need(axis >= 0 && axis < x.count, "axis \(axis) out of range")
      var out = x
      out[axis] = 0
      for t in s {
        var a = t
        try need(a.count == x.count, "operands must have the same rank")
        out[axis] += a[axis]
        a[axis] = x[axis]
        try need(a == x, "operand shapes differ outside the axis")
      }
      return [out]
    case .pad(let p):
      try need(p.count == 2 * x.count && p.allSatisfy { $0 >= 0 }, "paddings must be 2 non-negative numbers per dimension")
      return [x.indices.map { x[$0] + p[2 * $0] + p[2 * $0 + 1] }]
    case .mean(let axes, let keep):
      try need(axes.allSatisfy { $0 >= 0 && $0 < x.count } && Set(axes).count == axes.count, "bad axes \(axes)")
      if keep { return [x.indices.map { axes.contains($0) ? 1 : x[$0] }] }
      return [x.indices.filter { !axes.contains($0) }.map { x[$0] }]
    case .transpose(let perm):
      try need(perm.sorted() == Array(0..<x.count), "perm \(perm) is not a permutation of 0..<\(x.count)")
      return [perm.map { x[$0] }]
    case .stridedSlice(let b, let e, let st):
      try need(b.count == x.count && e.count == x.count && st.count == x.count, "begin/end/strides need one entry per dimension")
      var out: [Int] = []
      for d in x.indices {
        try need(st[d] != 0, "stride 0")
        let n = st[d] > 0 ? (e[d] - b[d] + st[d] - 1) / st[d] : (b[d] - e[d] - st[d] - 1) / -st[d]
        try need(b[d] >= -1 && b[d] <= x[d] && e[d] >= -1 && e[d] <= x[d], "slice out of bounds in dimension \(d)")
        out.append(max(n, 0))
      }
      return [out]
    case .batchNorm:
      let c = x.last ?? 0
      try need(s[1...].allSatisfy { $0 == [c] }, "scale, bias, mean and variance must be [\(c)]")
      return [x]
    }
  }

  private func broadcast(_ a: [Int], _ b: [Int]) throws(IRError) -> [Int] {
    let n = max(a.count, b.count)
    let pa = Array(repeating: 1, count: n - a.count) + a
    let pb = Array(repeating: 1, count: n - b.count) + b
    var out: [Int] = []
    for i in 0..<n {
      guard pa[i] == pb[i] || pa[i] == 1 || pb[i] == 1 else {
        throw IRError("\(mnemonic): shapes \(a) and \(b) do not broadcast")
      }
      out.append(max(pa[i], pb[i]))
    }
    return out
  }
}
