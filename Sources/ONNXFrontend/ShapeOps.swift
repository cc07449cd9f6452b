import TinyIR

extension Importer {
  func constantOp() throws {
    let out = try output()
    if let a = attr("value") {
      do {
        entries[out] = .constant(try ONNXTensor.decode(a.t, what: "constant value", resolver: resolver))
      } catch {
        throw fail(error.text)
      }
    } else if let a = attr("value_float") {
      entries[out] = .constant(.float([], [a.f]))
    } else if let a = attr("value_floats") {
      entries[out] = .constant(.float([a.floats.count], a.floats))
    } else if let a = attr("value_int") {
      entries[out] = .constant(.int64([], [Int(a.i)]))
    } else if let a = attr("value_ints") {
      entries[out] = .constant(.int64([a.ints.count], a.ints.map { Int($0) }))
    } else {
      throw fail("only tensor, float(s) and int(s) constants are supported")
    }
  }

  /// Integer values of a constant input (shape arguments).
  func intList(_ name: String, _ what: String) throws -> [Int] {
    let t = try requireConstant(name, what)
    guard !t.dataType.isFloat else { throw fail("\(what) must be integers") }
    return t.ints
  }

  /// Source flat indices of a strided window of a row-major tensor.
  func windowIndices(_ shape: [Int], begin: [Int], strides: [Int], out: [Int]) -> [Int] {
    let n = shape.count
    var st = [Int](repeating: 1, count: n)
    if n > 1 { for i in stride(from: n - 2, through: 0, by: -1) { st[i] = st[i + 1] * shape[i + 1] } }
    let total = out.reduce(1, *)
    var idx = [Int](repeating: 0, count: n)
    var r: [Int] = []
    r.reserveCapacity(total)
    for _ in 0..<total {
      var off = 0
      for d in 0..<n { off += (begin[d] + idx[d] * strides[d]) * st[d] }
      r.append(off)
      var d = n - 1
      while d >= 0 {
        idx[d] += 1
        if idx[d] < out[d] { break }
        idx[d] = 0
        d -= 1
      }
    }
    return r
  }

  func pick(_ t: ONNXTensor, _ idx: [Int], shape: [Int]) -> ONNXTensor {
    var r = t
    r.shape = shape
    if t.dataType.isFloat { r.floats = idx.map { t.floats[$0] } } else { r.ints = idx.map { t.ints[$0] } }
    return r
  }

  func concat() throws {
    let names = node.input.filter { !$0.isEmpty }
    guard !names.isEmpty else { throw fail("Concat needs inputs") }
    let es = try names.map { try entry($0) }
    let rank = shapeOf(es[0]).count
    let axis = try normAxis(try int("axis", opset < 4 ? 1 : Int.min), rank: rank)
    for e in es {
      let s = shapeOf(e)
      guard s.count == rank else { throw fail("inputs must have the same rank") }
      for d in 0..<rank where d != axis && s[d] != shapeOf(es[0])[d] { throw fail("input shapes differ outside the axis") }
    }
    let out = try output()
    let consts = names.compactMap { constant($0) }
    if consts.count == names.count {
      // Fold (shape arithmetic).
      let outer = shapeOf(es[0])[..<axis].reduce(1, *)
      var shape = shapeOf(es[0])
      shape[axis] = consts.reduce(0) { $0 + $1.shape[axis] }
      guard shape.reduce(1, *) <= 1 << 22 else { throw fail("constant too large to fold") }
      var r = ONNXTensor(dataType: consts[0].dataType, shape: shape)
      for o in 0..<outer {
        for c in consts {
          let chunk = c.shape[axis...].reduce(1, *)
          if c.dataType.isFloat != r.dataType.isFloat { throw fail("inputs have different types") }
          if c.dataType.isFloat { r.floats += c.floats[(o * chunk)..<((o + 1) * chunk)] } else { r.ints += c.ints[(o * chunk)..<((o + 1) * chunk)] }
        }
      }
      entries[out] = .constant(r)
      return
    }
    var nhwc = false
    for e in es { if case .value(let v) = e, v.layout == .nhwc { nhwc = true } }
    var ids: [ValueID] = []
    for (n, e) in zip(names, es) {
      if nhwc {
        if case .value(let v) = e { ids.append(try toNHWC(v).id) } else { ids.append(try weight(n, perm: nhwcPerm)) }
      } else {
        ids.append(try toPlain(try value(n)).id)
      }
    }
    let et = g.type(of: ids[0]).elementType
    guard ids.allSatisfy({ g.type(of: $0).elementType == et }) else { throw fail("inputs have different element types") }
    let pa = nhwc ? (nhwcPerm.firstIndex(of: axis) ?? axis) : axis
    let id = try emitLike(.concat(axis: pa, .none), ids, from: ids[0], name: out)
    var shape = shapeOf(es[0])
    shape[axis] = es.reduce(0) { $0 + shapeOf($1)[axis] }
    define(out, RValue(id: id, shape: shape, layout: nhwc ? .nhwc : .plain))
  }

