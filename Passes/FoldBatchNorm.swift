import TinyIR

/// `fold-batchnorm`: a float conv2d, depthwise_conv2d or fully_connected without a fused
/// activation, whose result is read only by a `batch_norm` with constant parameters, becomes
/// one op with scaled weights and an adjusted bias (created when the op had none):
///
///     s[c]  = scale[c] / sqrt(var[c] + epsilon)
///     w'[c] = w[c] · s[c]                       (c = output channel)
///     b'[c] = (b[c] − mean[c]) · s[c] + bias[c]
///
/// The op now produces the batch_norm's value and takes its location. Before:
///
///     %w = const 2x1x1x1xf32 dense<…>
///     %gamma = const 2xf32 dense<…>  (and %beta, %mean, %var)
///     %c = conv2d(%x, %w) {stride [1, 1]} : 1x4x4x2xf32 loc(onnx "conv")
///     %y = batch_norm(%c, %gamma, %beta, %mean, %var) {epsilon 0.001} : 1x4x4x2xf32 loc(onnx "bn")
///
/// after:
///
///     %w = const 2x1x1x1xf32 dense<…w·s…>
///     %w_bias = const 2xf32 dense<…b'…>
///     %y = conv2d(%x, %w, %w_bias) {stride [1, 1]} : 1x4x4x2xf32 loc(onnx "bn")
///
/// Weights or a bias that other ops also read are copied, not changed in place. Constants the
/// rewrite leaves unread are dropped. A bias-less op followed by an `add` of a constant
/// per-channel vector (ONNX MatMul + Add) gets that vector as its bias the same way:
///
///     %f = fully_connected(%x, %w) : 1x10xf32 loc(onnx "matmul")
///     %y = add(%f, %k) : 1x10xf32 loc(onnx "add")
///       ->
///     %y = fully_connected(%x, %w, %k_bias) : 1x10xf32 loc(onnx "add")
public let foldBatchNorm = Pass("fold-batchnorm") { graph, options in
  try rejectOptions(options, pass: "fold-batchnorm")
  graph.foldBatchNorms()
  let before = graph.constants.keys
  graph.foldBiasAdds { g, k in g.floatConstant(k) }
  graph.dropUnusedConstants(among: Array(before))
}

extension Graph {
  fileprivate mutating func foldBatchNorms() {
    let definers = definingOps()
    var removed = Set<Int>()
    var touched: [ValueID] = []
    for i in ops.indices {
      guard case .batchNorm(let epsilon) = ops[i].kind, ops[i].inputs.count == 5,
        let p = definers[ops[i].inputs[0]], !removed.contains(p),
        let channelAxis = ops[p].kind.batchNormFoldableChannelAxis,
        useCounts()[ops[i].inputs[0], default: 0] == 1,
        ops[p].inputs.count >= 2, ops[p].outputs.count == 1,
        type(of: ops[p].inputs[0]).elementType == .f32,
        let w = floatConstant(ops[p].inputs[1])
      else { continue }
      let params = ops[i].inputs[1...].map { floatConstant($0) }
      guard params.allSatisfy({ $0 != nil }) else { continue }
      let (gamma, beta, mean, variance) = (params[0] ?? [], params[1] ?? [], params[2] ?? [], params[3] ?? [])
      let wShape = type(of: ops[p].inputs[1]).shape
      let channels = wShape[channelAxis]
      guard gamma.count == channels else { continue }
      var bias = [Float](repeating: 0, count: channels)
      if ops[p].inputs.count == 3 {
        guard let b = floatConstant(ops[p].inputs[2]), b.count == channels else { continue }
        bias = b
      }
      let s = (0..<channels).map { c in Double(gamma[c]) / (Double(variance[c]) + Double(epsilon)).squareRoot() }
      // Element k of the weights belongs to output channel (k / inner) % channels.
      let inner = wShape[(channelAxis + 1)...].reduce(1, *)
      let newW = w.indices.map { k in Float(Double(w[k]) * s[(k / inner) % channels]) }
      let newB = (0..<channels).map { c in Float((Double(bias[c]) - Double(mean[c])) * s[c] + Double(beta[c])) }

      let uses = useCounts()
      let wID = replaceConstant(ops[p].inputs[1], bytes: NDArray.floatBytes(newW), uses: uses)
      let bID: ValueID
      if ops[p].inputs.count == 3 {
        bID = replaceConstant(ops[p].inputs[2], bytes: NDArray.floatBytes(newB), uses: uses)
      } else {
        bID = addConstant(
          name: freshName(self[ops[p].inputs[1]].name + "_bias"), type: TensorType([channels], .f32),
          bytes: NDArray.floatBytes(newB))
      }
      touched += ops[p].inputs[1...] + ops[i].inputs[1...]
      ops[p].inputs = [ops[p].inputs[0], wID, bID]
      ops[p].outputs = ops[i].outputs
      ops[p].location = ops[i].location
      removed.insert(i)
    }
    removeOps(removed)
    dropUnusedConstants(among: touched)
  }

