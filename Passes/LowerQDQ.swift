import TinyIR

/// `lower-qdq{io=float|int8}`: turns a QDQ graph (float ops between `dequantize` and
/// `quantize`, as ONNX QDQ models and fake-quantized TFLite models look) into the integer
/// graph the TFLite int8 path has. An op whose result is read only by `quantize` ops to one
/// integer type, and whose operands can all be had as integers, runs on integers:
/// - an activation operand `dequantize(%a)` (per tensor) is replaced by `%a`;
/// - conv2d / depthwise_conv2d / fully_connected weights `dequantize(%w)` (an i8/i4/i2 constant,
///   zero points 0) become `%w`, made per output channel if it was per tensor;
/// - a bias `dequantize(%b)` (int32 constant) or a float constant bias becomes int32 with
///   scale `s_in · s_w[c]` (requantized when its own scale differs);
/// - other float constant operands are quantized per tensor from their own range;
/// - the result gets the quantization of the `quantize` that follows, except where TFLite
///   fixes it (pools, reshape, transpose, strided_slice, pad, relu6 keep their input's;
///   softmax and logistic give (1/256, -128), tanh (1/128, 0), log_softmax (16/256, 127)),
///   in which case the following `quantize` stays as an int8 → int8 requantize; a global
///   average pool whose `quantize` differs from its input becomes `mean` over H and W (as
///   TFLite runs GlobalAveragePooling2D), which takes the `quantize`'s parameters.
///
/// Sub-byte QDQ (ONNX int4/uint4, QCDQ clips imported as i4/i2) keeps its bits: conv2d,
/// depthwise_conv2d, fully_connected, average/max pools, add, concat and reshape take i4/i2
/// activations and weights and give the i4/i2 result their `quantize` asks for; any other op
/// takes and gives i8 only (it stays float next to sub-byte tensors). Graph inputs and outputs
/// change type only when they are int8 (`io=int8`).
/// Before:
///
///     %xd = dequantize(%xq) : 1x4x4x2xf32 loc(onnx "dq_x")
///     %wd = dequantize(%w) : 4x1x1x2xf32 loc(onnx "dq_w")
///     %bd = dequantize(%b) : 4xf32 loc(onnx "dq_b")
///     %c = conv2d(%xd, %wd, %bd) {stride [1, 1]} : 1x4x4x4xf32 loc(onnx "conv")
///     %cq = quantize(%c) : 1x4x4x4xi8 q(0.05, -10) loc(onnx "q_c")
///
/// after:
///
///     %c = conv2d(%xq, %w, %b) {stride [1, 1]} : 1x4x4x4xi8 q(0.05, -10) loc(onnx "conv")
///
/// Before that, an `add` of a dequantized constant vector after a bias-less conv or
/// fully_connected becomes its bias (ONNX MatMul + Add, see `fold-batchnorm`); a batch_norm
/// between a dequantize and a quantize becomes a 1x1 depthwise convolution (as TFLite folds
/// it); and reshape, transpose, strided_slice, pad and max_pool2d of a dequantized value run on
/// the integers with a dequantize after them (exact), so that the dequantize can meet the next
/// quantize.
/// Then `quantize(dequantize(%a))` pairs cancel (or become one requantize when their
/// parameters differ), and dead ops and constants are removed (as `eliminate-dead-code`).
/// Ops with no quantized follower, or operands that are not integer, stay float with their
/// `dequantize`/`quantize` around them. With `io=int8` a float graph input read only by
/// `quantize` ops becomes int8, and a graph output made by `dequantize` is returned as
/// integers; the default `io=float` keeps the model's interface.
public let lowerQDQ = Pass("lower-qdq") { graph, options in
  try checkOptionKeys(options, pass: "lower-qdq", known: ["io"])
  var int8IO = false
  if let io = options["io"] {
    guard io == "int8" || io == "float" else {
      throw PassError("lower-qdq: option io must be int8 or float, got '\(io)'")
    }
    int8IO = io == "int8"
  }
  graph.lowerQDQ(int8Interface: int8IO)
}

