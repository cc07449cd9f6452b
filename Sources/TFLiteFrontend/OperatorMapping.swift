import TinyIR

/// TFLite operators → IR ops. Each case reads the operator's options and operands, and the
/// shared tail checks the output tensor's shape against the IR op's shape rule.
extension Importer {
  mutating func map(_ op: OpInfo) throws {
    if try fold(op) { return }
    func fail(_ message: String) -> TFLiteError { TFLiteError(message, at: .op(op.index, op.name)) }
    func need(_ counts: ClosedRange<Int>) throws {
      guard counts.contains(op.inputs.count) else {
        throw fail("has \(op.inputs.count) inputs, expected \(counts.lowerBound)...\(counts.upperBound)")
      }
    }
    func options(_ expected: Int, _ name: String) throws -> Options {
      let type = try op.table.int(Schema.Operator.builtinOptionsType, size: 1) & 0xff
      if type == 0 { return Options(table: nil) }
      guard type == expected else { throw fail("builtin options have union type \(type), expected \(name)") }
      return Options(table: try op.table.table(Schema.Operator.builtinOptions, "the options of operator \(op.index)"))
    }
    func activation(_ code: Int) throws -> Activation {
      switch code {
      case 0: return .none
      case 1: return .relu
      case 2: return .reluN1To1
      case 3: return .relu6
      default:
        let name = Schema.activationNames.indices.contains(code) ? Schema.activationNames[code] : "\(code)"
        throw fail("fused activation \(name) is not supported")
      }
    }
    func window(
      padding: Int, stride: (Int, Int), dilation: (Int, Int), input: [Int], filter: (Int, Int)
    ) throws -> Window {
      let limit = 1...Self.maxWindow
      guard limit.contains(stride.0), limit.contains(stride.1) else {
        throw fail("stride \(stride.0)x\(stride.1) must be in 1...\(Self.maxWindow)")
      }
      guard limit.contains(dilation.0), limit.contains(dilation.1) else {
        throw fail("dilation \(dilation.0)x\(dilation.1) must be in 1...\(Self.maxWindow)")
      }
      guard limit.contains(filter.0), limit.contains(filter.1) else {
        throw fail("filter \(filter.0)x\(filter.1) must be in 1...\(Self.maxWindow)")
      }
      var w = Window(strideH: stride.0, strideW: stride.1, dilationH: dilation.0, dilationW: dilation.1)
      switch padding {
      case 0:  // SAME
        let h = Padding.same(input: input[1], filter: filter.0, stride: stride.0, dilation: dilation.0)
        let v = Padding.same(input: input[2], filter: filter.1, stride: stride.1, dilation: dilation.1)
        w.padding = Padding(top: h.0, left: v.0, bottom: h.1, right: v.1)
      case 1: break  // VALID
      default: throw fail("padding type \(padding) is unknown")
      }
      return w
    }

    guard op.outputs.count == 1 else { throw fail("has \(op.outputs.count) outputs, expected 1") }
    let out = op.outputs[0]
    let outInfo = try tensor(out)
    guard outInfo.data == nil else { throw fail("writes into constant tensor \(out)") }
    let outType = try irType(outInfo)
    let O = Schema.Op.self
    if outInfo.type == Schema.TensorType.float32 {
      let quantizedTypes = [Schema.TensorType.int8, Schema.TensorType.uint8, Schema.TensorType.int16, Schema.TensorType.int4]
      for j in op.inputs.dropFirst() where j != -1 {
        try checkIndex(j, of: op)
        let t = try tensor(j)
        if t.data != nil, quantizedTypes.contains(t.type) {
          throw fail(
            "has FLOAT32 activations but \(Schema.TensorType.name(t.type)) weights (tensor \(j)): a weights-only "
              + "(\"dynamic range\") quantized model, which TFLite Micro does not run either; convert it with "
              + "full-integer quantization (a representative dataset) or without optimizations")
        }
      }
    }
    let Opt = Schema.Options.self
    try need(1...Int(UInt16.max))
    try checkInt4Operands(op)
    let x = try operand(op.inputs[0], of: op)
    let xs = graph.type(of: x).shape
    var operands = [x]
    let kind: OpKind

    switch op.code {
    case O.conv2D, O.depthwiseConv2D:
      try need(2...3)
      let w = try operand(op.inputs[1], of: op)
      let ws = graph.type(of: w).shape
      operands.append(w)
      if op.inputs.count == 3, op.inputs[2] != -1 { operands.append(try operand(op.inputs[2], of: op)) }
      guard xs.count == 4, ws.count == 4 else { throw fail("input \(xs) and weights \(ws) must be 4-D") }
      if op.code == O.conv2D {
        let C = Opt.Conv2D.self
        let o = try options(Opt.conv2D, "Conv2DOptions")
        let win = try window(
          padding: try o.int(C.padding, size: 1), stride: (try o.int(C.strideH), try o.int(C.strideW)),
          dilation: (try o.int(C.dilationH, default: 1), try o.int(C.dilationW, default: 1)), input: xs,
          filter: (ws[1], ws[2]))
        kind = .conv2d(win, try activation(try o.int(C.activation, size: 1)))
      } else {
        let D = Opt.DepthwiseConv2D.self
        let o = try options(Opt.depthwiseConv2D, "DepthwiseConv2DOptions")
        let win = try window(
          padding: try o.int(D.padding, size: 1), stride: (try o.int(D.strideH), try o.int(D.strideW)),
          dilation: (try o.int(D.dilationH, default: 1), try o.int(D.dilationW, default: 1)), input: xs,
          filter: (ws[1], ws[2]))
        // The multiplier follows from the shapes; the option is not trusted.
        guard ws[3] % xs[3] == 0 else {
          throw fail("weights have \(ws[3]) channels, not a multiple of the input's \(xs[3])")
        }
        kind = .depthwiseConv2d(
          win, depthMultiplier: ws[3] / xs[3], try activation(try o.int(D.activation, size: 1)))
      }
    case O.fullyConnected:
      try need(2...3)
      operands.append(try operand(op.inputs[1], of: op))
      if op.inputs.count == 3, op.inputs[2] != -1 { operands.append(try operand(op.inputs[2], of: op)) }
      let F = Opt.FullyConnected.self
      let o = try options(Opt.fullyConnected, "FullyConnectedOptions")
      let format = try o.int(F.weightsFormat, size: 1)
      guard format == 0 else { throw fail("weights format \(format) (shuffled) is not supported") }
      kind = .fullyConnected(try activation(try o.int(F.activation, size: 1)), keepNumDims: try o.bool(F.keepNumDims))
    case O.averagePool2D, O.maxPool2D:
      try need(1...1)
      guard xs.count == 4 else { throw fail("input \(xs) must be 4-D") }
      let P = Opt.Pool2D.self
      let o = try options(Opt.pool2D, "Pool2DOptions")
      let (fh, fw) = (try o.int(P.filterHeight), try o.int(P.filterWidth))
      let win = try window(
        padding: try o.int(P.padding, size: 1), stride: (try o.int(P.strideH), try o.int(P.strideW)),
        dilation: (1, 1), input: xs, filter: (fh, fw))
      let act = try activation(try o.int(P.activation, size: 1))
      kind =
        op.code == O.maxPool2D
        ? .maxPool2d(win, filterH: fh, filterW: fw, act) : .averagePool2d(win, filterH: fh, filterW: fw, act)
    case O.reshape, O.squeeze, O.expandDims:
      // The new shape is the output tensor's; RESHAPE's shape and EXPAND_DIMS's axis are dropped.
      try need(op.code == O.reshape ? 1...2 : op.code == O.expandDims ? 2...2 : 1...1)
      kind = .reshape(shape: outType.shape)
    case O.softmax:
      try need(1...1)
      let beta = try options(Opt.softmax, "SoftmaxOptions").float(Opt.Softmax.beta)
      guard beta.isFinite else { throw fail("beta \(beta) must be finite") }
      kind = .softmax(beta: beta)
    case O.add, O.sub, O.mul:
      try need(2...2)
      operands.append(try operand(op.inputs[1], of: op))
      let (type, name) =
        op.code == O.add
        ? (Opt.add, "AddOptions") : op.code == O.sub ? (Opt.sub, "SubOptions") : (Opt.mul, "MulOptions")
      let act = try activation(try options(type, name).int(Opt.Arithmetic.activation, size: 1))
      kind = op.code == O.add ? .add(act) : op.code == O.sub ? .sub(act) : .mul(act)
    case O.concatenation:
      for j in op.inputs.dropFirst() { operands.append(try operand(j, of: op)) }
      let o = try options(Opt.concatenation, "ConcatenationOptions")
      let raw = try o.int(Opt.Concatenation.axis)
      let axis = raw < 0 ? raw + outType.rank : raw
      guard outType.shape.indices.contains(axis) else { throw fail("axis \(raw) is out of range") }
      kind = .concat(axis: axis, try activation(try o.int(Opt.Concatenation.activation, size: 1)))
    case O.pad, O.padV2:
      try need(op.code == O.pad ? 2...2 : 2...3)
      let p = try constantInts(op.inputs[1], of: op, "the paddings")
      guard p.count == 2 * xs.count, p.allSatisfy({ (0...Verifier.maxElements).contains($0) }) else {
        throw fail("paddings \(p) must be \(xs.count)x2 non-negative numbers")
      }
      if op.inputs.count == 3 { try checkPadValue(op.inputs[2], of: op, outType: outType, outTypeCode: outInfo.type) }
      kind = .pad(paddings: p)
    case O.mean:
      try need(2...2)
      let raw = try constantInts(op.inputs[1], of: op, "the axes")
      var axes: [Int] = []
      for a in raw {
        let n = a < 0 ? a + xs.count : a
        guard xs.indices.contains(n) else { throw fail("axis \(a) is out of range for rank \(xs.count)") }
        if !axes.contains(n) { axes.append(n) }
      }
      kind = .mean(axes: axes.sorted(), keepDims: try options(Opt.reducer, "ReducerOptions").bool(Opt.Reducer.keepDims))
    case O.transpose:
      try need(2...2)
      let perm = try constantInts(op.inputs[1], of: op, "the permutation")
      guard perm.count == xs.count, perm.allSatisfy({ xs.indices.contains($0) }) else {
        throw fail("permutation \(perm) does not fit rank \(xs.count)")
      }
      kind = .transpose(perm: perm)
    case O.stridedSlice:
      try need(4...4)
      kind = try stridedSlice(op, input: xs, options: try options(Opt.stridedSlice, "StridedSliceOptions"))
    case O.leakyRelu:
      try need(1...1)
      let alpha = try options(Opt.leakyRelu, "LeakyReluOptions").float(Opt.LeakyRelu.alpha)
      guard alpha.isFinite else { throw fail("alpha \(alpha) must be finite") }
      kind = .leakyRelu(alpha: alpha)
    case O.quantize, O.dequantize, O.logistic, O.tanh, O.relu, O.relu6, O.reluN1To1, O.hardSwish:
      try need(1...1)
      let simple: [Int: OpKind] = [
        O.quantize: .quantize, O.dequantize: .dequantize, O.logistic: .logistic, O.tanh: .tanh,
        O.relu: .relu, O.relu6: .relu6, O.reluN1To1: .clip(min: -1, max: 1), O.hardSwish: .hardSwish,
      ]
      guard let k = simple[op.code] else { throw fail("is not supported") }
      kind = k
    default:
      throw fail("is not supported")
    }

    let location = Location.tflite(op: op.index, tensor: outInfo.name)
    let shape: [Int]
    do {
      let shapes = try kind.resultShapes(operands.map { graph.type(of: $0).shape })
      guard shapes.count == 1 else { throw fail("the IR op has \(shapes.count) results") }
      shape = shapes[0]
    } catch let error as IRError {
      throw fail(error.message)
    }
    if case .stridedSlice = kind, shape != outType.shape, shape.reduce(1, *) == outType.elementCount {
      // Shrunk axes: slice, then reshape to the output tensor's shape.
      let slice = graph.addOp(
        kind, inputs: operands, results: [("t\(out)_slice", outType.with(shape: shape))], location: location)
      values[out] =
        graph.addOp(
          .reshape(shape: outType.shape), inputs: slice, results: [("t\(out)", outType)], location: location)[0]
      return
    }
    guard shape == outType.shape else {
      throw fail("output tensor \(out) has shape \(outType.shape), but the operator gives \(shape)")
    }
    values[out] = graph.addOp(kind, inputs: operands, results: [("t\(out)", outType)], location: location)[0]
  }

