import Foundation
import TinyIR

/// `mixed-precision{flash=SIZE,ram=SIZE,bits=FILE.json,strategy=best|greedy-size,explain}`:
/// memory-driven bit assignment after Rusci, Capotondi and Benini (MLSys 2020), measured with
/// tinyc's own memory model. On a quantized graph every weight and activation that may change
/// width (`PrecisionCandidates`) starts at the width it has (8 bits after `quantize` or
/// `lower-qdq`; `bits=FILE` imposes a start, `{"tensors": {"NAME": 4, ...}}`), then one cut
/// at a time, each a halving (8 → 4 → 2, never under 2):
/// - while Flash (`FlashModel`: packed constants plus every per-channel array the C carries)
///   exceeds `flash`: the weights of the layer with the largest share of Flash, preferring an
///   earlier layer within 0.05 of that share;
/// - while RAM (the arena `planMemory` plans, in-place reuse, views and the target's CMSIS-NN
///   scratch included) exceeds `ram`: at the peak step, among the activations live there that
///   may be cut, the one with the most bits, ties to the larger tensor.
/// A cut requantizes (`Requantize`): weights symmetric per channel on the narrower grid,
/// activations over the same real range, tied tensors together, and the int32 bias of every
/// layer whose input or weight scale changed on the new grid `S_x·S_w`. When the budget cannot
/// be met the pass fails with one line giving the smallest Flash and RAM reachable at 2 bits.
/// `explain` reports each cut and why (through the pass's `explain` sink).
///
/// Before (`mixed-precision{ram=600}`, an arena of 768 B at 8 bits):
///
///     graph @g(%x: 1x8x8x4xi8 q(0.02, -128)) -> (1x8x8x4xi8 q(0.02, -128)) {
///       %w = const 4x1x1x4xi8 q(axis 0, [0.01, 0.01, 0.01, 0.01], [0, 0, 0, 0]) dense<…>
///       %b = const 4xi32 q(axis 0, [0.0002, …], [0, 0, 0, 0]) dense<…>
///       %a = conv2d(%x, %w, %b) {act relu} : 1x8x8x4xi8 q(0.05, -128)
///       %y = conv2d(%a, %w2, %b2) {act relu} : 1x8x8x4xi8 q(0.02, -128)
///       return %y
///     }
///
/// after (the one activation that may be cut, 8 → 4 bits; `%b2` on the new input scale):
///
///       %a = conv2d(%x, %w, %b) {act relu} : 1x8x8x4xi4 q(0.85, -8)
///       %b2 = const 4xi32 q(axis 0, [0.0085, …], [0, 0, 0, 0]) dense<…B·0.05/0.85…>
///       %y = conv2d(%a, %w2, %b2) {act relu} : 1x8x8x4xi8 q(0.02, -128)
///
/// - Parameters:
///   - scratch: the scratch bytes of an op on the target (the back-end's CMSIS-NN sizes).
///   - kernelSums: the target's fully-connected kernel carries kernel sums in Flash (MVE).
///   - explain: where `explain` lines go.
public func mixedPrecision(
  scratch: @escaping @Sendable (Op, Graph) -> Int = { _, _ in 0 }, kernelSums: Bool = false,
  explain: (@Sendable (String) -> Void)? = nil
) -> Pass {
  Pass("mixed-precision") { graph, options in
    try checkOptionKeys(options, pass: "mixed-precision", known: ["flash", "ram", "bits", "strategy", "explain"])
    var search = try PrecisionSearch(graph, options: options, scratch: scratch, kernelSums: kernelSums)
    if options["explain"].map({ $0 != "false" }) ?? false {
      search.log = explain ?? { FileHandle.standardError.write(Data((terminalText($0) + "\n").utf8)) }
    }
    graph = try search.run()
  }
}

/// Parses a byte size: a plain number of bytes, or a number with B, KiB, MiB (1024-based), KB
/// or MB (1000-based), e.g. `64KiB`, `1.5MiB`, `131072`.
public func parseByteSize(_ text: String) throws(PassError) -> Int {
  let s = text.trimmingCharacters(in: .whitespaces)
  let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1024 * 1024), ("KB", 1000), ("kB", 1000), ("MB", 1_000_000), ("B", 1)]
  var number = Substring(s)
  var factor = 1.0
  for (u, f) in units where s.hasSuffix(u) {
    number = s.dropLast(u.count)
    factor = f
    break
  }
  guard let v = Double(number.trimmingCharacters(in: .whitespaces)), v.isFinite, v >= 0, v * factor < 1e15,
    (v * factor).rounded() == v * factor
  else {
    throw PassError("'\(text)' is not a size: give bytes, or a number with B, KiB, MiB (1024-based), KB or MB (1000-based), e.g. 64KiB")
  }
  return Int(v * factor)
}