extension Graph {
  fileprivate mutating func lowerQDQ(int8Interface: Bool) {
    // MatMul + Add(dequantize(bias)) as one fully_connected with a bias.
    foldBiasAdds { g, k in g.realConstant(k, dequantized: g.dequantizedOperands()) }
    // Each dequantize's result → its integer operand (grows as dequantizes are moved).
    var dequantized: [ValueID: ValueID] = [:]
    for op in ops where op.kind == .dequantize { dequantized[op.outputs[0]] = op.inputs[0] }
    let users = self.users()
    let graphOutputs = Set(outputs)
    var removed = Set<Int>()
    var insertBefore: [Int: [Op]] = [:]
    var insertAfter: [Int: [Op]] = [:]
    for i in ops.indices {
      let op = ops[i]
      guard op.outputs.count == 1, let out = op.outputs.first, type(of: out).elementType == .f32 else { continue }
      let followers = users[out] ?? []
      // The integer type the followers quantize to: i8 for every op with an int8 form, also
      // i4 / i2 for the ops that run at every width.
      let followerType = followers.first.map { type(of: ops[$0].outputs[0]).elementType }
      let quantizedFollowers =
        !followers.isEmpty && !graphOutputs.contains(out)
        && followers.allSatisfy({ ops[$0].kind == .quantize && type(of: ops[$0].outputs[0]).elementType == followerType })
        && (followerType == .i8 || (followerType.map(\.isSubByte) == true && op.kind.hasSubByteForm))
      guard quantizedFollowers, let followerType else {
        // layout(dequantize(%a)) → dequantize(layout(%a)) for ops that only move or pick
        // values: exact, and the dequantize may then meet a quantize and cancel.
        if op.kind.movesValuesOnly, op.inputs.count == 1, let a = dequantized[op.inputs[0]],
          let q = type(of: a).quantization, q.axis == nil,
          type(of: a).elementType == .i8 || (type(of: a).elementType.isSubByte && op.kind.hasSubByteForm)
        {
          let f = addValue(name: freshName(self[out].name + "_dq"), type: type(of: out))
          replaceAllUses(of: out, with: f)
          ops[i].inputs = [a]
          self[out].type = TensorType(type(of: out).shape, type(of: a).elementType, q)
          insertAfter[i] = [Op(.dequantize, inputs: [out], outputs: [f], location: Location(source: "lower-qdq", name: self[out].name))]
          dequantized[f] = out
        }
        continue
      }
      guard let target = type(of: ops[followers[0]].outputs[0]).quantization, target.axis == nil,
        let plan = integerForm(op, dequantized: dequantized, target: target, resultType: followerType)
      else { continue }
      insertBefore[i] = plan.before
      ops[i].kind = plan.kind
      ops[i].inputs = plan.inputs
      self[out].type = TensorType(type(of: out).shape, plan.resultType, plan.output)
      for f in followers where type(of: ops[f].outputs[0]) == type(of: out) {
        let r = ops[f].outputs[0]
        replaceAllUses(of: r, with: out)
        for (k, a) in dequantized where a == r { dequantized[k] = out }
        removed.insert(f)
      }
    }
    var kept: [Op] = []
    for i in ops.indices {
      kept += insertBefore[i] ?? []
      if !removed.contains(i) { kept.append(ops[i]) }
      kept += insertAfter[i] ?? []
    }
    ops = kept
    cancelQuantizeDequantizePairs()
    widenSubByteOperands()
    if int8Interface { makeInterfaceInt8() }
    eliminateDeadCode()
  }

