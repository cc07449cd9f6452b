import TinyIR

/// The tensors of an integer graph whose width `mixed-precision` may choose (8, 4 or 2 bits),
/// grouped so that tensors that must keep one quantization change together.
///
/// - A **weight** is the constant weight operand of a quantized conv2d, depthwise_conv2d or
///   fully_connected (8/4/2-bit integers, symmetric: zero points 0), read by no other kind of op.
/// - An **activation** is an op result at 8/4/2 bits with one scale and zero point, not a model
///   output, defined and read only by ops whose kernels take every width (conv2d,
///   depthwise_conv2d and fully_connected as their data operand or result, average_pool2d,
///   max_pool2d, add, concat, quantize, dequantize, and reshape, which is a view of the packed
///   bytes). Model inputs and outputs are never cut, nor their integer forms in a model with
///   float I/O (the result of `quantize(input)`, the operand of `dequantize` giving an output).
/// - Tied together: a reshape's operand and result (they are the same bytes), a pool's operand
///   and result (TFLite's pools keep their input's quantization), and the operands and result of
///   a concat that all share one quantization (the kernel then copies bytes). A group with one
///   member that may not be cut is not cut at all.
public struct PrecisionCandidates: Sendable {
  public enum Kind: String, Sendable { case weight, activation }

  public struct Group: Sendable {
    public var kind: Kind
    /// In the order the graph defines them.
    public var members: [ValueID]
    /// False when a member may not change width (the whole group then stays as it is).
    public var cuttable: Bool
  }

  public var groups: [Group] = []
  /// The group of each member.
  public var groupOf: [ValueID: Int] = [:]
  /// Weight and activation tensors in graph order (weights before the result of the op that
  /// reads them), the rows of the precision table.
  public var tensors: [ValueID] = []
  /// For a weight: the axis of its output channels (OHWI: 0, depthwise 1HWC: 3, [out, in]: 0).
  public var channelAxis: [ValueID: Int] = [:]

  public init(_ g: Graph) {
    let users = g.users()
    let definers = g.definingOps()
    let outputs = Set(g.outputs)
    // Union-find over the activation values that are tied together.
    var parent: [ValueID: ValueID] = [:]
    func find(_ v: ValueID) -> ValueID {
      var r = v
      while let p = parent[r], p != r { r = p }
      return r
    }
    func union(_ a: ValueID, _ b: ValueID) {
      let (ra, rb) = (find(a), find(b))
      if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
    }
    // The model's own input and output as the integer graph carries them: quantize(input) and
    // the operand of a dequantize that is a graph output (an ONNX model with float I/O).
    var io = outputs
    let inputs = Set(g.inputs)
    for op in g.ops {
      if op.kind == .quantize, let x = op.inputs.first, inputs.contains(x) { io.formUnion(op.outputs) }
      if op.kind == .dequantize, op.outputs.contains(where: outputs.contains) { io.formUnion(op.inputs) }
    }
    var activations: [ValueID] = []
    var ok: [ValueID: Bool] = [:]
    for op in g.ops {
      if let w = Self.weight(of: op, g), channelAxis[w] == nil {
        let readers = users[w] ?? []
        let axis = op.kind.weightChannelAxis ?? 0
        let allLayers = readers.allSatisfy { j in
          g.ops[j].inputs.firstIndex(of: w) == 1 && g.ops[j].inputs.lastIndex(of: w) == 1
            && Self.weight(of: g.ops[j], g) == w && g.ops[j].kind.weightChannelAxis == axis
        }
        if allLayers && !outputs.contains(w) {
          channelAxis[w] = axis
          groupOf[w] = groups.count
          groups.append(Group(kind: .weight, members: [w], cuttable: true))
          tensors.append(w)
        }
      }
      for v in op.outputs {
        let t = g.type(of: v)
        guard Self.isNarrowInteger(t.elementType), let q = t.quantization, !q.isPerAxis else { continue }
        activations.append(v)
        parent[v] = v
        let usersOK = (users[v] ?? []).allSatisfy { j in Self.takesAnyWidth(g.ops[j], operand: v) }
        ok[v] = !io.contains(v) && Self.takesAnyWidth(op, result: v, g) && usersOK
      }
    }
    // Ties.
    for op in g.ops {
      guard let y = op.outputs.first, parent[y] != nil else { continue }
      switch op.kind {
      case .reshape, .maxPool2d, .averagePool2d:
        if let x = op.inputs.first {
          if parent[x] != nil { union(x, y) } else { ok[y] = false }
        }
      case .concat:
        let q = g.type(of: y).quantization
        let same = op.inputs.allSatisfy { g.type(of: $0).quantization == q && g.type(of: $0).elementType == g.type(of: y).elementType }
        if same {
          for x in op.inputs {
            if parent[x] != nil { union(x, y) } else { ok[y] = false }
          }
        }
      default: break
      }
    }
    var groupOfRoot: [ValueID: Int] = [:]
    for v in activations {
      let r = find(v)
      if let k = groupOfRoot[r] {
        groups[k].members.append(v)
        groups[k].cuttable = groups[k].cuttable && ok[v] == true
        groupOf[v] = k
      } else {
        groupOfRoot[r] = groups.count
        groupOf[v] = groups.count
        groups.append(Group(kind: .activation, members: [v], cuttable: ok[v] == true))
      }
    }
    // Rows: in op order, a layer's weight before its results; activations only when cuttable.
    var rows: [ValueID] = []
    var seen = Set<ValueID>()
    for op in g.ops {
      for v in op.inputs + op.outputs where !seen.contains(v) {
        guard let k = groupOf[v], groups[k].cuttable else { continue }
        if groups[k].kind == .activation && definers[v] == nil { continue }
        seen.insert(v)
        rows.append(v)
      }
    }
    tensors = rows
  }

