import Interpreter
import TinyIR

/// `fold-constants`: an op whose operands are all constants is evaluated at compile time and
/// its results become constants (reshape and transpose by moving bytes, every other op by
/// running it in the reference interpreter). Before:
///
///     %s = const 2x3xf32 dense<…>
///     %t = transpose(%s) {perm [1, 0]} : 3x2xf32 loc(onnx "t")
///     %y = add(%x, %t) : 3x2xf32 loc(onnx "a")
///
/// after:
///
///     %t = const 3x2xf32 dense<…>
///     %y = add(%x, %t) : 3x2xf32 loc(onnx "a")
///
/// `dequantize` of a constant is kept (the integer weights are what `lower-qdq` and the
/// back-ends want, and they are a quarter of the size); a transpose or reshape of such a
/// dequantize is moved in front of it, so the weights stay integer in the new layout:
/// `transpose(dequantize(%w))` → `dequantize(%w')` with `%w'` the permuted integer constant
/// and a per-axis quantization axis that follows the permutation. With
/// `fold-constants{dequantize=true}` dequantized constants are folded to f32 as well.
/// Constants the folding leaves unread are dropped.
public let foldConstants = Pass("fold-constants") { graph, options in
  try checkOptionKeys(options, pass: "fold-constants", known: ["dequantize"])
  var foldDequantize = false
  if let v = options["dequantize"] {
    guard let b = parseBool(v) else {
      throw PassError("fold-constants: option dequantize must be true or false, got '\(v)'")
    }
    foldDequantize = b
  }
  try graph.foldConstants(dequantize: foldDequantize)
}

/// `true`/`1`/`yes` or `false`/`0`/`no`.
func parseBool(_ s: String) -> Bool? {
  switch s.lowercased() {
  case "true", "1", "yes", "on": return true
  case "false", "0", "no", "off": return false
  default: return nil
  }
}

extension Graph {
  fileprivate mutating func foldConstants(dequantize foldDequantize: Bool) throws {
    var removed = Set<Int>()
    var touched: [ValueID] = []
    let definers = definingOps()
    for i in ops.indices {
      let op = ops[i]
      guard !op.inputs.isEmpty else { continue }
      if !op.inputs.allSatisfy(isConstant) {
        // transpose/reshape(dequantize(const)) → dequantize(transpose/reshape(const)).
        if op.inputs.count == 1, let d = definers[op.inputs[0]], !removed.contains(d),
          case .dequantize = ops[d].kind, isConstant(ops[d].inputs[0]),
          useCounts()[op.inputs[0], default: 0] == 1,
          let moved = movedLayout(op, of: ops[d].inputs[0])
        {
          let c = ops[d].inputs[0]
          let id = addConstant(name: freshName(self[c].name + "_" + op.kind.mnemonic), type: moved.type, bytes: moved.bytes)
          touched.append(c)
          ops[d].inputs = [id]
          ops[d].outputs = op.outputs
          ops[d].location = op.location
          // The dequantize now defines the transposed value; put it where the transpose was.
          ops[i] = ops[d]
          removed.insert(d)
        }
        continue
      }
      if case .dequantize = op.kind, !foldDequantize { continue }
      guard let results = try evaluate(op) else { continue }
      for (v, bytes) in zip(op.outputs, results) { constants[v] = ConstantData(bytes) }
      touched += op.inputs
      removed.insert(i)
    }
    removeOps(removed)
    dropUnusedConstants(among: touched)
  }

  /// The bytes of each result of `op` (all operands constant), nil when it cannot be evaluated.
  fileprivate func evaluate(_ op: Op) throws -> [[UInt8]]? {
    let x = op.inputs[0]
    let tx = type(of: x)
    switch op.kind {
    case .reshape:
      guard let c = constants[x], type(of: op.outputs[0]).elementType == tx.elementType else { return nil }
      return [c.bytes]
    case .transpose(let perm):
      guard let c = constants[x], tx.elementType.bits >= 8 else { return nil }
      return [NDArray(shape: tx.shape, elementType: tx.elementType, bytes: c.bytes).transposed(perm).bytes]
    default:
      var sub = Graph(name: "fold")
      var map: [ValueID: ValueID] = [:]
      for v in op.inputs where map[v] == nil {
        guard let c = constants[v] else { return nil }
        map[v] = sub.addConstant(name: self[v].name, type: type(of: v), bytes: c.bytes)
      }
      sub.outputs = sub.addOp(
        op.kind, inputs: op.inputs.compactMap { map[$0] }, results: op.outputs.map { (self[$0].name, type(of: $0)) },
        location: op.location)
      // An op the interpreter cannot run on these operands is left for run time.
      guard let interp = try? Interpreter(sub), let out = try? interp.run([]) else { return nil }
      guard out.count == op.outputs.count,
        zip(out, op.outputs).allSatisfy({ $0.bytes.count == type(of: $1).byteCount })
      else { return nil }
      return out.map(\.bytes)
    }
  }

  /// The constant operand of a dequantize, rearranged as `op` (a transpose or reshape) would
  /// rearrange the dequantized value, with its quantization axis moved along.
  fileprivate func movedLayout(_ op: Op, of c: ValueID) -> (type: TensorType, bytes: [UInt8])? {
    guard let data = constants[c] else { return nil }
    let t = type(of: c)
    let outShape = type(of: op.outputs[0]).shape
    var q = t.quantization
    switch op.kind {
    case .transpose(let perm):
      guard t.elementType.bits >= 8 else { return nil }
      if let axis = q?.axis {
        guard let newAxis = perm.firstIndex(of: axis) else { return nil }
        q?.axis = newAxis
      }
      let bytes = NDArray(shape: t.shape, elementType: t.elementType, bytes: data.bytes).transposed(perm).bytes
      return (TensorType(outShape, t.elementType, q), bytes)
    case .reshape:
      if let axis = q?.axis {
        let prefix = t.shape[..<axis].reduce(1, *)
        guard let newAxis = outShape.indices.first(where: { outShape[..<$0].reduce(1, *) == prefix && outShape[$0] == t.shape[axis] })
        else { return nil }
        q?.axis = newAxis
      }
      return (TensorType(outShape, t.elementType, q), data.bytes)
    default: return nil
    }
  }
}
