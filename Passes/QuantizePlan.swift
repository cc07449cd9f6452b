import TinyIR

/// Which quantization every float activation of a graph gets, decided as the TFLite converter
/// decides it (see `quantize`): calibrated ranges as TFLite's calibrator records them, then
/// the converter's propagation through ops whose operands and result share one scale.
struct ActivationPlan {
  /// The int8 quantization of every f32 graph input and op result.
  var params: [ValueID: Quantization] = [:]

  /// `graph` is the float graph as it will be quantized; `ranges` the smallest and largest
  /// value of each of its values over the calibration samples.
  init(_ graph: Graph, ranges observed: [ValueID: ClosedRange<Float>]) {
    let ranges = ActivationPlan.rangesAsLogged(graph, observed)
    let producer = graph.definingOps()
    var withStats = Set(graph.inputs.filter { ranges[$0] != nil })
    for op in graph.ops { withStats.formUnion(op.outputs.filter { ranges[$0] != nil }) }

    // Ranges the converter drops: results with a fixed quantization, and results of
    // single-operand same-scale ops (they take their operand's).
    var dropped = Set<ValueID>()
    for op in graph.ops {
      if QuantRules.int8FixedOutput(op.kind) != nil { dropped.formUnion(op.outputs) }
      if QuantRules.sharesScale(op.kind), ActivationPlan.floatOperands(op, graph) <= 1, op.inputs.contains(where: withStats.contains) {
        dropped.formUnion(op.outputs)
      }
    }
    // From every range still kept on a same-scale op's result, the ranges of its operands are
    // dropped, and on back through chains of same-scale ops: they take the result's.
    var work = withStats.subtracting(dropped).sorted { $0.index < $1.index }
    var visited = Set<ValueID>()
    while let v = work.popLast() {
      guard visited.insert(v).inserted, let p = producer[v], QuantRules.sharesScale(graph.ops[p].kind) else { continue }
      for x in graph.ops[p].inputs where withStats.contains(x) {
        dropped.insert(x)
        work.append(x)
      }
    }

    for v in withStats.subtracting(dropped) {
      if let r = ranges[v] { params[v] = QuantRules.activation(min: r.lowerBound, max: r.upperBound) }
    }
    for op in graph.ops {
      if let fixed = QuantRules.int8FixedOutput(op.kind) { for v in op.outputs { params[v] = fixed } }
    }
    // A same-scale op's result quantization goes back to operands that have none (later ops
    // first: the last reader decides), then forward to results that have none.
    for op in graph.ops.reversed() where QuantRules.sharesScale(op.kind) {
      guard let out = op.outputs.first, let q = params[out] else { continue }
      for x in op.inputs where !graph.isConstant(x) && graph.type(of: x).elementType == .f32 && params[x] == nil {
        params[x] = q
      }
    }
    for op in graph.ops where QuantRules.sharesScale(op.kind) {
      guard let out = op.outputs.first, params[out] == nil,
        let x = op.inputs.first(where: { !graph.isConstant($0) }), let q = params[x]
      else { continue }
      params[out] = q
    }
    // Anything still open (not reachable by the rules above) is quantized from its own range.
    for v in withStats where params[v] == nil {
      if let r = ranges[v] { params[v] = QuantRules.activation(min: r.lowerBound, max: r.upperBound) }
    }
  }

  /// The f32 operands (activations and constants) of an op; the converter treats same-scale
  /// ops with more than one as taking their result's scale.
  static func floatOperands(_ op: Op, _ graph: Graph) -> Int {
    op.inputs.filter { graph.type(of: $0).elementType == .f32 }.count
  }

  /// The ranges as TFLite's calibrator records them. It logs every op's float operands before
  /// the op runs and again after it, and its interpreter runs add, sub, mul, div and softmax
  /// in place: the result overwrites operand 0 (else operand 1) when that operand has the
  /// result's size (more than one element), is read by this op only, is neither a graph input
  /// nor a constant, and the result is not a graph output. The overwritten operand's range
  /// then includes the result's. (A reshape shares its operand's buffer too, with the same
  /// conditions except size and readers; an op that would overwrite such a shared buffer runs
  /// in place only if the buffer's first tensor has a single reader.)
  static func rangesAsLogged(_ graph: Graph, _ observed: [ValueID: ClosedRange<Float>]) -> [ValueID: ClosedRange<Float>] {
    var ranges = observed
    var readers: [ValueID: Int] = [:]
    for op in graph.ops { for v in op.inputs { readers[v, default: 0] += 1 } }
    for v in graph.outputs { readers[v, default: 0] += 1 }
    let inputs = Set(graph.inputs)
    let outputs = Set(graph.outputs)
    var buffer: [ValueID: ValueID] = [:]
    for op in graph.ops {
      guard let out = op.outputs.first, let spec = inPlaceSlots(op.kind), !outputs.contains(out) else { continue }
      let overwrites = spec.overwrites
      let outType = graph.type(of: out)
      let shared = spec.slots.lazy.filter { $0 < op.inputs.count }.map { op.inputs[$0] }.first { x in
        guard !inputs.contains(x), !graph.isConstant(x) else { return false }
        guard overwrites else { return true }
        let t = graph.type(of: x)
        return t.elementType == .f32 && outType.elementType == .f32 && t.elementCount == outType.elementCount
          && t.elementCount > 1 && readers[x, default: 0] <= 1
      }
      guard let x = shared else { continue }
      let first = buffer[x] ?? x
      if overwrites {
        guard readers[first, default: 0] <= 1 else { continue }
        if let a = ranges[x], let b = ranges[out] {
          ranges[x] = Swift.min(a.lowerBound, b.lowerBound)...Swift.max(a.upperBound, b.upperBound)
        }
      }
      buffer[out] = first
    }
    return ranges
  }

  /// The operands TFLite's interpreter may share with the result, in the order it tries them,
  /// and whether the op overwrites them (false: the result only views the operand's bytes).
  static func inPlaceSlots(_ kind: OpKind) -> (slots: [Int], overwrites: Bool)? {
    switch kind {
    case .add, .sub, .mul, .div: return ([0, 1], true)
    case .softmax: return ([0], true)
    case .reshape: return ([0], false)
    default: return nil
    }
  }
}

extension Graph {
  /// A concat with a fused activation (fuse-activations makes them in float graphs) becomes a
  /// concat followed by the standalone activation: the TFLite converter keeps the two apart
  /// (its int8 concatenation has no activation), and each gets its own quantization.
  mutating func separateConcatActivations() {
    var result: [Op] = []
    for op in ops {
      guard case .concat(let axis, let act) = op.kind, let kind = act.standaloneOp, let y = op.outputs.first else {
        result.append(op)
        continue
      }
      let joined = addValue(name: freshName(self[y].name + "_concat"), type: type(of: y))
      result.append(Op(.concat(axis: axis, .none), inputs: op.inputs, outputs: [joined], location: Location(source: "quantize", name: self[y].name)))
      result.append(Op(kind, inputs: [joined], outputs: op.outputs, location: op.location))
    }
    ops = result
  }
}

extension Activation {
  /// The standalone op that applies this activation.
  fileprivate var standaloneOp: OpKind? {
    switch self {
    case .none: return nil
    case .relu: return .relu
    case .relu6: return .relu6
    case .reluN1To1: return .clip(min: -1, max: 1)
    case .clip(let lo, let hi): return .clip(min: lo, max: hi)
    }
  }
}