  /// Defines the output as the input with another logical shape (folding constants).
  func defineReshaped(_ xn: String, _ shape: [Int]) throws {
    let out = try output()
    try checkShape(shape, "result")
    switch try entry(xn) {
    case .constant(let t): entries[out] = .constant(t.reshaped(shape))
    case .dq(var d) where d.axis == nil:
      d.data = d.data.reshaped(shape)
      entries[out] = .dq(d)
    default:
      define(out, try reshapeTo(try value(xn), shape, name: out))
    }
  }

  func reshape() throws {
    let xn = try requireInput(0)
    let inShape = shapeOf(try entry(xn))
    let spec: [Int]
    if opset < 5 {
      guard let s = try ints("shape") else { throw fail("attribute 'shape' is missing") }
      spec = s
    } else {
      spec = try intList(try requireInput(1), "shape")
    }
    let allowZero = try int("allowzero", 0) != 0
    var shape: [Int] = []
    var inferAt: Int?
    for (i, d) in spec.enumerated() {
      if d == 0 {
        guard !allowZero else { throw fail("zero-size tensors are not supported") }
        guard i < inShape.count else { throw fail("shape \(spec) copies dimension \(i), which the input lacks") }
        shape.append(inShape[i])
      } else if d == -1 {
        guard inferAt == nil else { throw fail("shape \(spec) has more than one -1") }
        inferAt = i
        shape.append(1)
      } else {
        guard d > 0 && d <= Verifier.maxElements else { throw fail("bad dimension \(d) in shape \(spec)") }
        shape.append(d)
      }
    }
    let total = inShape.reduce(1, *)
    var known = 1
    for (i, d) in shape.enumerated() where i != inferAt {
      let (m, o) = known.multipliedReportingOverflow(by: d)
      guard !o, m <= Verifier.maxElements else { throw fail("shape \(spec) is too large") }
      known = m
    }
    if let i = inferAt {
      guard known > 0, total % known == 0 else { throw fail("cannot infer -1 in \(spec) for \(total) elements") }
      shape[i] = total / known
    }
    guard shape.reduce(1, *) == total else { throw fail("cannot reshape \(inShape) to \(spec)") }
    try defineReshaped(xn, shape)
  }

  func flatten() throws {
    let xn = try requireInput(0)
    let s = shapeOf(try entry(xn))
    let a = try int("axis", 1)
    let axis = a < 0 ? a + s.count : a
    guard axis >= 0 && axis <= s.count else { throw fail("axis \(a) is out of range") }
    try defineReshaped(xn, [s[..<axis].reduce(1, *), s[axis...].reduce(1, *)])
  }

