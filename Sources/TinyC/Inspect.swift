import CMSISBackend
import TinyIR
import TinyPasses

/// What `tinyc inspect` reports about a model: the graph as imported, and the graph
/// `tinyc compile -O memory` builds from it (the passes run, ops in the planner's order).
public struct ModelSummary: Sendable {
  public struct TensorInfo: Sendable {
    public var name: String
    public var type: TensorType
  }
  /// One op of the compiled graph, in execution order.
  public struct Layer: Sendable {
    public var index: Int
    public var kind: String
    /// Where it came from (source, op index and the model's name for it).
    public var location: Location
    public var output: TensorType
    public var macs: Int
    /// Activation bytes live while it runs.
    public var liveBytes: Int
  }
  public var name: String
  public var opCounts: [(kind: String, count: Int)]
  public var inputs: [TensorInfo]
  public var outputs: [TensorInfo]
  public var constantBytes: Int
  public var activationBytes: Int
  /// The largest sum of activation bytes live at one op, of the graph as imported.
  public var activationLowerBound: Int
  /// The same bound for the graph `compile` plans (nil when the passes refuse the model).
  public var compiledLowerBound: Int?
  /// The Flash the compiled C carries (`FlashModel`: packed constants and parameter arrays).
  public var compiledFlashBytes: Int?
  /// Why `compile` (its passes or the C back-end) refused the model, when it did.
  public var compileError: String?
  public var layers: [Layer] = []
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
    // compile itself, once (float ops kept as float32 C, as `run --backend c` does), so that
    // the bound, the layers and whether the C back-end takes the model are exactly compile's.
    do {
      var options = Compiler.Options()
      options.keepFloat = true
      let r = try Compiler.compile(g, options: options)
      compiledLowerBound = r.plan.lowerBound
      compiledFlashBytes = r.flash.total
      layers = r.graph.ops.enumerated().map { step, op in
        let out = op.outputs.first.map { r.graph[$0].type } ?? TensorType([], .f32)
        return Layer(
          index: step, kind: op.kind.mnemonic, location: op.location, output: out, macs: Self.macs(op, r.graph),
          liveBytes: step < r.plan.liveBytes.count ? r.plan.liveBytes[step] : 0)
      }
    } catch {
      compileError = "\(error)"
    }
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
    var s = "model \(terminalText(name))\n"
    s += "operators (\(opCounts.reduce(0) { $0 + $1.count })):\n"
    for (k, n) in opCounts { s += "  \(k.padding(20)) \(n)\n" }
    s += "inputs:\n"
    for t in inputs { s += "  %\(terminalText(t.name)): \(Printer.type(t.type))\n" }
    s += "outputs:\n"
    for t in outputs { s += "  %\(terminalText(t.name)): \(Printer.type(t.type))\n" }
    s += "constant bytes:           \(constantBytes)\n"
    if let compiledFlashBytes {
      s += "Flash bytes (compiled):   \(compiledFlashBytes) (packed constants and per-channel arrays of the C)\n"
    }
    s += "activation bytes (total): \(activationBytes)\n"
    s += "activation lower bound:   \(activationLowerBound) (as imported)\n"
    if let compiledLowerBound {
      s += "activation lower bound:   \(compiledLowerBound) (after compile's -O memory passes: what it plans)\n"
    }
    s += "MACs:                     \(macs)\n"
    return s
  }

  /// One row per op of the compiled graph: what a Netron user looks for, with the bytes each
  /// op keeps live. Source names are escaped for the terminal and cut at 40 characters.
  public var layerTable: String {
    var rows = [["#", "op", "source", "output", "MACs", "live B"]]
    for l in layers {
      var src = l.location.source
      if let i = l.location.index { src += ":\(i)" }
      if !l.location.name.isEmpty {
        let n = terminalText(l.location.name)
        src += " " + (n.count > 40 ? String(n.prefix(39)) + "…" : n)
      }
      rows.append([String(l.index), l.kind, src, Printer.type(l.output), String(l.macs), String(l.liveBytes)])
    }
    let widths = (0..<6).map { c in rows.map { $0[c].count }.max() ?? 0 }
    var out = ""
    for r in rows {
      var cells: [String] = []
      for c in 0..<6 {
        let right = c == 0 || c == 4 || c == 5
        cells.append(right ? r[c].leftPadding(widths[c]) : r[c].padding(widths[c]))
      }
      out += cells.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
    }
    return out
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
      ("compiled_flash_bytes", compiledFlashBytes.map { .int($0) } ?? .null),
      ("activation_bytes", .int(activationBytes)),
      ("activation_lower_bound_bytes", .int(activationLowerBound)),
      ("compiled_activation_lower_bound_bytes", compiledLowerBound.map { .int($0) } ?? .null),
      ("macs", .int(macs)),
    ])
    return j.render() + "\n"
  }
}

extension String {
  func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
  func leftPadding(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
  func trimmingTrailingSpaces() -> String {
    var s = self
    while s.last == " " { s.removeLast() }
    return s
  }
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