  /// `quantize(dequantize(%a))` → `%a` when the types agree, else `quantize(%a)` (requantize).
  fileprivate mutating func cancelQuantizeDequantizePairs() {
    let definers = definingOps()
    var removed = Set<Int>()
    for i in ops.indices where ops[i].kind == .quantize {
      guard let d = definers[ops[i].inputs[0]], ops[d].kind == .dequantize else { continue }
      let a = ops[d].inputs[0]
      let r = ops[i].outputs[0]
      if type(of: a) == type(of: r) {
        replaceAllUses(of: r, with: a)
        removed.insert(i)
      } else if type(of: a).quantization?.axis == nil, type(of: a).elementType.bits >= 8 {
        // (From a sub-byte value the pair stays: a fixed-point requantize rounds differently
        // from the float round trip.)
        ops[i].inputs = [a]
      }
    }
    removeOps(removed)
  }

  /// An op without a sub-byte form that reads an i4/i2 value (a transpose that
  /// `cancel-transposes` moved onto the integer side of a dequantize, before a Flatten) reads
  /// it widened to i8 instead: a `quantize` to i8 with the same scale and zero point, exact;
  /// a value-moving op's result, and reshapes of it, are i8 then too.
  fileprivate mutating func widenSubByteOperands() {
    var widened: [Op] = []
    for var op in ops {
      defer { widened.append(op) }
      guard op.kind != .quantize, op.kind != .dequantize, op.outputs.count == 1 else { continue }
      let out = op.outputs[0]
      let narrowOut = type(of: out).elementType.isSubByte
      if case .reshape = op.kind, narrowOut, type(of: op.inputs[0]).elementType == .i8 {
        self[out].type.elementType = .i8
        continue
      }
      guard !op.kind.hasSubByteForm, op.inputs.contains(where: { type(of: $0).elementType.isSubByte }) else { continue }
      for (k, v) in op.inputs.enumerated() where type(of: v).elementType.isSubByte {
        let t = type(of: v)
        let w = addValue(name: freshName(self[v].name + "_i8"), type: TensorType(t.shape, .i8, t.quantization))
        widened.append(Op(.quantize, inputs: [v], outputs: [w], location: Location(source: "lower-qdq", name: self[v].name)))
        op.inputs[k] = w
      }
      if narrowOut, op.kind.movesValuesOnly { self[out].type.elementType = .i8 }
    }
    ops = widened
  }

  /// Float inputs read only by identical quantizes become int8; dequantized outputs are
  /// returned as integers (model inputs and outputs are never 4 or 2 bits: those keep their
  /// quantize / dequantize).
  fileprivate mutating func makeInterfaceInt8() {
    let users = self.users()
    var removed = Set<Int>()
    for v in inputs where type(of: v).elementType == .f32 && !outputs.contains(v) {
      let us = users[v] ?? []
      guard let first = us.first, us.allSatisfy({ ops[$0].kind == .quantize }),
        Set(us.map { type(of: ops[$0].outputs[0]) }).count == 1, !type(of: ops[first].outputs[0]).elementType.isSubByte
      else { continue }
      self[v].type = type(of: ops[first].outputs[0])
      for u in us {
        replaceAllUses(of: ops[u].outputs[0], with: v)
        removed.insert(u)
      }
    }
    removeOps(removed)
    let definers = definingOps()
    outputs = outputs.map { v in
      if let d = definers[v], ops[d].kind == .dequantize, !type(of: ops[d].inputs[0]).elementType.isSubByte {
        return ops[d].inputs[0]
      }
      return v
    }
  }