  func transpose() throws {
    let xn = try requireInput(0)
    let e = try entry(xn)
    let s = shapeOf(e)
    let perm = try ints("perm") ?? Array((0..<s.count).reversed())
    guard perm.sorted() == Array(0..<s.count) else { throw fail("perm \(perm) is not a permutation of 0..<\(s.count)") }
    let out = try output()
    let outShape = perm.map { s[$0] }
    if case .constant(let t) = e { return entries[out] = .constant(t.transposed(perm)) }
    let v = try value(xn)
    let identity = Array(0..<s.count)
    let p = v.layout == .nhwc ? nhwcPerm : identity
    var inv = [Int](repeating: 0, count: perm.count)
    for (i, t) in perm.enumerated() { inv[t] = i }
    // The input's bytes, read as the output: output dim order that the data already has.
    let aliased = p.map { inv[$0] }
    if aliased == identity { return define(out, RValue(id: v.id, shape: outShape, layout: .plain)) }
    if s.count == 4 && aliased == nhwcPerm { return define(out, RValue(id: v.id, shape: outShape, layout: .nhwc)) }
    var pinv = [Int](repeating: 0, count: p.count)
    for (i, t) in p.enumerated() { pinv[t] = i }
    let physPerm = perm.map { pinv[$0] }
    let id = try emitLike(.transpose(perm: physPerm), [v.id], from: v.id, name: out)
    define(out, RValue(id: id, shape: outShape, layout: .plain))
  }

  func squeeze(unsqueeze: Bool) throws {
    let xn = try requireInput(0)
    let s = shapeOf(try entry(xn))
    var axes: [Int]?
    if opset < 13 { axes = try ints("axes") } else if let an = input(1) { axes = try intList(an, "axes") }
    if unsqueeze {
      guard let axes, !axes.isEmpty else { throw fail("Unsqueeze needs axes") }
      let rank = s.count + axes.count
      let norm = try axes.map { try normAxis($0, rank: rank) }
      guard Set(norm).count == norm.count else { throw fail("repeated axes") }
      var shape: [Int] = []
      var src = s.makeIterator()
      for i in 0..<rank {
        if norm.contains(i) {
          shape.append(1)
        } else if let d = src.next() {
          shape.append(d)
        }
      }
      try defineReshaped(xn, shape)
    } else {
      let norm = try (axes ?? s.indices.filter { s[$0] == 1 }).map { try normAxis($0, rank: s.count) }
      for a in norm where s[a] != 1 { throw fail("cannot squeeze axis \(a) of size \(s[a])") }
      try defineReshaped(xn, s.indices.filter { !norm.contains($0) }.map { s[$0] })
    }
  }

  func slice() throws {
    let xn = try requireInput(0)
    let e = try entry(xn)
    let s = shapeOf(e)
    var starts: [Int]
    var ends: [Int]
    var axes: [Int]?
    var steps: [Int]?
    if opset < 10 {
      guard let a = try ints("starts"), let b = try ints("ends") else { throw fail("starts and ends are required") }
      starts = a
      ends = b
      axes = try ints("axes")
    } else {
      starts = try intList(try requireInput(1), "starts")
      ends = try intList(try requireInput(2), "ends")
      if let n = input(3) { axes = try intList(n, "axes") }
      if let n = input(4) { steps = try intList(n, "steps") }
    }
    let ax = try (axes ?? Array(0..<starts.count)).map { try normAxis($0, rank: s.count) }
    let st = steps ?? [Int](repeating: 1, count: starts.count)
    guard ends.count == starts.count, ax.count == starts.count, st.count == starts.count, Set(ax).count == ax.count else {
      throw fail("starts, ends, axes and steps must have the same length")
    }
    var begin = [Int](repeating: 0, count: s.count)
    var end = s
    var strides = [Int](repeating: 1, count: s.count)
    var outShape = s
    for (k, a) in ax.enumerated() {
      let dim = s[a]
      guard st[k] != 0 else { throw fail("slice step 0") }
      // Any step longer than the dimension selects one element; clamping avoids overflow.
      let step = max(min(st[k], dim + 1), -(dim + 1))
      var b = starts[k]
      var en = ends[k]
      if b < 0 { b = b < -dim ? -1 - dim : b + dim }
      if en < 0 { en = en < -dim ? -1 - dim : en + dim }
      if step > 0 {
        b = min(max(b, 0), dim)
        en = min(max(en, 0), dim)
      } else {
        b = min(max(b, 0), dim - 1)
        en = min(max(en, -1), dim - 1)
      }
      let n = step > 0 ? (en - b + step - 1) / step : (b - en + (-step) - 1) / (-step)
      guard n > 0 else { throw fail("the slice is empty (zero-size tensors are not supported)") }
      begin[a] = b
      end[a] = en
      strides[a] = step
      outShape[a] = n
    }
    let out = try output()
    if case .constant(let t) = e {
      entries[out] = .constant(pick(t, windowIndices(s, begin: begin, strides: strides, out: outShape), shape: outShape))
      return
    }
    let v = try value(xn)
    let p = v.layout == .nhwc ? nhwcPerm : Array(0..<s.count)
    let id = try emitLike(
      .stridedSlice(begin: p.map { begin[$0] }, end: p.map { end[$0] }, strides: p.map { strides[$0] }), [v.id], from: v.id,
      name: out)
    define(out, RValue(id: id, shape: outShape, layout: v.layout))
  }

