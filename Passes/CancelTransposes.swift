import TinyIR

/// `cancel-transposes`: removes the layout changes that cancel out. The ONNX importer runs
/// each 1-D convolution or pool as a 2-D NHWC one, with a reshape and a transpose on each
/// side; between two such ops the NHWC → NCL → NHWC round trip is pure data movement, and in
/// a QDQ model it also keeps `lower-qdq` from seeing a dequantize next to its conv. This
/// pass, repeated until nothing changes:
/// - merges a reshape of a reshape into one, and a transpose of a transpose into one
///   (permutations composed), when the inner result has no other reader; a chain of them that
///   leaves the elements in their order (transpose → reshape → transpose around a 1-D op's
///   channels-last input) becomes one reshape;
/// - moves a transpose or reshape onto the integer side of a per-tensor quantize (down,
///   `Q(L(x))` → `L(Q(x))`) or dequantize (up, `L(DQ(q))` → `DQ(L(q))`) it alone touches:
///   it then moves int8 data, and the dequantize → op → quantize groups `lower-qdq` turns
///   into integer ops are left whole;
/// - moves a transpose or reshape across a chain of other element-wise unary ops (relu,
///   relu6, clip, leaky_relu, hard_swish, hard_sigmoid, logistic, tanh), each read by the
///   next alone, when on the far side of the chain there is another reshape or transpose to
///   merge with or a graph input: up (`L(U(a))` → `U(L(a))`); failing that, down
///   (`U(L(a))` → `L(U(a))`) towards one that reads the chain's result or a graph output.
///   Without such a partner it stays where the importer put it;
/// - removes a reshape to the operand's own type and a transpose by the identity
///   permutation (unless its result is a graph output).
///
/// Before:
///
///     %t = transpose(%c) {perm [0, 3, 1, 2]} : 1x8x1x20xf32 loc(onnx "conv")
///     %c1 = reshape(%t) {shape [1, 8, 20]} : 1x8x20xf32 loc(onnx "conv")
///     %r = relu(%c1) : 1x8x20xf32 loc(onnx "relu")
///     %r2 = reshape(%r) {shape [1, 8, 1, 20]} : 1x8x1x20xf32 loc(onnx "pool")
///     %n = transpose(%r2) {perm [0, 2, 3, 1]} : 1x1x20x8xf32 loc(onnx "pool")
///     %p = max_pool2d(%n) {filter [1, 2], stride [1, 2]} : 1x1x10x8xf32 loc(onnx "pool")
///
/// after:
///
///     %n = relu(%c) : 1x1x20x8xf32 loc(onnx "relu")
///     %p = max_pool2d(%n) {filter [1, 2], stride [1, 2]} : 1x1x10x8xf32 loc(onnx "pool")
///
/// Element-wise ops give the same values in any layout, and reshapes and transposes move
/// data without changing it, so the graph computes the same values, bit for bit.
public let cancelTransposes = Pass("cancel-transposes") { graph, options in
  try rejectOptions(options, pass: "cancel-transposes")
  graph.cancelTransposes()
}

extension Graph {
  fileprivate mutating func cancelTransposes() {
    // Every step keeps the graph's values; the bound only guards against a cycle of moves.
    var steps = 0
    while steps < 16 * (ops.count + 1), mergeOne() || moveOne() || removeOneIdentity() { steps += 1 }
    eliminateDeadCode()
  }

  private func isLayout(_ k: Int) -> Bool { ops[k].kind.isLayoutChange && ops[k].inputs.count == 1 && ops[k].outputs.count == 1 }

  private func isUnary(_ k: Int) -> Bool {
    let op = ops[k]
    guard op.kind.isElementwiseUnary, op.inputs.count == 1, op.outputs.count == 1 else { return false }
    return isPerTensor(op.inputs[0]) && isPerTensor(op.outputs[0])
  }

  private func isPerTensor(_ v: ValueID) -> Bool { type(of: v).quantization.map { !$0.isPerAxis } ?? true }

  /// Merges one layout op into the layout op that produces its operand; false when none.
  private mutating func mergeOne() -> Bool {
    let definers = definingOps()
    let uses = useCounts()
    let graphOutputs = Set(outputs)
    for j in ops.indices where isLayout(j) {
      let y = ops[j].inputs[0]
      guard let i = definers[y], isLayout(i), uses[y, default: 0] == 1, !graphOutputs.contains(y) else { continue }
      switch (ops[i].kind, ops[j].kind) {
      case (.reshape, .reshape):
        break
      case (.transpose(let inner), .transpose(let outer)) where inner.count == outer.count:
        ops[j].kind = .transpose(perm: outer.map { inner[$0] })
      default:
        if replaceOrderKeepingChain(endingAt: j, definers: definers, uses: uses, graphOutputs: graphOutputs) { return true }
        continue
      }
      ops[j].inputs = ops[i].inputs
      removeOps([i])
      return true
    }
    return false
  }