  /// PADV2 pads with a given value; the IR pads with real zero, so the value must be that.
  mutating func checkPadValue(_ j: Int, of op: OpInfo, outType: TensorType, outTypeCode: Int) throws {
    try checkIndex(j, of: op)
    let t = try tensor(j)
    guard let d = t.data, t.type == outTypeCode, d.count == outType.elementType.byteCount(elements: 1) else {
      throw TFLiteError(
        "the padding value (tensor \(j)) must be a one-element constant of the output's type",
        at: .op(op.index, op.name))
    }
    var raw: UInt64 = 0
    for b in d.reversed() { raw = raw << 8 | UInt64(b) }
    let zero: Bool
    switch outType.elementType {
    case .f32: zero = Float(bitPattern: UInt32(truncatingIfNeeded: raw)) == 0
    case .u8: zero = Int(raw) == (outType.quantization?.zeroPoint ?? 0)
    default:
      let shift = UInt64(64 - 8 * d.count)
      zero = Int(Int64(bitPattern: raw << shift) >> Int64(shift)) == (outType.quantization?.zeroPoint ?? 0)
    }
    guard zero else {
      throw TFLiteError("padding with a value other than (real) zero is not supported", at: .op(op.index, op.name))
    }
  }

  /// STRIDED_SLICE with its masks applied as TFLite Micro's kernel reads them: negative indices
  /// count from the end, begin and end are clamped (to [0, dim] going forward, [-1, dim - 1]
  /// going backward), a masked begin or end takes the whole range, a shrunk axis keeps the one
  /// element at begin. TFLite Micro reads one begin/end/stride per input dimension and ignores
  /// `offset` (TFLite honours it), so shorter specs and `offset` are rejected, not guessed.
  mutating func stridedSlice(_ op: OpInfo, input xs: [Int], options o: Options) throws -> OpKind {
    func fail(_ message: String) -> TFLiteError { TFLiteError(message, at: .op(op.index, op.name)) }
    let S = Schema.Options.StridedSlice.self
    let begin = try constantInts(op.inputs[1], of: op, "begin")
    let end = try constantInts(op.inputs[2], of: op, "end")
    let strides = try constantInts(op.inputs[3], of: op, "strides")
    guard begin.count == xs.count, end.count == xs.count, strides.count == xs.count else {
      throw fail("begin, end and strides must have one entry per input dimension (\(xs.count))")
    }
    guard try o.int(S.ellipsisMask) == 0, try o.int(S.newAxisMask) == 0 else {
      throw fail("ellipsis_mask and new_axis_mask are not supported")
    }
    guard try !o.bool(S.offset) else {
      throw fail("offset = true is not supported (TFLite and TFLite Micro read it differently)")
    }
    let beginMask = try o.int(S.beginMask)
    let endMask = try o.int(S.endMask)
    let shrinkMask = try o.int(S.shrinkAxisMask)
    var b = Array(repeating: 0, count: xs.count)
    var e = xs
    var s = Array(repeating: 1, count: xs.count)
    let bound = Verifier.maxElements
    for d in xs.indices {
      let dim = xs[d]
      let stride = strides[d]
      guard stride != 0, abs(stride) <= bound else {
        throw fail("stride \(stride) must be non-zero and at most \(bound)")
      }
      let bit = 1 << d
      func clamp(_ v: Int) -> Int { stride > 0 ? min(max(v, 0), dim) : min(max(v, -1), dim - 1) }
      var start = min(max(begin[d], -bound), bound)
      if start < 0 { start += dim }
      start = clamp(start)
      if beginMask & bit != 0 { start = stride > 0 ? 0 : dim - 1 }
      if shrinkMask & bit != 0 {
        guard (0..<dim).contains(start) else { throw fail("shrunk axis \(d) starts outside the input") }
        b[d] = start
        e[d] = start + 1
        continue
      }
      var stop = min(max(end[d], -bound), bound)
      if stop < 0 { stop += dim }
      stop = clamp(stop)
      if endMask & bit != 0 { stop = stride > 0 ? dim : -1 }
      b[d] = start
      e[d] = stop
      s[d] = stride
    }
    return .stridedSlice(begin: b, end: e, strides: s)
  }
}