  func pad() throws {
    let xn = try requireInput(0)
    let mode = try string("mode", "constant")
    guard mode == "constant" else { throw fail("pad mode '\(mode)' is not supported") }
    let v = try value(xn)
    let rank = v.shape.count
    var pads: [Int]
    var fill: Double = 0
    var axes = Array(0..<rank)
    if opset < 11 {
      guard let p = try ints("pads") ?? ints("paddings") else { throw fail("attribute 'pads' is missing") }
      pads = p
      fill = Double(try float("value", 0))
    } else {
      pads = try intList(try requireInput(1), "pads")
      if let cn = input(2) { fill = Double(try scalar(cn, "constant_value")) }
      if let an = input(3) { axes = try intList(an, "axes").map { try normAxis($0, rank: rank) } }
    }
    guard pads.count == 2 * axes.count else { throw fail("pads must have 2 values per axis") }
    guard pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else { throw fail("negative or huge pads are not supported") }
    var full = [Int](repeating: 0, count: 2 * rank)
    for (k, a) in axes.enumerated() {
      full[2 * a] = pads[k]
      full[2 * a + 1] = pads[k + axes.count]
    }
    let t = g.type(of: v.id)
    if t.elementType == .f32 {
      guard fill.isFinite else { throw fail("padding with an infinite or NaN value is not supported") }
    } else {
      let zp = t.quantization?.zeroPoint ?? rawDefault[v.id]?.zeroPoint ?? 0
      let shift = rawDefault[v.id]?.zeroPoint == -128 ? 128 : 0
      guard Int(fill) - shift == zp else { throw fail("integer padding must be the zero point") }
    }
    let p = v.layout == .nhwc ? nhwcPerm : Array(0..<rank)
    let phys = p.flatMap { [full[2 * $0], full[2 * $0 + 1]] }
    let out = try output()
    let outShape = v.shape.indices.map { v.shape[$0] + full[2 * $0] + full[2 * $0 + 1] }
    if t.elementType == .f32 && fill != 0 {
      // pad writes 0; adding a constant that holds the fill value in the border (and 0
      // inside) gives exactly the padded tensor.
      let padded = try emitLike(.pad(paddings: phys), [v.id], from: v.id, name: out + "_pad")
      let ps = g.type(of: padded).shape
      let total = ps.reduce(1, *)
      guard total <= 1 << 20 else { throw fail("padding with a value other than 0 is supported up to 2^20 elements") }
      var border = [Float](repeating: 0, count: total)
      var idx = [Int](repeating: 0, count: ps.count)
      for i in 0..<total {
        var outside = false
        for d in ps.indices where idx[d] < phys[2 * d] || idx[d] >= ps[d] - phys[2 * d + 1] { outside = true }
        if outside { border[i] = Float(fill) }
        var d = ps.count - 1
        while d >= 0 {
          idx[d] += 1
          if idx[d] < ps[d] { break }
          idx[d] = 0
          d -= 1
        }
      }
      let name = out + "#border"
      entries[name] = .constant(.float(ps, border))
      let id = try emit(.add(.none), [padded, try weight(name, perm: Array(0..<ps.count))], .f32, nil, name: out)
      return define(out, RValue(id: id, shape: outShape, layout: v.layout))
    }
    let id = try emitLike(.pad(paddings: phys), [v.id], from: v.id, name: out)
    define(out, RValue(id: id, shape: outShape, layout: v.layout))
  }

