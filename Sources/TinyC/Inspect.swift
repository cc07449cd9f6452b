import TinyIR
import TinyPasses

/// What `tinyc inspect` reports about a model.
public struct ModelSummary: Sendable {
  public struct TensorInfo: Sendable {
    public var name: String
    public var type: TensorType
  }
  public var name: String
  public var opCounts: [(kind: String, count: Int)]
  public var inputs: [TensorInfo]
  public var outputs: [TensorInfo]
  public var constantBytes: Int
  public var activationBytes: Int
  public var activationLowerBound: Int
  public var macs: Int

  public init(_ g: Graph) throws {
    name = g.name
    var counts: [String: Int] = [:]
    var order: [String] = []
    for op in g.ops {
      if counts[op.kind.mnemonic] == nil { order.append(op.kind.mnemonic) }
      counts[op.kind.mnemonic, default: 0] += 1
    }
    opCounts = order.map { ($0, counts[$0] ?? 0) }
    inputs = g.inputs.map { TensorInfo(name: g[$0].name, type: g[$0].type) }
    outputs = g.outputs.map { TensorInfo(name: g[$0].name, type: g[$0].type) }
    constantBytes = g.constantBytes
    let activations = Set(g.inputs + g.ops.flatMap { $0.outputs })
    activationBytes = activations.reduce(0) { $0 + g[$1].type.byteCount }
    activationLowerBound = try Liveness(g).lowerBound
    macs = g.ops.reduce(0) { $0 + Self.macs($1, g) }
  }

  /// Multiply-accumulates of one op (convolutions and fully-connected layers; 0 for others).
  public static func macs(_ op: Op, _ g: Graph) -> Int {
    guard let out = op.outputs.first, op.inputs.count >= 2 else { return 0 }
    let o = g[out].type.shape
    let w = g[op.inputs[1]].type.shape
    switch op.kind {
    case .conv2d:
      return o.reduce(1, *) * w.dropFirst().reduce(1, *)
    case .depthwiseConv2d:
      return o.reduce(1, *) * w[1] * w[2]
    case .fullyConnected:
      return o.reduce(1, *) * (w.last ?? 0)
    default: return 0
    }
  }

  public var text: String {
    var s = "model \(name)\n"
    s += "operators (\(opCounts.reduce(0) { $0 + $1.count })):\n"
    for (k, n) in opCounts { s += "  \(k.padding(20)) \(n)\n" }
    s += "inputs:\n"
    for t in inputs { s += "  %\(t.name): \(Printer.type(t.type))\n" }
    s += "outputs:\n"
    for t in outputs { s += "  %\(t.name): \(Printer.type(t.type))\n" }
    s += "constant bytes:           \(constantBytes)\n"
    s += "activation bytes (total): \(activationBytes)\n"
    s += "activation lower bound:   \(activationLowerBound)\n"
    s += "MACs:                     \(macs)\n"
    return s
  }

  public var json: String {
    func tensor(_ t: TensorInfo) -> JSON {
      var o: [(String, JSON)] = [
        ("name", .string(t.name)), ("shape", .array(t.type.shape.map { .int($0) })),
        ("type", .string(t.type.elementType.rawValue)),
      ]
      if let q = t.type.quantization {
        o.append(("scale", .array(q.scales.map { .double(Double($0)) })))
        o.append(("zero_point", .array(q.zeroPoints.map { .int($0) })))
        if let axis = q.axis { o.append(("quantized_dimension", .int(axis))) }
      }
      return .object(o)
    }
    let j = JSON.object([
      ("model", .string(name)),
      ("operators", .object(opCounts.map { ($0.kind, .int($0.count)) })),
      ("inputs", .array(inputs.map(tensor))),
      ("outputs", .array(outputs.map(tensor))),
      ("constant_bytes", .int(constantBytes)),
      ("activation_bytes", .int(activationBytes)),
      ("activation_lower_bound_bytes", .int(activationLowerBound)),
      ("macs", .int(macs)),
    ])
    return j.render() + "\n"
  }
}

extension String {
  func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

/// A small ordered JSON writer (keys keep their order, so output is deterministic).
public indirect enum JSON: Sendable {
  case string(String), int(Int), double(Double), bool(Bool), null
  case array([JSON])
  case object([(String, JSON)])

  public func render(indent: Int = 0) -> String {
    let pad = String(repeating: "  ", count: indent + 1)
    let end = String(repeating: "  ", count: indent)
    switch self {
    case .string(let s): return JSON.quote(s)
    case .int(let i): return String(i)
    case .double(let d): return d.isFinite ? "\(d)" : "null"
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    case .array(let a):
      if a.isEmpty { return "[]" }
      if a.allSatisfy({ if case .object = $0 { return false } else if case .array = $0 { return false } else { return true } }) {
        return "[" + a.map { $0.render() }.joined(separator: ", ") + "]"
      }
      return "[\n" + a.map { pad + $0.render(indent: indent + 1) }.joined(separator: ",\n") + "\n" + end + "]"
    case .object(let o):
      if o.isEmpty { return "{}" }
      return "{\n" + o.map { pad + JSON.quote($0.0) + ": " + $0.1.render(indent: indent + 1) }.joined(separator: ",\n")
        + "\n" + end + "}"
    }
  }

  static func quote(_ s: String) -> String { jsonString(s) }
}