  /// Gives constant `id` new bytes: in place when only one op reads it, else as a copy.
  fileprivate mutating func replaceConstant(_ id: ValueID, bytes: [UInt8], uses: [ValueID: Int]) -> ValueID {
    if uses[id, default: 0] == 1 {
      constants[id] = ConstantData(bytes)
      return id
    }
    return addConstant(name: freshName(self[id].name + "_folded"), type: type(of: id), bytes: bytes)
  }
}

extension OpKind {
  /// The output-channel axis of the weights when a following batch_norm can fold into this op
  /// (conv2d: OHWI axis 0; depthwise: 1HWC axis 3; fully_connected: [out, in] axis 0).
  fileprivate var batchNormFoldableChannelAxis: Int? {
    switch self {
    case .conv2d(_, .none): return 0
    case .depthwiseConv2d(_, _, .none): return 3
    case .fullyConnected(.none, _): return 0
    default: return nil
    }
  }
}

extension Graph {
  /// `add(op(x, w), k)` → `op(x, w, k)` for a float conv2d, depthwise_conv2d or
  /// fully_connected without bias and activation, read only by the add, and `k` a per-channel
  /// vector (`[C]` or `[1, …, 1, C]`) whose real values `realValue` knows (a float constant, or
  /// in QDQ graphs a dequantized one). The op takes the add's value, activation and location;
  /// the bias is a new f32 constant `[C]`. This is ONNX's MatMul + Add (and TF's BiasAdd).
  mutating func foldBiasAdds(realValue: (Graph, ValueID) -> [Float]?) {
    let definers = definingOps()
    let uses = useCounts()
    var removed = Set<Int>()
    for i in ops.indices {
      guard case .add(let act) = ops[i].kind, ops[i].inputs.count == 2 else { continue }
      for (a, k) in [(ops[i].inputs[0], ops[i].inputs[1]), (ops[i].inputs[1], ops[i].inputs[0])] {
        guard let p = definers[a], !removed.contains(p), uses[a, default: 0] == 1, ops[p].inputs.count == 2,
          ops[p].kind.batchNormFoldableChannelAxis != nil, type(of: a).elementType == .f32,
          type(of: ops[i].outputs[0]).shape == type(of: a).shape,
          let c = type(of: a).shape.last, let values = realValue(self, k), values.count == c,
          type(of: k).shape.dropLast().allSatisfy({ $0 == 1 }), type(of: k).shape.last == c
        else { continue }
        let b = addConstant(
          name: freshName(self[k].name + "_bias"), type: TensorType([c], .f32), bytes: NDArray.floatBytes(values))
        ops[p].inputs.append(b)
        ops[p].kind = ops[p].kind.withFusedActivation(act)
        ops[p].outputs = ops[i].outputs
        ops[p].location = ops[i].location
        removed.insert(i)
        break
      }
    }
    removeOps(removed)
  }
}

extension OpKind {
  /// conv2d / depthwise_conv2d / fully_connected with another activation.
  fileprivate func withFusedActivation(_ a: Activation) -> OpKind {
    switch self {
    case .conv2d(let w, _): return .conv2d(w, a)
    case .depthwiseConv2d(let w, let m, _): return .depthwiseConv2d(w, depthMultiplier: m, a)
    case .fullyConnected(_, let keep): return .fullyConnected(a, keepNumDims: keep)
    default: return self
    }
  }
}