  func reduceMean() throws {
    let xn = try requireInput(0)
    var v = try value(xn)
    guard elementType(v) == .f32 else { throw fail("integer ReduceMean is not supported") }
    let rank = v.shape.count
    let keep = try int("keepdims", 1) != 0
    var axes: [Int]?
    if opset < 18 { axes = try ints("axes") } else if let an = input(1) { axes = try intList(an, "axes") }
    let out = try output()
    if axes?.isEmpty ?? true {
      if opset >= 18, try int("noop_with_empty_axes", 0) != 0 { return define(out, v) }
      axes = Array(0..<rank)
    }
    let norm = Array(Set(try (axes ?? []).map { try normAxis($0, rank: rank) })).sorted()
    let outShape =
      keep ? v.shape.indices.map { norm.contains($0) ? 1 : v.shape[$0] } : v.shape.indices.filter { !norm.contains($0) }.map { v.shape[$0] }
    if v.layout == .nhwc && !keep {
      let remaining = nhwcPerm.filter { !norm.contains($0) }
      if remaining != remaining.sorted() { v = try toPlain(v) }
    }
    let p = v.layout == .nhwc ? nhwcPerm : Array(0..<rank)
    let phys = norm.compactMap { p.firstIndex(of: $0) }.sorted()
    let id = try emit(.mean(axes: phys, keepDims: keep), [v.id], .f32, nil, name: out)
    define(out, RValue(id: id, shape: outShape, layout: keep ? v.layout : .plain))
  }