/// The per-tensor table of a graph's widths (report.json's `precision.tensors`).
public struct PrecisionTable: Sendable {
  public struct Row: Sendable, Equatable {
    public var name: String
    public var kind: PrecisionCandidates.Kind
    public var bits: Int
    public var bytes: Int
  }
  public var rows: [Row]

  public init(_ g: Graph) {
    let c = PrecisionCandidates(g)
    rows = c.tensors.map { v in
      let t = g.type(of: v)
      let k = c.groupOf[v].map { c.groups[$0].kind } ?? .activation
      return Row(name: g[v].name, kind: k, bits: t.elementType.bits, bytes: t.byteCount)
    }
  }

  /// One line per tensor: bits, bytes, kind, name.
  public var text: String {
    var s = "  bits  bytes      kind        tensor\n"
    for r in rows {
      let bytes = String(r.bytes)
      s += "  \(String(r.bits).leftPadded(4))  \(bytes.leftPadded(9))  \(r.kind.rawValue.padded(10))  %\(r.name)\n"
    }
    return s
  }
}

/// The search `mixed-precision` runs: an assignment of widths to groups, the graph it gives,
/// and its Flash and RAM.
struct PrecisionSearch {
  let original: Graph
  let candidates: PrecisionCandidates
  let flashBudget: Int?
  let ramBudget: Int?
  let strategy: MemoryStrategy
  let scratch: @Sendable (Op, Graph) -> Int
  let kernelSums: Bool
  var bits: [Int: Int] = [:]
  var log: ((String) -> Void)?
  /// Requantized weights, by value and width.
  private var weightCache: [ValueID: [Int: (TensorType, [UInt8])]] = [:]

  init(
    _ g: Graph, options: [String: String], scratch: @escaping @Sendable (Op, Graph) -> Int, kernelSums: Bool
  ) throws {
    original = g
    candidates = PrecisionCandidates(g)
    do {
      flashBudget = try options["flash"].map(parseByteSize)
      ramBudget = try options["ram"].map(parseByteSize)
    } catch {
      throw PassError("\(error.message)")
    }
    let s = options["strategy"] ?? MemoryStrategy.best.rawValue
    guard let st = MemoryStrategy(rawValue: s) else {
      throw PassError("unknown strategy '\(s)' (best, greedy-size)")
    }
    strategy = st
    self.scratch = scratch
    self.kernelSums = kernelSums
    for (k, grp) in candidates.groups.enumerated() where grp.cuttable {
      bits[k] = g.type(of: grp.members[0]).elementType.bits
    }
    if let path = options["bits"] { try impose(path) }
    if flashBudget == nil && ramBudget == nil && options["bits"] == nil {
      throw PassError("give flash=SIZE, ram=SIZE or bits=FILE.json")
    }
  }

  /// Reads a `--bits` file and sets the widths it names.
  mutating func impose(_ path: String) throws {
    struct File: Decodable { var tensors: [String: Int] }
    let file: File
    do {
      let data = try Data(contentsOf: URL(fileURLWithPath: path))
      file = try JSONDecoder().decode(File.self, from: data)
    } catch {
      throw PassError("\(path): not a bits file {\"tensors\": {\"NAME\": 8|4|2, ...}}: \(Self.reason(error))")
    }
    var byName: [String: ValueID] = [:]
    for (i, v) in original.values.enumerated() { byName[v.name] = ValueID(i) }
    var setBy: [Int: String] = [:]
    for (name, b) in file.tensors.sorted(by: { $0.key < $1.key }) {
      guard let v = byName[name] else { throw PassError("\(path): no tensor %\(name) in the graph") }
      guard let k = candidates.cuttableGroup(of: v) else {
        throw PassError(
          "\(path): %\(name) keeps its width (a model input or output, or read or written by an op without kernels for every width)")
      }
      guard [8, 4, 2].contains(b) else { throw PassError("\(path): %\(name): bits must be 8, 4 or 2, got \(b)") }
      if let other = setBy[k], bits[k] != b {
        throw PassError("\(path): %\(other) and %\(name) share one quantization (a view, pool or concat); give them the same bits")
      }
      bits[k] = b
      setBy[k] = name
    }
  }

