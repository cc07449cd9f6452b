import TinyIR

/// `fuse-activations`: a standalone `relu`, `relu6` or `clip` whose operand is produced by a
/// conv2d, depthwise_conv2d, fully_connected, add, sub, mul, concat, average_pool2d or
/// max_pool2d and read by nothing else becomes that op's fused activation. The op now
/// produces the activation's value and takes its location. Before:
///
///     %c = conv2d(%x, %w, %b) {stride [1, 1]} : 1x4x4x8xf32 loc(onnx "conv")
///     %r = clip(%c) {min 0.0, max 6.0} : 1x4x4x8xf32 loc(onnx "clip")
///
/// after:
///
///     %r = conv2d(%x, %w, %b) {stride [1, 1], act relu6} : 1x4x4x8xf32 loc(onnx "clip")
///
/// A clip to [0, ∞) becomes `relu`, to [0, 6] `relu6`, to [-1, 1] `relu_n1_to_1`, any other
/// range a clip activation; an op that already has an activation gets the intersection of
/// both ranges. In quantized graphs the activation's operand and result must have the same
/// type (same quantization), so that clamping in the producer's output codes is exact; concat
/// is not fused there (TFLite's int8 concatenation has no fused activation).
public let fuseActivations = Pass("fuse-activations") { graph, options in
  try rejectOptions(options, pass: "fuse-activations")
  graph.fuseActivations()
}

extension Graph {
  fileprivate mutating func fuseActivations() {
    var definers = definingOps()
    let uses = useCounts()
    var removed = Set<Int>()
    for i in ops.indices {
      guard let range = ops[i].kind.standaloneActivationRange, ops[i].inputs.count == 1, ops[i].outputs.count == 1
      else { continue }
      let x = ops[i].inputs[0]
      let y = ops[i].outputs[0]
      guard let p = definers[x], !removed.contains(p), uses[x, default: 0] == 1, ops[p].outputs.count == 1,
        let current = ops[p].kind.fusableActivation
      else { continue }
      let tx = type(of: x)
      let ty = type(of: y)
      if tx.elementType.isFloat {
        guard ty.elementType.isFloat else { continue }
      } else {
        guard tx == ty, tx.quantization != nil, !ops[p].kind.isConcat else { continue }
      }
      let lo = max(current.range?.min ?? -.infinity, range.min)
      let hi = min(current.range?.max ?? .infinity, range.max)
      guard lo <= hi else { continue }
      ops[p].kind = ops[p].kind.with(activation: Activation(min: lo, max: hi))
      ops[p].outputs = [y]
      ops[p].location = ops[i].location
      definers[y] = p
      removed.insert(i)
    }
    removeOps(removed)
  }
}

extension Activation {
  /// The activation that clamps to `[min, max]`, by its TFLite name when it has one.
  fileprivate init(min: Float, max: Float) {
    switch (min, max) {
    case (-.infinity, .infinity): self = .none
    case (0, .infinity): self = .relu
    case (0, 6): self = .relu6
    case (-1, 1): self = .reluN1To1
    default: self = .clip(min, max)
    }
  }
}

extension OpKind {
  /// The clamp range of a standalone relu, relu6 or clip op.
  fileprivate var standaloneActivationRange: (min: Float, max: Float)? {
    switch self {
    case .relu: return (0, .infinity)
    case .relu6: return (0, 6)
    case .clip(let lo, let hi): return (lo, hi)
    default: return nil
    }
  }

  /// The current fused activation of the ops that can take one from this pass.
  fileprivate var fusableActivation: Activation? {
    switch self {
    case .conv2d, .depthwiseConv2d, .fullyConnected, .add, .sub, .mul, .concat, .averagePool2d, .maxPool2d:
      return activation
    default: return nil
    }
  }

  fileprivate var isConcat: Bool {
    if case .concat = self { return true }
    return false
  }

  /// The same op with another fused activation.
  fileprivate func with(activation a: Activation) -> OpKind {
    switch self {
    case .conv2d(let w, _): return .conv2d(w, a)
    case .depthwiseConv2d(let w, let m, _): return .depthwiseConv2d(w, depthMultiplier: m, a)
    case .fullyConnected(_, let keep): return .fullyConnected(a, keepNumDims: keep)
    case .averagePool2d(let w, let fh, let fw, _): return .averagePool2d(w, filterH: fh, filterW: fw, a)
    case .maxPool2d(let w, let fh, let fw, _): return .maxPool2d(w, filterH: fh, filterW: fw, a)
    case .add: return .add(a)
    case .sub: return .sub(a)
    case .mul: return .mul(a)
    case .div: return .div(a)
    case .concat(let axis, _): return .concat(axis: axis, a)
    default: return self
    }
  }
}