  func softmax(log: Bool) throws {
    let xn = try requireInput(0)
    let x = try value(xn)
    guard elementType(x) == .f32 else { throw fail("integer inputs are not supported") }
    let rank = x.shape.count
    let a = try normAxis(try int("axis", opset < 13 ? 1 : -1), rank: rank)
    let kind: OpKind = log ? .logSoftmax : .softmax(beta: 1)
    let out = try output()
    if opset >= 13 || a == rank - 1 {
      if x.layout == .nhwc && a == 1 {
        let id = try emit(kind, [x.id], .f32, nil, name: out)
        return define(out, RValue(id: id, shape: x.shape, layout: .nhwc))
      }
      let p = try toPlain(x)
      if a == rank - 1 {
        let id = try emit(kind, [p.id], .f32, nil, name: out)
        return define(out, RValue(id: id, shape: x.shape, layout: .plain))
      }
      let perm = (0..<rank).filter { $0 != a } + [a]
      var inv = [Int](repeating: 0, count: rank)
      for (i, t) in perm.enumerated() { inv[t] = i }
      let t = try emit(.transpose(perm: perm), [p.id], .f32, nil, name: out + "_t")
      let sm = try emit(kind, [t], .f32, nil, name: out + "_sm")
      let id = try emit(.transpose(perm: inv), [sm], .f32, nil, name: out)
      return define(out, RValue(id: id, shape: x.shape, layout: .plain))
    }
    // Before opset 13: softmax over the flattened dimensions a..<rank.
    let flat = try reshapeTo(x, [x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *)], name: out + "_2d")
    let sm = try emit(kind, [flat.id], .f32, nil, name: out + "_sm")
    define(out, try reshapeTo(RValue(id: sm, shape: flat.shape, layout: .plain), x.shape, name: out))
  }

  func shapeOp() throws {
    let s = shapeOf(try entry(try requireInput(0)))
    let r = s.count
    func clampIndex(_ i: Int) -> Int { min(max(i < 0 ? i + r : i, 0), r) }
    let start = clampIndex(try int("start", 0))
    let end = clampIndex(try int("end", r))
    let dims = start < end ? Array(s[start..<end]) : []
    entries[try output()] = .constant(.int64([dims.count], dims))
  }

  func gather() throws {
    let dn = try requireInput(0)
    let e = try entry(dn)
    let s = shapeOf(e)
    let ind = try requireConstant(try requireInput(1), "indices")
    guard !ind.dataType.isFloat else { throw fail("indices must be integers") }
    let axis = try normAxis(try int("axis", 0), rank: s.count)
    let dim = s[axis]
    let idx = try ind.ints.map { i -> Int in
      let n = i < 0 ? i + dim : i
      guard n >= 0 && n < dim else { throw fail("index \(i) is out of range for dimension \(dim)") }
      return n
    }
    guard !idx.isEmpty, idx.count <= 4096 else { throw fail("Gather with \(idx.count) indices is not supported") }
    let outShape = Array(s[..<axis]) + ind.shape + Array(s[(axis + 1)...])
    let out = try output()
    if case .constant(let t) = e {
      let outer = s[..<axis].reduce(1, *)
      let inner = s[(axis + 1)...].reduce(1, *)
      guard outer * idx.count * inner <= 1 << 22 else { throw fail("constant too large to fold") }
      var src: [Int] = []
      for o in 0..<outer { for i in idx { for k in 0..<inner { src.append((o * dim + i) * inner + k) } } }
      entries[out] = .constant(pick(t, src, shape: outShape))
      return
    }
    let v = try toPlain(try value(dn))
    var pieces: [ValueID] = []
    for (k, i) in idx.enumerated() {
      var b = [Int](repeating: 0, count: s.count)
      var en = s
      b[axis] = i
      en[axis] = i + 1
      pieces.append(
        try emitLike(
          .stridedSlice(begin: b, end: en, strides: [Int](repeating: 1, count: s.count)), [v.id], from: v.id,
          name: "\(out)_\(k)"))
    }
    let joined = pieces.count == 1 ? pieces[0] : try emitLike(.concat(axis: axis, .none), pieces, from: pieces[0], name: out + "_cat")
    var shape = s
    shape[axis] = idx.count
    define(out, try reshapeTo(RValue(id: joined, shape: shape, layout: .plain), outShape, name: out))
  }

  func cast() throws {
    let xn = try requireInput(0)
    guard let to = ONNXTensor.DataType(rawValue: Int32(truncatingIfNeeded: try int("to", 0))) else {
      throw fail("unsupported target type")
    }
    let out = try output()
    switch try entry(xn) {
    case .constant(let t):
      var r = ONNXTensor(dataType: to, shape: t.shape)
      if to.isFloat {
        r.floats = t.dataType.isFloat ? t.floats : t.ints.map { Float($0) }
      } else if t.dataType.isFloat {
        r.ints = t.floats.map { f in
          guard f.isFinite else { return 0 }
          let v = Double(f).rounded(.towardZero)
          return ONNXTensor.wrapInt(Int(max(min(v, 9.2e18), -9.2e18)), to)
        }
      } else {
        r.ints = t.ints.map { to.integerRange.contains($0) ? $0 : ONNXTensor.wrapInt($0, to) }
      }
      entries[out] = .constant(r)
    case .dq(let d):
      guard to.isFloat else { throw fail("casting a dequantized tensor to \(to.name) is not supported") }
      entries[out] = .dq(d)
    case .value(let v):
      let (et, _) = try irElement(to, what: "target")
      guard et == elementType(v), et == .f32 else { throw fail("a runtime Cast that changes the type is not supported") }
      define(out, v)
    }
  }
}