  /// What an op needs to run on integers: its kind, new operands, its result's quantization
  /// and the ops to put in front of it; nil when it has to stay float.
  fileprivate mutating func integerForm(
    _ op: Op, dequantized: [ValueID: ValueID], target: Quantization, resultType: ElementType
  ) -> LoweringPlan? {
    // Operands may be sub-byte where the op runs at every width.
    let subByteOperands = op.kind.hasSubByteForm
    func int8Activation(_ v: ValueID) -> ValueID? {
      if let a = dequantized[v] {
        let t = type(of: a)
        let width = t.elementType == .i8 || (t.elementType.isSubByte && subByteOperands)
        return width && t.quantization?.axis == nil ? a : nil
      }
      guard let x = floatConstant(v) else { return nil }
      let q = QuantRules.asymmetricInt8(min: x.min() ?? 0, max: x.max() ?? 0)
      return addQuantizedConstant(from: v, x, q, .i8)
    }
    var plan = LoweringPlan(kind: op.kind, inputs: [], output: target, resultType: resultType)
    switch op.kind {
    case .conv2d, .depthwiseConv2d, .fullyConnected:
      guard let axis = QuantRules.weightChannelAxis(op.kind), let x = int8Activation(op.inputs[0]),
        let sIn = type(of: x).quantization?.scale,
        let w = weightOperand(op.inputs[1], axis: axis, dequantized: dequantized),
        let sW = type(of: w).quantization?.scales
      else { return nil }
      plan.inputs = [x, w]
      if op.inputs.count == 3 {
        guard let b = biasOperand(op.inputs[2], inputScale: sIn, weightScales: sW, dequantized: dequantized) else {
          return nil
        }
        plan.inputs.append(b)
      }
    case .batchNorm(let epsilon):
      return batchNormAsDepthwise(op, epsilon: epsilon, x: int8Activation(op.inputs[0]), dequantized: dequantized, target: target)
    case .concat:
      for v in op.inputs {
        guard let a = int8Activation(v) else { return nil }
        if type(of: a).quantization == target {
          plan.inputs.append(a)
        } else {
          let r = addValue(
            name: freshName(self[a].name + "_requant"), type: TensorType(type(of: a).shape, resultType, target))
          plan.before.append(
            Op(.quantize, inputs: [a], outputs: [r], location: Location(source: "lower-qdq", name: self[a].name)))
          plan.inputs.append(r)
        }
      }
    default:
      guard op.kind.hasInt8Form else { return nil }
      for v in op.inputs {
        guard let a = int8Activation(v) else { return nil }
        plan.inputs.append(a)
      }
      let inputQ = plan.inputs.first.flatMap { type(of: $0).quantization }
      if let fixed = QuantRules.fixedOutput(op.kind) {
        guard resultType == .i8 else { return nil }
        plan.output = fixed
      } else if isGlobalAveragePool(op), inputQ != target, resultType == .i8,
        plan.inputs.allSatisfy({ type(of: $0).elementType == .i8 })
      {
        // TFLite runs a global average pool as MEAN, which requantizes to its own output
        // parameters: one rounding, where an average pool (input's parameters) and a
        // requantize round twice. (At 4 and 2 bits it stays an average pool and a requantize:
        // mean has no sub-byte form.)
        plan.kind = .mean(axes: [1, 2], keepDims: true)
      } else if QuantRules.keepsInputQuantization(op.kind), let q = inputQ {
        plan.output = q
        // Keeping the input's quantization keeps its width too.
        if let x = plan.inputs.first { plan.resultType = type(of: x).elementType }
      }
    }
    return plan
  }

  /// An average pool over the whole of each channel (no padding, no activation).
  fileprivate func isGlobalAveragePool(_ op: Op) -> Bool {
    guard case .averagePool2d(let w, let fh, let fw, .none) = op.kind, let x = op.inputs.first else { return false }
    let s = type(of: x).shape
    return s.count == 4 && fh == s[1] && fw == s[2] && w.padding == .zero && type(of: op.outputs[0]).shape == [s[0], 1, 1, s[3]]
  }