  /// The group of `v` when it may change width.
  public func cuttableGroup(of v: ValueID) -> Int? {
    guard let k = groupOf[v], groups[k].cuttable else { return nil }
    return k
  }

  static func isNarrowInteger(_ t: ElementType) -> Bool { t == .i8 || t == .i4 || t == .i2 }

  /// The constant weights of a conv/depthwise/fully-connected layer on 8/4/2-bit integers.
  static func weight(of op: Op, _ g: Graph) -> ValueID? {
    guard op.kind.weightChannelAxis != nil, op.inputs.count >= 2, op.outputs.count == 1 else { return nil }
    let (x, w, y) = (op.inputs[0], op.inputs[1], op.outputs[0])
    guard isNarrowInteger(g.type(of: x).elementType), isNarrowInteger(g.type(of: y).elementType),
      g.isConstant(w), isNarrowInteger(g.type(of: w).elementType), let q = g.type(of: w).quantization,
      q.zeroPoints.allSatisfy({ $0 == 0 })
    else { return nil }
    if let axis = q.axis, axis != op.kind.weightChannelAxis { return nil }
    if op.inputs.count > 2, g.type(of: op.inputs[2]).elementType != .i32 { return nil }
    return w
  }

  /// Whether `op`'s kernel reads `operand` at any width.
  static func takesAnyWidth(_ op: Op, operand v: ValueID) -> Bool {
    switch op.kind {
    case .conv2d, .depthwiseConv2d, .fullyConnected:
      return op.inputs.first == v && !op.inputs.dropFirst().contains(v)
    case .averagePool2d, .maxPool2d, .reshape, .quantize, .dequantize:
      return op.inputs.first == v
    case .add, .concat:
      return true
    default:
      return false
    }
  }

  /// Whether `op`'s kernel writes its result `v` at any width.
  static func takesAnyWidth(_ op: Op, result v: ValueID, _ g: Graph) -> Bool {
    switch op.kind {
    case .conv2d, .depthwiseConv2d, .fullyConnected:
      return weight(of: op, g) != nil
    case .averagePool2d, .maxPool2d, .reshape, .quantize, .add, .concat:
      return true
    default:
      return false
    }
  }
}

extension OpKind {
  /// The output-channel axis of a conv2d / depthwise_conv2d / fully_connected layer's weights.
  var weightChannelAxis: Int? {
    switch self {
    case .conv2d, .fullyConnected: return 0
    case .depthwiseConv2d: return 3
    default: return nil
    }
  }
}
