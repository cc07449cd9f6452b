import TinyIR

/// NHWC position i holds NCHW dimension nhwcPerm[i].
let nhwcPerm = [0, 2, 3, 1]

extension Importer {
  /// The operators `convertNode` maps (default domain), for listing every unsupported one at once.
  static let supportedOperators: Set<String> = [
    "Constant", "Identity", "Dropout", "Relu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu", "Clip",
    "Add", "Sub", "Mul", "Div", "PRelu", "Conv", "QLinearConv", "MaxPool", "AveragePool", "GlobalAveragePool",
    "BatchNormalization", "Gemm", "MatMul", "QLinearMatMul", "Concat", "Reshape", "Flatten", "Transpose", "Squeeze",
    "Unsqueeze", "Slice", "Pad", "ReduceMean", "Softmax", "LogSoftmax", "Shape", "Gather", "Cast", "QuantizeLinear",
    "DequantizeLinear",
  ]

  func convertNode() throws {
    guard node.domain.isEmpty || node.domain == "ai.onnx" else {
      throw fail("operator domain '\(node.domain)' is not supported")
    }
    switch node.opType {
    case "Constant": try constantOp()
    case "Identity": entries[try output()] = try entry(try requireInput(0))
    case "Dropout": try dropout()
    case "Relu": try unary(.relu, floatOnly: false)
    case "Sigmoid": try unary(.logistic)
    case "Tanh": try unary(.tanh)
    case "HardSwish": try unary(.hardSwish)
    case "HardSigmoid": try unary(.hardSigmoid(alpha: try float("alpha", 0.2), beta: try float("beta", 0.5)))
    case "LeakyRelu": try unary(.leakyRelu(alpha: try float("alpha", 0.01)))
    case "Clip": try clip()
    case "Add": try binary(.add(.none))
    case "Sub": try binary(.sub(.none))
    case "Mul": try binary(.mul(.none))
    case "Div": try binary(.div(.none))
    case "PRelu": try binary(.prelu)
    case "Conv": try conv()
    case "QLinearConv": try qlinearConv()
    case "MaxPool": try pool(isMax: true)
    case "AveragePool": try pool(isMax: false)
    case "GlobalAveragePool": try globalAveragePool()
    case "BatchNormalization": try batchNorm()
    case "Gemm": try gemm()
    case "MatMul": try matmul()
    case "QLinearMatMul": try qlinearMatMul()
    case "Concat": try concat()
    case "Reshape": try reshape()
    case "Flatten": try flatten()
    case "Transpose": try transpose()
    case "Squeeze": try squeeze(unsqueeze: false)
    case "Unsqueeze": try squeeze(unsqueeze: true)
    case "Slice": try slice()
    case "Pad": try pad()
    case "ReduceMean": try reduceMean()
    case "Softmax": try softmax(log: false)
    case "LogSoftmax": try softmax(log: true)
    case "Shape": try shapeOp()
    case "Gather": try gather()
    case "Cast": try cast()
    case "QuantizeLinear": try quantizeLinear()
    case "DequantizeLinear": try dequantizeLinear()
    default: throw fail("unsupported operator")
    }
  }

  func define(_ name: String, _ v: RValue) { entries[name] = .value(v) }

  func shapeOf(_ e: Entry) -> [Int] {
    switch e {
    case .constant(let t): return t.shape
    case .dq(let d): return d.data.shape
    case .value(let v): return v.shape
    }
  }

  func elementType(_ v: RValue) -> ElementType { g.type(of: v.id).elementType }

  /// The logical shape of an NHWC result.
  func logicalOfNHWC(_ id: ValueID) -> [Int] {
    let s = g.type(of: id).shape
    return [s[0], s[3], s[1], s[2]]
  }

  func requireNoExtraOutputs(from i: Int, _ what: String) throws {
    if node.output.count > i, node.output[i...].contains(where: { !$0.isEmpty }) {
      throw fail("\(what) is not supported")
    }
  }

  // MARK: element-wise

  func unary(_ kind: OpKind, floatOnly: Bool = true) throws {
    let x = try value(try requireInput(0))
    if floatOnly && elementType(x) != .f32 { throw fail("integer inputs are not supported") }
    if elementType(x) != .f32, let q = g.type(of: x.id).quantization {
      // ONNX applies Relu / Clip to the stored integers; the IR op works on real values,
      // which agree only for the identity quantization of raw integers.
      let raw = rawDefault[x.id] ?? Quantization(scale: 1, zeroPoint: 0)
      guard q == raw else { throw fail("\(node.opType) on a quantized integer tensor is not supported") }
    }
    let id = try emitLike(kind, [x.id], from: x.id, name: try output())
    define(try output(), RValue(id: id, shape: x.shape, layout: x.layout))
  }

  func dropout() throws {
    try requireNoExtraOutputs(from: 1, "Dropout's mask output")
    if opset >= 12, let t = input(2) {
      let m = try requireConstant(t, "training_mode")
      if m.ints.first ?? 0 != 0 { throw fail("training mode is not supported") }
    }
    entries[try output()] = try entry(try requireInput(0))
  }

  func scalar(_ name: String, _ what: String) throws -> Float {
    let t = try requireConstant(name, what)
    guard t.count == 1, let v = t.doubles.first else { throw fail("\(what) must be a single value") }
    return Float(v)
  }

