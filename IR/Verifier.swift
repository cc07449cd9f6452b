/// Checks that a graph is well formed: every value is defined once before it is used,
/// names are unique, every op's result shapes follow its shape rule, constants have the
/// bytes their type needs, and quantization parameters are consistent with their types.
/// Returns the first problem found, naming the op and its location.
public enum Verifier {
  /// Largest element count a tensor may have (guards against absurd dimensions).
  public static let maxElements = 1 << 31

  public static func verify(_ g: Graph) throws(IRError) {
    var defined = Set<ValueID>()
    var seenNames = Set<String>()
    func define(_ v: ValueID, _ what: String) throws(IRError) {
      guard v.index >= 0 && v.index < g.values.count else { throw IRError("\(what): value \(v) does not exist") }
      guard defined.insert(v).inserted else { throw IRError("\(what): %\(g[v].name) is defined twice") }
      guard seenNames.insert(g[v].name).inserted else { throw IRError("\(what): name %\(g[v].name) is used twice") }
      try checkType(g[v].type, "\(what): %\(g[v].name)")
    }
    for v in g.inputs { try define(v, "graph input") }
    for (v, c) in g.constants.sorted(by: { $0.key < $1.key }) {
      try define(v, "constant")
      guard c.bytes.count == g[v].type.byteCount else {
        throw IRError("constant %\(g[v].name) has \(c.bytes.count) bytes, its type needs \(g[v].type.byteCount)")
      }
    }
    for (i, op) in g.ops.enumerated() {
      let what = "op \(i) (\(op.kind.mnemonic), \(op.location))"
      for v in op.inputs {
        guard v.index >= 0 && v.index < g.values.count, defined.contains(v) else {
          throw IRError("\(what): operand \(v.index < g.values.count && v.index >= 0 ? "%" + g[v].name : "\(v)") is used before it is defined")
        }
      }
      for v in op.outputs { try define(v, what) }
      let shapes: [[Int]]
      do {
        shapes = try op.kind.resultShapes(op.inputs.map { g[$0].type.shape })
      } catch {
        throw IRError("\(what): \(error.message)")
      }
      guard shapes.count == op.outputs.count else {
        throw IRError("\(what): has \(op.outputs.count) results, its rule gives \(shapes.count)")
      }
      for (v, s) in zip(op.outputs, shapes) where g[v].type.shape != s {
        throw IRError("\(what): result %\(g[v].name) has shape \(g[v].type.shape), the shape rule gives \(s)")
      }
      try checkElementTypes(op, g, what)
    }
    for v in g.outputs where !defined.contains(v) {
      throw IRError("graph output \(v) is never defined")
    }
    if g.outputs.isEmpty { throw IRError("graph has no outputs") }
  }

  static func checkType(_ t: TensorType, _ what: String) throws(IRError) {
    var n = 1
    for d in t.shape {
      guard d > 0 else { throw IRError("\(what): dimension \(d) in \(t.shape) must be positive") }
      let (m, o) = n.multipliedReportingOverflow(by: d)
      guard !o, m <= maxElements else { throw IRError("\(what): shape \(t.shape) is too large") }
      n = m
    }
    guard let q = t.quantization else { return }
    guard !t.elementType.isFloat else { throw IRError("\(what): a float tensor cannot be quantized") }
    guard q.scales.count == q.zeroPoints.count, !q.scales.isEmpty else {
      throw IRError("\(what): quantization needs as many zero points as scales")
    }
    guard q.scales.allSatisfy({ $0 > 0 && $0.isFinite }) else {
      throw IRError("\(what): quantization scales must be positive and finite")
    }
    guard q.zeroPoints.allSatisfy({ t.elementType.integerRange.contains($0) }) else {
      throw IRError("\(what): a zero point is outside the range of \(t.elementType.rawValue)")
    }
    if let axis = q.axis {
      guard axis >= 0 && axis < t.rank, q.scales.count == t.shape[axis] else {
        throw IRError("\(what): per-axis quantization on axis \(axis) needs one scale per element of that axis")
      }
    } else if q.scales.count != 1 {
      throw IRError("\(what): per-tensor quantization has one scale")
    }
  }

  static func checkElementTypes(_ op: Op, _ g: Graph, _ what: String) throws(IRError) {
    let ins = op.inputs.map { g[$0].type }
    let outs = op.outputs.map { g[$0].type }
    guard let x = ins.first, let y = outs.first else { return }
    switch op.kind {
    case .quantize:
      guard y.elementType.isInteger, y.quantization != nil else {
        throw IRError("\(what): quantize must produce a quantized integer tensor")
      }
    case .dequantize:
      guard x.quantization != nil, y.elementType == .f32 else {
        throw IRError("\(what): dequantize takes a quantized tensor and gives f32")
      }
    case .reshape:
      guard x.elementType == y.elementType else { throw IRError("\(what): reshape cannot change the element type") }
    default:
      if x.elementType.isFloat != y.elementType.isFloat {
        throw IRError("\(what): operand and result must both be float or both integer")
      }
      if y.elementType.isInteger, y.elementType != .i32, y.quantization == nil {
        throw IRError("\(what): integer result %\(g[op.outputs[0]].name) has no quantization")
      }
    }
  }
}