  /// A chain of reshapes and transposes ending at op `j` (each result read only by the next)
  /// that leaves the elements in the order they were in, say transpose → reshape →
  /// transpose, becomes one reshape.
  private mutating func replaceOrderKeepingChain(
    endingAt j: Int, definers: [ValueID: Int], uses: [ValueID: Int], graphOutputs: Set<ValueID>
  ) -> Bool {
    var chain = [j]
    while let k = chain.last, let p = definers[ops[k].inputs[0]], isLayout(p), uses[ops[p].outputs[0], default: 0] == 1,
      !graphOutputs.contains(ops[p].outputs[0])
    {
      chain.append(p)
      let start = ops[p].inputs[0]
      let n = type(of: start).elementCount
      guard n <= 1 << 20 else { return false }
      // Follow element indices through the chain, first op first.
      var a = NDArray(shape: type(of: start).shape, int32s: (0..<n).map { Int32($0) })
      for k in chain.reversed() {
        switch ops[k].kind {
        case .transpose(let perm): a = a.transposed(perm)
        default: a = NDArray(shape: type(of: ops[k].outputs[0]).shape, elementType: .i32, bytes: a.bytes)
        }
      }
      guard a.int32s.enumerated().allSatisfy({ $0.offset == Int($0.element) }) else { continue }
      ops[j].kind = .reshape(shape: type(of: ops[j].outputs[0]).shape)
      ops[j].inputs = [start]
      removeOps(Set(chain.dropFirst()))
      return true
    }
    return false
  }

  /// Moves one layout op across one unary op, towards a partner; false when none.
  private mutating func moveOne() -> Bool {
    let definers = definingOps()
    let uses = useCounts()
    let graphInputs = Set(inputs)
    let graphOutputs = Set(outputs)
    var readers: [ValueID: Int] = [:]
    for (k, op) in ops.enumerated() { for v in op.inputs { readers[v] = k } }
    func soleReader(_ v: ValueID) -> Int? { uses[v, default: 0] == 1 && !graphOutputs.contains(v) ? readers[v] : nil }
    func isQDQ(_ k: Int) -> Bool { ops[k].kind == .quantize || ops[k].kind == .dequantize }

    /// Whether the unary ops above `v` (not quantize/dequantize) lead to a layout op or an input.
    func partnerAbove(_ start: ValueID) -> Bool {
      var v = start
      while true {
        if graphInputs.contains(v) { return true }
        guard let k = definers[v], soleReader(v) != nil else { return false }
        if isLayout(k) { return true }
        guard isUnary(k), !isQDQ(k) else { return false }
        v = ops[k].inputs[0]
      }
    }
    /// Whether the unary ops below `v` (not quantize/dequantize) lead to a layout op or an output.
    func partnerBelow(_ start: ValueID) -> Bool {
      var v = start
      while true {
        if graphOutputs.contains(v) { return uses[v, default: 0] == 1 }
        guard let r = soleReader(v) else { return false }
        if isLayout(r) { return true }
        guard isUnary(r), !isQDQ(r) else { return false }
        v = ops[r].outputs[0]
      }
    }

    for j in ops.indices where isLayout(j) {
      let y = ops[j].inputs[0]
      let x = ops[j].outputs[0]
      // Up across a dequantize, or across another unary op towards a partner.
      if let i = definers[y], isUnary(i), soleReader(y) == j,
        ops[i].kind == .dequantize || (!isQDQ(i) && partnerAbove(ops[i].inputs[0]))
      {
        exchange(i, j)
        return true
      }
      // Down across a quantize, or (with no partner above) across another unary op towards one.
      if let k = soleReader(x), isUnary(k),
        ops[k].kind == .quantize || (!isQDQ(k) && !partnerAbove(y) && partnerBelow(ops[k].outputs[0]))
      {
        exchange(j, k)
        return true
      }
    }
    return false
  }

  /// Swaps a layout op and a unary op that reads it or that it reads: `m = F(a); z = S(m)`
  /// becomes `m = S(a); z = F(m)`, with `m` retyped to what it now holds (the layout op's
  /// shape, the unary op's element type and quantization on its side).
  private mutating func exchange(_ first: Int, _ second: Int) {
    let (f, s) = (ops[first], ops[second])
    let (a, m, z) = (f.inputs[0], f.outputs[0], s.outputs[0])
    values[m.index].type =
      s.kind.isLayoutChange
      ? TensorType(type(of: z).shape, type(of: a).elementType, type(of: a).quantization)
      : TensorType(type(of: a).shape, type(of: z).elementType, type(of: z).quantization)
    ops[first] = Op(s.kind, inputs: [a], outputs: [m], location: s.location)
    ops[second] = Op(f.kind, inputs: [m], outputs: [z], location: f.location)
  }

  /// Removes one reshape or transpose that leaves its operand as it is; false when none.
  private mutating func removeOneIdentity() -> Bool {
    let graphOutputs = Set(outputs)
    for (k, op) in ops.enumerated() where isLayout(k) {
      let (a, z) = (op.inputs[0], op.outputs[0])
      guard !graphOutputs.contains(z), type(of: a) == type(of: z) else { continue }
      if case .transpose(let perm) = op.kind, perm != Array(perm.indices) { continue }
      replaceAllUses(of: z, with: a)
      removeOps([k])
      return true
    }
    return false
  }
}

extension OpKind {
  /// A reshape or a transpose: moves data without changing it.
  fileprivate var isLayoutChange: Bool {
    switch self {
    case .reshape, .transpose: return true
    default: return false
    }
  }

  /// Computes each result element from the operand element at the same index alone.
  fileprivate var isElementwiseUnary: Bool {
    switch self {
    case .relu, .relu6, .clip, .leakyRelu, .hardSwish, .hardSigmoid, .logistic, .tanh, .quantize, .dequantize: return true
    default: return false
    }
  }
}