  func clip() throws {
    if try clipOfQuantized() { return }
    var lo = -Float.greatestFiniteMagnitude
    var hi = Float.greatestFiniteMagnitude
    if opset < 11 {
      lo = try float("min", lo)
      hi = try float("max", hi)
    } else {
      if let n = input(1) { lo = try scalar(n, "min") }
      if let n = input(2) { hi = try scalar(n, "max") }
    }
    let kind: OpKind
    if lo == 0 && hi == .greatestFiniteMagnitude {
      kind = .relu
    } else if lo == 0 && hi == 6 {
      kind = .relu6
    } else {
      kind = .clip(min: lo, max: hi)
    }
    try unary(kind, floatOnly: false)
  }

  func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let n = max(a.count, b.count)
    let pa = [Int](repeating: 1, count: n - a.count) + a
    let pb = [Int](repeating: 1, count: n - b.count) + b
    var out: [Int] = []
    for i in 0..<n {
      guard pa[i] == pb[i] || pa[i] == 1 || pb[i] == 1 else { throw fail("shapes \(a) and \(b) do not broadcast") }
      out.append(max(pa[i], pb[i]))
    }
    return out
  }

  /// Both operands of a broadcasting op, in NHWC when one runtime operand is NHWC.
  func broadcastOperands(_ an: String, _ bn: String) throws -> (ValueID, ValueID, [Int], Layout) {
    let ea = try entry(an)
    let eb = try entry(bn)
    let out = try broadcastShape(shapeOf(ea), shapeOf(eb))
    var wantNHWC = false
    for e in [ea, eb] { if case .value(let v) = e, v.layout == .nhwc, out.count == 4 { wantNHWC = true } }
    func operand(_ name: String, _ e: Entry) throws -> ValueID {
      let s = shapeOf(e)
      if wantNHWC {
        let padded = [Int](repeating: 1, count: 4 - s.count) + s
        if case .value(let v) = e {
          let r = s.count < 4 ? try reshapeTo(v, padded, name: name + "_4d") : v
          return try toNHWC(r).id
        }
        return try weight(name, reshape: padded, perm: nhwcPerm)
      }
      return try toPlain(try value(name)).id
    }
    return (try operand(an, ea), try operand(bn, eb), out, wantNHWC ? .nhwc : .plain)
  }

  func binary(_ kind: OpKind) throws {
    let an = try requireInput(0)
    let bn = try requireInput(1)
    if let a = constant(an), let b = constant(bn), !a.dataType.isFloat, !b.dataType.isFloat {
      return try foldIntegerBinary(a, b)
    }
    let (x, y, shape, layout) = try broadcastOperands(an, bn)
    let tx = g.type(of: x)
    let ty = g.type(of: y)
    guard tx.elementType.isFloat == ty.elementType.isFloat else { throw fail("operands mix float and integer types") }
    let out = try output()
    let id: ValueID
    if tx.elementType.isFloat {
      id = try emit(kind, [x, y], .f32, nil, name: out)
    } else {
      // Integer arithmetic on raw integers: scale 1 keeps the integers as they are.
      for t in [tx, ty] {
        if let q = t.quantization, q.scales != [1] { throw fail("integer arithmetic on quantized tensors is not supported") }
      }
      guard tx.elementType != .i32 else { throw fail("int32 arithmetic is not supported") }
      id = try emit(kind, [x, y], tx.elementType, nil, name: out)
      rawDefault[id] = rawDefault[x] ?? Quantization(scale: 1, zeroPoint: 0)
    }
    define(out, RValue(id: id, shape: shape, layout: layout))
  }

  func foldIntegerBinary(_ a: ONNXTensor, _ b: ONNXTensor) throws {
    let shape = try broadcastShape(a.shape, b.shape)
    let n = shape.reduce(1, *)
    guard n <= 1 << 20 else { throw fail("constant too large to fold") }
    func index(_ t: ONNXTensor, _ flat: Int) -> Int {
      let pad = shape.count - t.shape.count
      var idx = 0
      var rem = flat
      var strideOut = n
      var tStride = t.count
      for d in 0..<shape.count {
        strideOut /= shape[d]
        let i = rem / strideOut
        rem %= strideOut
        if d >= pad {
          let td = t.shape[d - pad]
          tStride /= td
          idx += (td == 1 ? 0 : i) * tStride
        }
      }
      return idx
    }
    var r: [Int] = []
    for i in 0..<n {
      let x = a.ints[index(a, i)]
      let y = b.ints[index(b, i)]
      switch node.opType {
      case "Add": r.append(x &+ y)
      case "Sub": r.append(x &- y)
      case "Mul": r.append(x &* y)
      case "Div":
        guard y != 0, !(x == Int.min && y == -1) else { throw fail("division by zero or overflow in a constant") }
        r.append(x / y)
      default: throw fail("cannot fold this operator")
      }
    }
    entries[try output()] = .constant(ONNXTensor(dataType: a.dataType, shape: shape, ints: r))
  }

  // MARK: convolution and pooling

  /// Spatial attributes of Conv and the pools, for 2 spatial dimensions (1-D ones are
  /// lifted to H = 1).
  func window(inH: Int, inW: Int, kernel: [Int], spatial: Int, ceil: Bool) throws -> Window {
    func list(_ name: String, _ d: [Int]) throws -> [Int] {
      guard let v = try ints(name) else { return d }
      guard v.count == d.count else { throw fail("attribute '\(name)' must have \(d.count) values") }
      return v
    }
    var strides = try list("strides", [Int](repeating: 1, count: spatial))
    var dil = try list("dilations", [Int](repeating: 1, count: spatial))
    var pads = try list("pads", [Int](repeating: 0, count: 2 * spatial))
    if spatial == 1 {
      strides = [1] + strides
      dil = [1] + dil
      pads = [0, pads[0], 0, pads[1]]
    }
    for s in strides + dil where s < 1 || s > 1 << 16 { throw fail("strides and dilations must be in 1...65536") }
    for p in pads where p < 0 || p > 1 << 16 { throw fail("pads must be in 0...65536") }
    for k in kernel where k < 1 || k > 1 << 16 { throw fail("kernel sizes must be in 1...65536") }
    let input = [inH, inW]
    let autoPad = try string("auto_pad", "NOTSET")
    switch autoPad {
    case "NOTSET", "": break
    case "VALID": pads = [0, 0, 0, 0]
    case "SAME_UPPER", "SAME_LOWER":
      for d in 0..<2 {
        let out = (input[d] + strides[d] - 1) / strides[d]
        let eff = (kernel[d] - 1) * dil[d] + 1
        let total = max((out - 1) * strides[d] + eff - input[d], 0)
        let small = total / 2
        let large = total - small
        pads[d] = autoPad == "SAME_UPPER" ? small : large
        pads[d + 2] = autoPad == "SAME_UPPER" ? large : small
      }
    default: throw fail("unknown auto_pad '\(autoPad)'")
    }
    if ceil {
      for d in 0..<2 {
        let eff = (kernel[d] - 1) * dil[d] + 1
        let span = input[d] + pads[d] + pads[d + 2] - eff
        guard span >= 0 else { throw fail("the window is larger than the padded input") }
        var out = (span + strides[d] - 1) / strides[d] + 1
        // The last window must start inside the input or the left padding.
        if (out - 1) * strides[d] >= input[d] + pads[d] { out -= 1 }
        let extra = max(0, (out - 1) * strides[d] + eff - (input[d] + pads[d] + pads[d + 2]))
        pads[d + 2] += extra
      }
    }
    for d in 0..<2 {
      let eff = (kernel[d] - 1) * dil[d] + 1
      guard input[d] + pads[d] + pads[d + 2] >= eff else { throw fail("the window is larger than the padded input") }
    }
    return Window(
      strideH: strides[0], strideW: strides[1], dilationH: dil[0], dilationW: dil[1],
      padding: Padding(top: pads[0], left: pads[1], bottom: pads[2], right: pads[3]))
  }

  /// The data input as an NHWC 4-D value; 3-D [N, C, L] is lifted to [N, C, 1, L].
  func spatialInput(_ name: String) throws -> (RValue, spatial: Int) {
    var x = try value(name)
    let rank = x.shape.count
    switch rank {
    case 4: break
    case 3: x = try reshapeTo(x, [x.shape[0], x.shape[1], 1, x.shape[2]], name: name + "_2d")
    default: throw fail("only 1-D and 2-D spatial inputs are supported, got shape \(x.shape)")
    }
    return (try toNHWC(x), rank == 3 ? 1 : 2)
  }

  /// Defines the node's output from an NHWC result, dropping the lifted H for 1-D.
  func defineSpatial(_ id: ValueID, spatial: Int) throws {
    let out = try output()
    let logical = logicalOfNHWC(id)
    let v = RValue(id: id, shape: logical, layout: .nhwc)
    if spatial == 1 {
      define(out, try reshapeTo(v, [logical[0], logical[1], logical[3]], name: out + "_1d"))
    } else {
      define(out, v)
    }
  }

  func conv() throws {
    let xn = try requireInput(0)
    let wn = try requireInput(1)
    let (x, spatial) = try spatialInput(xn)
    guard elementType(x) == .f32 else { throw fail("Conv on integer tensors is not supported (use QLinearConv or QDQ)") }
    var ws = shapeOf(try entry(wn))
    guard ws.count == spatial + 2 else { throw fail("weights must be \(spatial + 2)-D, got shape \(ws)") }
    let liftedW: [Int]? = spatial == 1 ? [ws[0], ws[1], 1, ws[2]] : nil
    if let l = liftedW { ws = l }
    if let k = try ints("kernel_shape"), k != Array(ws.suffix(spatial)) {
      throw fail("kernel_shape \(k) does not match the weights' shape \(ws)")
    }
    let (kind, w, m) = try convKindAndWeights(x: x, wShape: ws, weightName: wn, lifted: liftedW, quantized: nil)
    var inputs = [x.id, w]
    if let bn = input(2) {
      guard shapeOf(try entry(bn)) == [m] else { throw fail("bias must have shape [\(m)]") }
      inputs.append(try weight(bn, perm: [0]))
    }
    let id = try emit(kind, inputs, .f32, nil, name: try output())
    try defineSpatial(id, spatial: spatial)
  }

  /// Chooses conv2d or depthwise_conv2d from `group` and produces the permuted weights.
  func convKindAndWeights(
    x: RValue, wShape ws: [Int], weightName wn: String, lifted: [Int]?, quantized: (ONNXTensor, Quantization)?
  ) throws -> (OpKind, ValueID, Int) {
    let group = try int("group", 1)
    let c = x.shape[1]
    let m = ws[0]
    guard group >= 1, group <= c, ws[1] * group == c, m % group == 0 else {
      throw fail("group \(group) does not match input channels \(c) and weights \(ws)")
    }
    let win = try window(inH: x.shape[2], inW: x.shape[3], kernel: [ws[2], ws[3]], spatial: lifted == nil ? 2 : 1, ceil: false)
    let depthwise = group == c && ws[1] == 1 && group > 1
    let perm = depthwise ? [1, 2, 3, 0] : [0, 2, 3, 1]
    let kind: OpKind = depthwise ? .depthwiseConv2d(win, depthMultiplier: m / c, .none) : .conv2d(win, .none)
    if let (t, q) = quantized {
      var tq = q
      if let a = q.axis { tq.axis = perm.firstIndex(of: a) }
      let data = (lifted.map { t.reshaped($0) } ?? t).transposed(perm)
      return (kind, try constantValue(data, name: wn, quant: tq), m)
    }
    return (kind, try weight(wn, reshape: lifted, perm: perm), m)
  }

  func pool(isMax: Bool) throws {
    let xn = try requireInput(0)
    let (x, spatial) = try spatialInput(xn)
    try requireNoExtraOutputs(from: 1, "MaxPool's Indices output")
    guard var k = try ints("kernel_shape"), k.count == spatial else { throw fail("kernel_shape must have \(spatial) values") }
    if spatial == 1 { k = [1] + k }
    if try int("storage_order", 0) != 0 { throw fail("storage_order 1 is not supported") }
    if let d = try ints("dilations"), d.contains(where: { $0 != 1 }) { throw fail("dilated pooling is not supported") }
    let ceil = try int("ceil_mode", 0) != 0
    var win = try window(inH: x.shape[2], inW: x.shape[3], kernel: k, spatial: spatial, ceil: ceil)
    if !isMax && elementType(x) != .f32 { throw fail("integer AveragePool is not supported") }
    var src = x.id
    if !isMax, try int("count_include_pad", 0) != 0 {
      // Padded zeros count in the average: pad explicitly, then pool over the padded input
      // (the extra ceil_mode padding past the end does not count).
      let p = try window(inH: x.shape[2], inW: x.shape[3], kernel: k, spatial: spatial, ceil: false).padding
      if !p.isZero {
        src = try emitLike(.pad(paddings: [0, 0, p.top, p.bottom, p.left, p.right, 0, 0]), [x.id], from: x.id, name: try output() + "_pad")
        win.padding = Padding(top: 0, left: 0, bottom: win.padding.bottom - p.bottom, right: win.padding.right - p.right)
      }
    }
    let kind: OpKind =
      isMax
      ? .maxPool2d(win, filterH: k[0], filterW: k[1], .none) : .averagePool2d(win, filterH: k[0], filterW: k[1], .none)
    let id = try emitLike(kind, [src], from: x.id, name: try output())
    try defineSpatial(id, spatial: spatial)
  }

  func globalAveragePool() throws {
    let (x, spatial) = try spatialInput(try requireInput(0))
    guard elementType(x) == .f32 else { throw fail("integer inputs are not supported") }
    let p = g.type(of: x.id).shape
    let id = try emit(.averagePool2d(Window(), filterH: p[1], filterW: p[2], .none), [x.id], .f32, nil, name: try output())
    try defineSpatial(id, spatial: spatial)
  }

  func batchNorm() throws {
    try requireNoExtraOutputs(from: 1, "BatchNormalization's training outputs")
    if try int("training_mode", 0) != 0 { throw fail("training mode is not supported") }
    let xn = try requireInput(0)
    let xs = shapeOf(try entry(xn))
    let x: RValue
    let spatial: Int
    switch xs.count {
    case 3, 4: (x, spatial) = try spatialInput(xn)
    case 2:
      x = try toPlain(try value(xn))
      spatial = 0
    default: throw fail("BatchNormalization of a \(xs.count)-D tensor is not supported")
    }
    guard elementType(x) == .f32 else { throw fail("integer inputs are not supported") }
    let c = x.shape[1]
    var ins = [x.id]
    for i in 1...4 {
      let n = try requireInput(i)
      guard shapeOf(try entry(n)) == [c] else { throw fail("input \(i) must have shape [\(c)]") }
      ins.append(try weight(n, perm: [0]))
    }
    let id = try emit(.batchNorm(epsilon: try float("epsilon", 1e-5)), ins, .f32, nil, name: try output())
    if spatial == 0 {
      define(try output(), RValue(id: id, shape: x.shape, layout: .plain))
    } else {
      try defineSpatial(id, spatial: spatial)
    }
  }

  // MARK: fully connected

  func gemm() throws {
    let an = try requireInput(0)
    let bn = try requireInput(1)
    let alpha = try float("alpha", 1)
    let beta = try float("beta", 1)
    let transA = try int("transA", 0) != 0
    let transB = try int("transB", 0) != 0
    var a = try toPlain(try value(an))
    guard a.shape.count == 2, elementType(a) == .f32 else { throw fail("A must be a 2-D float tensor") }
    if transA {
      let id = try emitLike(.transpose(perm: [1, 0]), [a.id], from: a.id, name: an + "_t")
      a = RValue(id: id, shape: [a.shape[1], a.shape[0]], layout: .plain)
    }
    let bs = shapeOf(try entry(bn))
    guard bs.count == 2 else { throw fail("B must be 2-D") }
    let k = a.shape[1]
    let n = transB ? bs[0] : bs[1]
    guard (transB ? bs[1] : bs[0]) == k else { throw fail("A's columns (\(k)) do not match B \(bs)") }
    let w = try weight(bn, perm: transB ? [0, 1] : [1, 0])
    var inputs = [a.id, w]
    var post: String?
    if let cn = input(2), beta != 0 {
      let cs = shapeOf(try entry(cn))
      let ct = constant(cn)
      if alpha == 1, let ct, ct.dataType.isFloat, ct.count == 1 || (ct.count == n && cs.last == n) {
        let v = ct.count == 1 ? [Float](repeating: ct.floats[0] * beta, count: n) : ct.floats.map { $0 * beta }
        let name = cn + "#bias"
        entries[name] = .constant(.float([n], v))
        inputs.append(try weight(name, perm: [0]))
      } else if alpha == 1, beta == 1, case .dq = try entry(cn), cs.reduce(1, *) == n, cs.last == n {
        inputs.append(try weight(cn, reshape: [n], perm: [0]))
      } else {
        post = cn
      }
    }
    let out = try output()
    var y = try emit(.fullyConnected(.none, keepNumDims: false), inputs, .f32, nil, name: post == nil && alpha == 1 ? out : out + "_mm")
    if alpha != 1 {
      let name = out + "#alpha"
      entries[name] = .constant(.float([1], [alpha]))
      y = try emit(.mul(.none), [y, try weight(name, perm: [0])], .f32, nil, name: post == nil ? out : out + "_scaled")
    }
    guard let cn = post else { return define(out, RValue(id: y, shape: [a.shape[0], n], layout: .plain)) }
    var cName = cn
    if beta != 1 {
      if let ct = constant(cn), ct.dataType.isFloat {
        cName = cn + "#beta"
        entries[cName] = .constant(.float(ct.shape, ct.floats.map { $0 * beta }))
      } else {
        let bname = cn + "#betaScalar"
        entries[bname] = .constant(.float([1], [beta]))
        let c = try toPlain(try value(cn))
        let id = try emit(.mul(.none), [c.id, try weight(bname, perm: [0])], .f32, nil, name: cn + "_beta")
        cName = cn + "#betaValue"
        define(cName, RValue(id: id, shape: c.shape, layout: .plain))
      }
    }
    let yName = out + "#gemm"
    define(yName, RValue(id: y, shape: [a.shape[0], n], layout: .plain))
    let (p, q, shape, _) = try broadcastOperands(yName, cName)
    let id = try emit(.add(.none), [p, q], .f32, nil, name: out)
    define(out, RValue(id: id, shape: shape, layout: .plain))
  }

  func matmul() throws {
    let an = try requireInput(0)
    let bn = try requireInput(1)
    var a = try toPlain(try value(an))
    guard elementType(a) == .f32 else { throw fail("integer MatMul is not supported") }
    let bs = shapeOf(try entry(bn))
    if bs.count > 2 { return try batchedMatmul(a, bn, bs) }
    let aShape = a.shape
    guard let k = aShape.last else { throw fail("A must have at least one dimension") }
    if aShape.count == 1 { a = try reshapeTo(a, [1, k], name: an + "_2d") }
    guard bs[0] == k else { throw fail("A's last dimension (\(k)) does not match B \(bs)") }
    let n = bs.count == 2 ? bs[1] : 1
    let w = bs.count == 2 ? try weight(bn, perm: [1, 0]) : try weight(bn, reshape: [1, k], perm: [0, 1])
    let out = try output()
    let keep = a.shape.count > 2
    let id = try emit(.fullyConnected(.none, keepNumDims: keep), [a.id, w], .f32, nil, name: out)
    var logical = Array(aShape.dropLast())
    if bs.count == 2 { logical.append(n) }
    let r = RValue(id: id, shape: g.type(of: id).shape, layout: .plain)
    define(out, r.shape == logical ? r : try reshapeTo(r, logical, name: out + "_r"))
  }

  /// MatMul with a batched B: one fully_connected per batch element (B's slice as the
  /// weights), concatenated. Batch dimensions broadcast as in numpy.
  func batchedMatmul(_ a0: RValue, _ bn: String, _ bs: [Int]) throws {
    let out = try output()
    var a = a0
    let aWas1D = a.shape.count == 1
    if aWas1D { a = try reshapeTo(a, [1, a.shape[0]], name: out + "_a2d") }
    let m = a.shape[a.shape.count - 2]
    let k = a.shape[a.shape.count - 1]
    let n = bs[bs.count - 1]
    guard bs[bs.count - 2] == k else { throw fail("A \(a.shape) does not match B \(bs)") }
    let aBatch = Array(a.shape.dropLast(2))
    let bBatch = Array(bs.dropLast(2))
    let batch = try broadcastShape(aBatch, bBatch)
    let count = batch.reduce(1, *)
    guard count <= 256 else { throw fail("MatMul with \(count) batches is not supported") }
    let bEntry = try entry(bn)
    var pieces: [ValueID] = []
    for flat in 0..<count {
      var idx = [Int](repeating: 0, count: batch.count)
      var r = flat
      for d in stride(from: batch.count - 1, through: 0, by: -1) {
        idx[d] = r % batch[d]
        r /= batch[d]
      }
      func sub(_ shape: [Int]) -> [Int] {
        let pad = batch.count - shape.count
        return shape.indices.map { shape[$0] == 1 ? 0 : idx[$0 + pad] }
      }
      let ai = sub(aBatch)
      let bi = sub(bBatch)
      let aSlice = try emitLike(
        .stridedSlice(begin: ai + [0, 0], end: ai.map { $0 + 1 } + [m, k], strides: [Int](repeating: 1, count: ai.count + 2)),
        [a.id], from: a.id, name: "\(out)_a\(flat)")
      let a2 = try emitLike(.reshape(shape: [m, k]), [aSlice], from: a.id, name: "\(out)_a\(flat)_2d")
      let wName = "\(bn)#batch\(bi)"
      if entries[wName] == nil {
        let begin = bi + [0, 0]
        let outShape = bi.map { _ in 1 } + [k, n]
        switch bEntry {
        case .constant(let t):
          entries[wName] = .constant(
            pick(t, windowIndices(t.shape, begin: begin, strides: [Int](repeating: 1, count: begin.count), out: outShape), shape: [k, n]))
        case .dq(var d):
          if let ax = d.axis {
            guard ax == bs.count - 1 else { throw fail("B is quantized per batch; not supported") }
            d.axis = 1
          }
          d.data = pick(
            d.data, windowIndices(d.data.shape, begin: begin, strides: [Int](repeating: 1, count: begin.count), out: outShape),
            shape: [k, n])
          entries[wName] = .dq(d)
        case .value(let v):
          let p = try toPlain(v)
          let sl = try emitLike(
            .stridedSlice(begin: begin, end: bi.map { $0 + 1 } + [k, n], strides: [Int](repeating: 1, count: begin.count)), [p.id],
            from: p.id, name: "\(out)_b\(flat)")
          let b2 = try emitLike(.reshape(shape: [k, n]), [sl], from: p.id, name: "\(out)_b\(flat)_2d")
          define(wName, RValue(id: b2, shape: [k, n], layout: .plain))
        }
      }
      let w = try weight(wName, perm: [1, 0])
      pieces.append(try emit(.fullyConnected(.none, keepNumDims: false), [a2, w], .f32, nil, name: "\(out)_\(flat)"))
    }
    let joined = pieces.count == 1 ? pieces[0] : try emit(.concat(axis: 0, .none), pieces, .f32, nil, name: out + "_cat")
    var logical = batch + [m, n]
    if aWas1D { logical.remove(at: logical.count - 2) }
    define(out, try reshapeTo(RValue(id: joined, shape: [count * m, n], layout: .plain), logical, name: out))
  }

  /// Scale and zero point inputs of QLinear ops and QuantizeLinear / DequantizeLinear.
  func quantParams(scale sn: String, zeroPoint zn: String?, count: Int?, defaultType: ONNXTensor.DataType) throws -> (
    scales: [Float], zeroPoints: [Int], type: ONNXTensor.DataType
  ) {
    let s = try requireConstant(sn, "scale")
    guard s.dataType.isFloat, !s.floats.isEmpty else { throw fail("scale '\(sn)' must be a float constant") }
    guard s.floats.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw fail("scale '\(sn)' must be positive and finite") }
    var zps = [Int](repeating: 0, count: s.count)
    var type = defaultType
    if let zn {
      let z = try requireConstant(zn, "zero point")
      guard z.count == s.count else { throw fail("zero point '\(zn)' must have as many values as the scale") }
      guard !z.dataType.isFloat else { throw fail("float zero points (float8 types) are not supported") }
      zps = z.ints
      type = z.dataType
    }
    if let count, s.count != 1 && s.count != count { throw fail("scale '\(sn)' must have 1 or \(count) values") }
    guard zps.allSatisfy({ type.integerRange.contains($0) }) else { throw fail("a zero point is out of range") }
    return (s.floats, zps, type)
  }

  func qlinearMatMul() throws {
    let an = try requireInput(0)
    let bn = try requireInput(3)
    let a = try toPlain(try value(an))
    let aq = try quantParams(scale: try requireInput(1), zeroPoint: input(2), count: 1, defaultType: .uint8)
    let (_, aShift) = try irElement(aq.type, what: "A")
    try assignQuantization(a.id, Quantization(scale: aq.scales[0], zeroPoint: aq.zeroPoints[0] - aShift), reader: "QLinearMatMul")
    let b = try requireConstant(bn, "B")
    guard b.shape.count >= 2 else { throw fail("B must be at least 2-D, got shape \(b.shape)") }
    let k = b.shape[b.shape.count - 2]
    let n = b.shape[b.shape.count - 1]
    guard a.shape.last == k, a.shape.count >= 2 else { throw fail("A \(a.shape) does not match B \(b.shape)") }
    let bq = try quantParams(scale: try requireInput(4), zeroPoint: input(5), count: n, defaultType: .uint8)
    let (_, bShift) = try irElement(b.dataType, what: "B")
    let wq = Quantization(scales: bq.scales, zeroPoints: bq.zeroPoints.map { $0 - bShift }, axis: bq.scales.count > 1 ? 0 : nil)
    let yq = try quantParams(scale: try requireInput(6), zeroPoint: input(7), count: 1, defaultType: .uint8)
    let (et, yShift) = try irElement(yq.type, what: "Y")
    let yQuant = Quantization(scale: yq.scales[0], zeroPoint: yq.zeroPoints[0] - yShift)
    let out = try output()
    if b.shape.count == 2 {
      let w = try constantValue(b.transposed([1, 0]), name: bn, quant: wq)
      let id = try emit(.fullyConnected(.none, keepNumDims: a.shape.count > 2), [a.id, w], et, yQuant, name: out)
      return define(out, RValue(id: id, shape: Array(a.shape.dropLast()) + [n], layout: .plain))
    }
    // Batched B (same batch dimensions as A): one fully_connected per batch element.
    let batch = Array(b.shape.dropLast(2))
    guard Array(a.shape.dropLast(2)) == batch else { throw fail("A \(a.shape) and B \(b.shape) batch dimensions differ") }
    let m = a.shape[a.shape.count - 2]
    let count = batch.reduce(1, *)
    guard count <= 256 else { throw fail("QLinearMatMul with \(count) batches is not supported") }
    let flatA = try emitLike(.reshape(shape: [count, m, k]), [a.id], from: a.id, name: out + "_a")
    var pieces: [ValueID] = []
    for i in 0..<count {
      let sl = try emitLike(
        .stridedSlice(begin: [i, 0, 0], end: [i + 1, m, k], strides: [1, 1, 1]), [flatA], from: flatA, name: "\(out)_a\(i)")
      let a2 = try emitLike(.reshape(shape: [m, k]), [sl], from: flatA, name: "\(out)_a\(i)_2d")
      let bi = ONNXTensor(
        dataType: b.dataType, shape: [k, n], ints: Array(b.ints[(i * k * n)..<((i + 1) * k * n)]))
      let w = try constantValue(bi.transposed([1, 0]), name: "\(bn)_\(i)", quant: wq)
      pieces.append(try emit(.fullyConnected(.none, keepNumDims: false), [a2, w], et, yQuant, name: "\(out)_\(i)"))
    }
    let joined = pieces.count == 1 ? pieces[0] : try emitLike(.concat(axis: 0, .none), pieces, from: pieces[0], name: out + "_cat")
    define(out, try reshapeTo(RValue(id: joined, shape: [count * m, n], layout: .plain), batch + [m, n], name: out))
  }

  func qlinearConv() throws {
    let xn = try requireInput(0)
    let wn = try requireInput(3)
    let (x, spatial) = try spatialInput(xn)
    let xq = try quantParams(scale: try requireInput(1), zeroPoint: input(2), count: 1, defaultType: .uint8)
    let (_, xShift) = try irElement(xq.type, what: "x")
    let xQuant = Quantization(scale: xq.scales[0], zeroPoint: xq.zeroPoints[0] - xShift)
    try assignQuantization(x.id, xQuant, reader: "QLinearConv")
    let w = try requireConstant(wn, "w")
    guard w.shape.count == spatial + 2 else { throw fail("weights must be \(spatial + 2)-D") }
    let lifted: [Int]? = spatial == 1 ? [w.shape[0], w.shape[1], 1, w.shape[2]] : nil
    let ws = lifted ?? w.shape
    let m = ws[0]
    let wq = try quantParams(scale: try requireInput(4), zeroPoint: input(5), count: m, defaultType: .uint8)
    let (_, wShift) = try irElement(w.dataType, what: "w")
    let wQuant = Quantization(scales: wq.scales, zeroPoints: wq.zeroPoints.map { $0 - wShift }, axis: wq.scales.count > 1 ? 0 : nil)
    let yq = try quantParams(scale: try requireInput(6), zeroPoint: input(7), count: 1, defaultType: .uint8)
    let (et, yShift) = try irElement(yq.type, what: "y")
    let yQuant = Quantization(scale: yq.scales[0], zeroPoint: yq.zeroPoints[0] - yShift)
    if wQuant.zeroPoints.contains(where: { $0 != 0 }) {
      // Integer kernels take symmetric weights only: asymmetric ones go the QDQ way
      // (dequantize, float conv with dequantized weights, quantize).
      return try qlinearConvAsQDQ(x: x, spatial: spatial, w: w, wn: wn, wq: wq, lifted: lifted, yType: et, yQuant: yQuant)
    }
    let (kind, wid, _) = try convKindAndWeights(x: x, wShape: ws, weightName: wn, lifted: lifted, quantized: (w, wQuant))
    var ins = [x.id, wid]
    if let bn = input(8) {
      let b = try requireConstant(bn, "B")
      guard b.shape == [m], b.dataType == .int32 else { throw fail("B must be an int32 constant of shape [\(m)]") }
      let scales = wq.scales.map { $0 * xq.scales[0] }
      let bq =
        scales.count > 1
        ? Quantization(scales: scales, zeroPoints: [Int](repeating: 0, count: m), axis: 0)
        : Quantization(scale: scales[0], zeroPoint: 0)
      ins.append(try constantValue(b, name: bn, quant: bq))
    }
    let id = try emit(kind, ins, et, yQuant, name: try output())
    try defineSpatial(id, spatial: spatial)
  }

  func qlinearConvAsQDQ(
    x: RValue, spatial: Int, w: ONNXTensor, wn: String, wq: (scales: [Float], zeroPoints: [Int], type: ONNXTensor.DataType),
    lifted: [Int]?, yType: ElementType, yQuant: Quantization
  ) throws {
    let out = try output()
    let xf = try emit(.dequantize, [x.id], .f32, nil, name: out + "_x")
    let dqName = wn + "#dq"
    entries[dqName] = .dq(DQConst(data: w, scales: wq.scales, zeroPoints: wq.zeroPoints, axis: wq.scales.count > 1 ? 0 : nil))
    let xv = RValue(id: xf, shape: x.shape, layout: .nhwc)
    let (kind, wid, m) = try convKindAndWeights(x: xv, wShape: lifted ?? w.shape, weightName: dqName, lifted: lifted, quantized: nil)
    var ins = [xf, wid]
    if let bn = input(8) {
      let b = try requireConstant(bn, "B")
      guard b.shape == [m], b.dataType == .int32 else { throw fail("B must be an int32 constant of shape [\(m)]") }
      let xs = g.type(of: x.id).quantization?.scale ?? 1
      let bias = (0..<m).map { Float(b.ints[$0]) * xs * wq.scales[wq.scales.count > 1 ? $0 : 0] }
      let biasName = bn + "#float"
      entries[biasName] = .constant(.float([m], bias))
      ins.append(try weight(biasName, perm: [0]))
    }
    let conv = try emit(kind, ins, .f32, nil, name: out + "_f")
    let id = try emit(.quantize, [conv], yType, yQuant, name: out)
    try defineSpatial(id, spatial: spatial)
  }

  // MARK: quantization

  func quantizeLinear() throws {
    let xn = try requireInput(0)
    if try int("block_size", 0) != 0 { throw fail("blocked quantization is not supported") }
    let e = try entry(xn)
    let shape = shapeOf(e)
    var outType: ONNXTensor.DataType = .uint8
    if let a = attr("output_dtype"), a.i != 0 {
      guard let t = ONNXTensor.DataType(rawValue: Int32(truncatingIfNeeded: a.i)) else { throw fail("unsupported output_dtype") }
      outType = t
    }
    let sn = try requireInput(1)
    let scaleCount = try requireConstant(sn, "scale").count
    let axis = scaleCount > 1 ? try normAxis(try int("axis", 1), rank: shape.count) : nil
    let p = try quantParams(scale: sn, zeroPoint: input(2), count: axis.map { shape[$0] }, defaultType: outType)
    if let axis { guard p.scales.count == shape[axis] else { throw fail("scale count does not match axis \(axis)") } }
    let out = try output()
    if case .constant(let t) = e {
      guard t.dataType.isFloat else { throw fail("QuantizeLinear takes a float tensor") }
      let r = p.type.integerRange
      var q: [Int] = []
      q.reserveCapacity(t.count)
      let inner = axis.map { shape[($0 + 1)...].reduce(1, *) } ?? 1
      for (i, f) in t.floats.enumerated() {
        let c = axis.map { (i / inner) % shape[$0] } ?? 0
        // x / scale in float, as ONNX Runtime divides, then half to even.
        let v = Double(f / p.scales[c]).rounded(.toNearestOrEven) + Double(p.zeroPoints[c])
        q.append(v.isNaN ? 0 : Int(min(max(v, Double(r.lowerBound)), Double(r.upperBound))))
      }
      entries[out] = .constant(ONNXTensor(dataType: p.type, shape: t.shape, ints: q))
      return
    }
    let x = try value(xn)
    guard elementType(x) == .f32 else { throw fail("QuantizeLinear takes a float tensor") }
    let (et, shift) = try irElement(p.type, what: "output")
    guard et != .f32 else { throw fail("QuantizeLinear must produce an integer type") }
    var q = Quantization(scales: p.scales, zeroPoints: p.zeroPoints.map { $0 - shift }, axis: nil)
    if let axis { q.axis = x.layout == .nhwc ? nhwcPerm.firstIndex(of: axis) : axis }
    let id = try emit(.quantize, [x.id], et, q, name: out)
    onnxContainer[id] = p.type
    define(out, RValue(id: id, shape: x.shape, layout: x.layout))
  }

  func dequantizeLinear() throws {
    let xn = try requireInput(0)
    if try int("block_size", 0) != 0 { throw fail("blocked quantization is not supported") }
    let e = try entry(xn)
    let shape = shapeOf(e)
    let sn = try requireInput(1)
    let scaleCount = try requireConstant(sn, "scale").count
    let axis = scaleCount > 1 ? try normAxis(try int("axis", 1), rank: shape.count) : nil
    var defaultType: ONNXTensor.DataType = .int8
    if case .constant(let t) = e { defaultType = t.dataType }
    if case .value(let v) = e, rawDefault[v.id]?.zeroPoint == -128 { defaultType = .uint8 }
    let p = try quantParams(scale: sn, zeroPoint: input(2), count: axis.map { shape[$0] }, defaultType: defaultType)
    if let axis { guard p.scales.count == shape[axis] else { throw fail("scale count does not match axis \(axis)") } }
    let out = try output()
    switch e {
    case .constant(let t):
      guard !t.dataType.isFloat else { throw fail("DequantizeLinear takes an integer tensor") }
      var d = DQConst(data: t, scales: p.scales, zeroPoints: p.zeroPoints, axis: axis)
      if let n = narrowedConstants[xn] {
        guard p.type == t.dataType else { throw fail("the zero point type \(p.type.name) differs from the clipped \(t.dataType.name) data") }
        d.narrow = n
      }
      entries[out] = .dq(d)
    case .dq: throw fail("DequantizeLinear of a float tensor")
    case .value(let x):
      guard elementType(x) != .f32 else { throw fail("DequantizeLinear takes an integer tensor") }
      var (_, shift) = try irElement(p.type, what: "input")
      if let s = narrowedValues[x.id] { shift = s }
      var q = Quantization(scales: p.scales, zeroPoints: p.zeroPoints.map { $0 - shift }, axis: nil)
      if let axis { q.axis = x.layout == .nhwc ? nhwcPerm.firstIndex(of: axis) : axis }
      try assignQuantization(x.id, q, reader: "DequantizeLinear")
      let id = try emit(.dequantize, [x.id], .f32, nil, name: out)
      define(out, RValue(id: id, shape: x.shape, layout: x.layout))
    }
  }
}