  /// A batch norm between a dequantize and a quantize (left in QDQ models whose batch norm
  /// follows a quantized op) as TFLite would run it: a 1x1 depthwise convolution with int8
  /// weights `s[c] = scale[c] / sqrt(var[c] + eps)` and bias `bias[c] − mean[c]·s[c]`,
  /// with reshapes around it when the operand is not 4-D.
  fileprivate mutating func batchNormAsDepthwise(
    _ op: Op, epsilon: Float, x: ValueID?, dequantized: [ValueID: ValueID], target: Quantization
  ) -> LoweringPlan? {
    guard let x, let inQ = type(of: x).quantization else { return nil }
    let params = op.inputs[1...].map { realConstant($0, dequantized: dequantized) }
    guard params.allSatisfy({ $0 != nil }) else { return nil }
    let (gamma, beta, mean, variance) = (params[0] ?? [], params[1] ?? [], params[2] ?? [], params[3] ?? [])
    let shape = type(of: x).shape
    guard let c = shape.last, gamma.count == c, [beta, mean, variance].allSatisfy({ $0.count == c }) else { return nil }
    let form = QuantRules.batchNormAsDepthwise(
      gamma: gamma, beta: beta, mean: mean, variance: variance, epsilon: epsilon, inputScale: inQ.scale)
    let w = addConstant(name: freshName(self[op.inputs[1]].name + "_dw"), type: form.weights, bytes: form.weightBytes)
    let b = addConstant(name: freshName(self[op.inputs[2]].name + "_dw"), type: form.bias, bytes: form.biasBytes)
    let dw = OpKind.depthwiseConv2d(Window(), depthMultiplier: 1, .none)
    guard type(of: x).elementType == .i8 else { return nil }
    if shape.count == 4 { return LoweringPlan(kind: dw, inputs: [x, w, b], output: target, resultType: .i8) }
    // [..., C] → [rows, 1, 1, C] → depthwise → back.
    let rows = shape.dropLast().reduce(1, *)
    let flat = addValue(name: freshName(self[x].name + "_nhwc"), type: TensorType([rows, 1, 1, c], .i8, inQ))
    let conv = addValue(name: freshName(self[op.outputs[0]].name + "_nhwc"), type: TensorType([rows, 1, 1, c], .i8, target))
    var plan = LoweringPlan(kind: .reshape(shape: shape), inputs: [conv], output: target, resultType: .i8)
    plan.before = [
      Op(.reshape(shape: [rows, 1, 1, c]), inputs: [x], outputs: [flat], location: op.location),
      Op(dw, inputs: [flat, w, b], outputs: [conv], location: op.location),
    ]
    return plan
  }

  /// Each dequantize's result → its operand.
  fileprivate func dequantizedOperands() -> [ValueID: ValueID] {
    var d: [ValueID: ValueID] = [:]
    for op in ops where op.kind == .dequantize { d[op.outputs[0]] = op.inputs[0] }
    return d
  }

  /// The real values of a float constant or of `dequantize(constant)`.
  fileprivate func realConstant(_ v: ValueID, dequantized: [ValueID: ValueID]) -> [Float]? {
    if let x = floatConstant(v) { return x }
    guard let c = dequantized[v], let codes = integerConstant(c), let q = type(of: c).quantization else { return nil }
    let shape = type(of: c).shape
    let channels = q.axis.map { shape[$0] } ?? 1
    let inner = q.axis.map { shape[($0 + 1)...].reduce(1, *) } ?? 1
    return codes.enumerated().map { k, code in
      let ch = q.axis == nil ? 0 : (k / inner) % channels
      return Float(Double(q.scales[ch]) * Double(code - q.zeroPoints[ch]))
    }
  }

  /// Int8 weights per output channel from `dequantize(%w)` or a float constant.
  fileprivate mutating func weightOperand(_ v: ValueID, axis: Int, dequantized: [ValueID: ValueID]) -> ValueID? {
    let shape = type(of: v).shape
    guard let c = dequantized[v] else {
      guard let x = floatConstant(v) else { return nil }
      let (q, codes) = QuantRules.symmetricPerChannel(x, shape: shape, axis: axis)
      return addConstant(
        name: freshName(self[v].name + "_q"), type: TensorType(shape, .i8, q),
        bytes: NDArray.pack(codes, as: .i8, shape: shape).bytes)
    }
    let t = type(of: c)
    guard let data = constants[c], t.elementType == .i8 || t.elementType.isSubByte, let q = t.quantization,
      q.zeroPoints.allSatisfy({ $0 == 0 })
    else { return nil }
    if q.axis == axis { return c }
    guard q.axis == nil else { return nil }
    let n = shape[axis]
    let perChannel = Quantization(
      scales: [Float](repeating: q.scale, count: n), zeroPoints: [Int](repeating: 0, count: n), axis: axis)
    return addConstant(
      name: freshName(self[c].name + "_per_channel"), type: TensorType(t.shape, t.elementType, perChannel), bytes: data.bytes)
  }