  static func reason(_ e: Error) -> String {
    if let d = e as? DecodingError {
      switch d {
      case .dataCorrupted(let c), .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c):
        let at = c.codingPath.map(\.stringValue).joined(separator: ".")
        return (at.isEmpty ? "" : at + ": ") + c.debugDescription
      @unknown default: return "\(d)"
      }
    }
    return (e as NSError).localizedDescription
  }

  /// The graph with the current widths.
  mutating func materialize() -> Graph {
    materialize(bits)
  }

  mutating func materialize(_ bits: [Int: Int]) -> Graph {
    var g = original
    for (k, grp) in candidates.groups.enumerated() {
      guard let b = bits[k], b != original.type(of: grp.members[0]).elementType.bits else { continue }
      for v in grp.members {
        switch grp.kind {
        case .activation:
          g[v].type = Requantize.activation(original.type(of: v), bits: b)
        case .weight:
          let (t, bytes) = requantizedWeights(v, bits: b)
          g[v].type = t
          g.constants[v] = ConstantData(bytes)
        }
      }
    }
    // Biases on the new grid where a layer's input or weight scale changed.
    let uses = g.useCounts()
    var copied: [ValueID] = []
    for i in g.ops.indices {
      let op = g.ops[i]
      guard op.kind.weightChannelAxis != nil, op.inputs.count > 2 else { continue }
      let (x, w, b) = (op.inputs[0], op.inputs[1], op.inputs[2])
      guard let qx0 = original.type(of: x).quantization, let qw0 = original.type(of: w).quantization,
        let qx = g.type(of: x).quantization, let qw = g.type(of: w).quantization, qx0 != qx || qw0 != qw,
        let b0 = original.integerConstant(b)
      else { continue }
      let nb = Requantize.bias(b0, oldInput: qx0, oldWeights: qw0, newInput: qx, newWeights: qw)
      var t = original.type(of: b)
      t.quantization = Requantize.biasQuantization(t.quantization, input: qx, weights: qw, channels: nb.count)
      let bytes = NDArray.pack(nb, as: .i32, shape: t.shape).bytes
      if uses[b, default: 0] == 1 {
        g[b].type = t
        g.constants[b] = ConstantData(bytes)
      } else {
        copied.append(b)
        let nbID = g.addConstant(name: g.freshName(g[b].name + "_requantized"), type: t, bytes: bytes)
        g.ops[i].inputs[2] = nbID
      }
    }
    g.dropUnusedConstants(among: copied)
    return g
  }

  mutating func requantizedWeights(_ v: ValueID, bits: Int) -> (TensorType, [UInt8]) {
    if let c = weightCache[v]?[bits] { return c }
    let r = Requantize.weights(
      original.type(of: v), original.constants[v]?.bytes ?? [], axis: candidates.channelAxis[v] ?? 0, bits: bits)
    weightCache[v, default: [:]][bits] = r
    return r
  }

  func flash(_ g: Graph) -> Int { FlashModel(g, kernelSums: kernelSums).total }

  func plan(_ g: Graph) throws -> MemoryPlan {
    let scratch = self.scratch
    return try planMemory(g, strategy: strategy, scratch: { _, op in scratch(op, g) })
  }

  /// Cuts until both budgets hold; returns the graph.
  mutating func run() throws -> Graph {
    var g = materialize()
    var cuts = 0
    var f = flash(g)
    var p = try plan(g)
    log?(
      "mixed-precision: start: Flash \(f) B\(budget(flashBudget)), RAM (arena) \(p.arenaBytes) B\(budget(ramBudget))")
    while true {
      if let fb = flashBudget, f > fb {
        guard let (k, why) = flashCut(g, total: f) else { throw infeasible() }
        cut(k, because: "Flash \(f) B > \(fb) B: " + why, g)
      } else if let rb = ramBudget, p.arenaBytes > rb {
        guard let (k, why) = ramCut(g, p) else { throw infeasible() }
        cut(k, because: "RAM \(p.arenaBytes) B > \(rb) B: " + why, g)
      } else {
        break
      }
      cuts += 1
      g = materialize()
      f = flash(g)
      p = try plan(g)
    }
    log?("mixed-precision: done after \(cuts) cut\(cuts == 1 ? "" : "s"): Flash \(f) B, RAM (arena) \(p.arenaBytes) B")
    return g
  }

  private func budget(_ b: Int?) -> String { b.map { " (budget \($0) B)" } ?? "" }

  private mutating func cut(_ k: Int, because why: String, _ g: Graph) {
    let old = bits[k] ?? 8
    bits[k] = old / 2
    let names = candidates.groups[k].members.map { "%" + g[$0].name }.joined(separator: ", ")
    log?("  \(why); \(names) \(old) → \(old / 2) bits")
  }

  /// The weights to halve: the layer with the largest share of Flash, or an earlier one within
  /// 0.05 of it.
  func flashCut(_ g: Graph, total: Int) -> (Int, String)? {
    var layers: [(k: Int, share: Double)] = []
    for v in candidates.tensors {
      guard let k = candidates.cuttableGroup(of: v), candidates.groups[k].kind == .weight, (bits[k] ?? 8) > 2 else {
        continue
      }
      layers.append((k, Double(g.type(of: v).byteCount) / Double(max(total, 1))))
    }
    guard let top = layers.map(\.share).max(), let pick = layers.first(where: { $0.share >= top - 0.05 }) else { return nil }
    let share = (pick.share * 1000).rounded() / 10
    let reason =
      pick.share == top
      ? "the weights with the largest share of Flash (\(share) %)"
      : "the earliest weights within 0.05 of the largest share of Flash (\(share) % against \((top * 1000).rounded() / 10) %)"
    return (pick.k, reason)
  }

  /// The activation to halve: at the peak step, the widest cuttable tensor live there, ties to
  /// the larger.
  func ramCut(_ g: Graph, _ p: MemoryPlan) -> (Int, String)? {
    let step = p.peakStep
    func widest(_ live: (MemoryPlan.Tensor) -> Bool) -> (k: Int, bits: Int, size: Int, name: String)? {
      var best: (k: Int, bits: Int, size: Int, name: String)?
      for t in p.tensors where live(t) {
        guard let k = candidates.cuttableGroup(of: ValueID(t.value)), let b = bits[k], b > 2 else { continue }
        if let c = best, (b, t.size) <= (c.bits, c.size) { continue }
        best = (k, b, t.size, t.name)
      }
      return best
    }
    let op = g.ops[p.order[step]]
    let live = p.liveBytes[step] + (step < p.scratch.count ? p.scratch[step].size : 0)
    let peak = "peak at step \(step) (\(op.kind.mnemonic), \(op.location)) with \(live) B live"
    if let b = widest({ $0.first <= step && step <= $0.last }) {
      return (b.k, "\(peak); %\(b.name) is the widest tensor live there that may be cut (\(b.bits) bits, \(b.size) B)")
    }
    // Nothing there may be cut (the arena is above the peak's live bytes, or the peak holds
    // only fixed tensors): the widest cuttable tensor anywhere, to shrink what the plan packs.
    guard let b = widest({ _ in true }) else { return nil }
    return (b.k, "\(peak), none of it may be cut; %\(b.name) is the widest tensor elsewhere that may be (\(b.bits) bits, \(b.size) B)")
  }

  /// The one-line error for a budget that cannot be met.
  mutating func infeasible() -> PassError {
    if !candidates.groups.contains(where: \.cuttable) {
      return PassError(
        "the budget is not met and nothing may be cut: the graph has no 8/4/2-bit weights or activations that every kernel takes at any width (is it quantized?)"
      )
    }
    var all = bits
    for k in all.keys { all[k] = 2 }
    let g = materialize(all)
    let f = flash(g)
    let r = (try? plan(g))?.arenaBytes
    var asked: [String] = []
    if let fb = flashBudget { asked.append("Flash ≤ \(fb) B") }
    if let rb = ramBudget { asked.append("RAM ≤ \(rb) B") }
    return PassError(
      "cannot meet \(asked.joined(separator: " and ")): with every tensor that may be cut at 2 bits, "
        + "the smallest reachable is Flash \(f) B and RAM \(r.map { "\($0) B" } ?? "(unplanned)")")
  }
}

extension String {
  fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
  fileprivate func padded(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