  /// An int32 bias with scales `s_in · s_w[c]` from `dequantize(%b)` or a float constant.
  fileprivate mutating func biasOperand(
    _ v: ValueID, inputScale: Float, weightScales: [Float], dequantized: [ValueID: ValueID]
  ) -> ValueID? {
    let shape = type(of: v).shape
    let q = QuantRules.bias(inputScale: inputScale, weightScales: weightScales)
    guard q.scales.count == shape.first else { return nil }
    if let c = dequantized[v], let bq = type(of: c).quantization, type(of: c).elementType == .i32, let data = constants[c] {
      if type(of: c) == TensorType(shape, .i32, q) { return c }
      // The same scales up to float rounding: keep the codes.
      let sameScales =
        bq.zeroPoints.allSatisfy({ $0 == 0 }) && (bq.axis == 0 || bq.axis == nil)
        && (0..<q.scales.count).allSatisfy({ k in
          let s = bq.axis == nil ? bq.scale : bq.scales[k]
          return abs(s - q.scales[k]) <= 1e-6 * q.scales[k]
        })
      if sameScales {
        return addConstant(name: freshName(self[c].name + "_bias"), type: TensorType(shape, .i32, q), bytes: data.bytes)
      }
    }
    guard let real = realConstant(v, dequantized: dequantized) else { return nil }
    return addQuantizedConstant(from: v, real, q, .i32)
  }

  /// A new constant holding the codes of `x` under `q`, named after `v`.
  fileprivate mutating func addQuantizedConstant(from v: ValueID, _ x: [Float], _ q: Quantization, _ et: ElementType) -> ValueID {
    let shape = type(of: v).shape
    let codes = QuantRules.codes(x, q, shape: shape, type: et)
    return addConstant(
      name: freshName(self[v].name + "_q"), type: TensorType(shape, et, q), bytes: NDArray.pack(codes, as: et, shape: shape).bytes)
  }
}

/// The integer operands of an op being lowered.
private struct LoweringPlan {
  var kind: OpKind
  var inputs: [ValueID]
  var output: Quantization
  /// The result's integer type (i8, or i4 / i2 for ops with a sub-byte form).
  var resultType: ElementType
  var before: [Op] = []
}

extension ElementType {
  fileprivate var isSubByte: Bool { self == .i4 || self == .i2 }
}

extension OpKind {
  /// Ops that have an int8 kernel in TFLite Micro (and in tinyc's interpreter and back-end).
  fileprivate var movesValuesOnly: Bool {
    switch self {
    case .reshape, .transpose, .stridedSlice, .pad, .maxPool2d(_, _, _, .none): return true
    default: return false
    }
  }

  /// Ops whose operands and result may be 4 or 2 bits (issue 11's shared set; reshape is a
  /// view of the packed bytes).
  fileprivate var hasSubByteForm: Bool {
    switch self {
    case .conv2d, .depthwiseConv2d, .fullyConnected, .averagePool2d, .maxPool2d, .add, .concat, .reshape: return true
    default: return false
    }
  }

  fileprivate var hasInt8Form: Bool {
    switch self {
    case .conv2d, .depthwiseConv2d, .fullyConnected, .averagePool2d, .maxPool2d, .reshape, .softmax, .logSoftmax,
      .add, .sub, .mul, .concat, .pad, .mean, .logistic, .tanh, .relu, .relu6, .leakyRelu, .hardSwish,
      .transpose, .stridedSlice:
      return true
    default: return false
    }
  }
}
