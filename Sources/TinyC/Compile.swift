import CMSISBackend
import Foundation
import TinyIR
import TinyPasses

/// `tinyc compile`: from a graph to C, a memory report, and the runtime it builds against.
public enum Compiler {
  /// Named pipelines (`-O`). All end in memory planning, which the back-end then redoes with
  /// the target's real CMSIS-NN scratch sizes.
  public enum OptLevel: String, CaseIterable, Sendable {
    case memory, speed, size

    public var pipeline: String {
      switch self {
      case .memory: return "plan-memory{strategy=best}"
      case .speed: return "plan-memory{strategy=best}"
      case .size: return "plan-memory{strategy=best}"
      }
    }
  }

  public struct Options: Sendable {
    public var opt: OptLevel = .memory
    /// A pipeline string that replaces `opt`'s.
    public var passes: String?
    public var target: Target = .cortexM4
    public var name: String?
    public var strategy: MemoryStrategy = .best
    public init() {}
  }

  public struct Result: Sendable {
    public var name: String
    public var graph: Graph
    public var plan: MemoryPlan
    public var header: String
    public var source: String
    public var reportJSON: String
    public var svg: String
  }

  public static func compile(_ graph: Graph, options: Options) throws -> Result {
    var g = graph
    var pm = try PassCatalog.pipeline(options.passes ?? options.opt.pipeline)
    pm.verifyEach = true
    try pm.run(&g)
    let plan = try planMemory(g, strategy: options.strategy, scratch: { _, op in options.target.scratchBytes(op, g) })
    // Emit in the plan's order; scratch buffers are keyed by step, which is the new op index.
    var ordered = g
    ordered.ops = plan.order.map { g.ops[$0] }
    var offsets: [ValueID: Int] = [:]
    for t in plan.tensors { offsets[ValueID(t.value)] = t.offset }
    var scratch: [Int: (offset: Int, bytes: Int)] = [:]
    for s in plan.scratch where s.size > 0 { scratch[s.step] = (s.offset, s.size) }
    let layout = ArenaLayout(arenaBytes: plan.arenaBytes, offsets: offsets, scratch: scratch)
    let emitter = CEmitter(name: options.name ?? graph.name, target: options.target)
    let name = emitter.name
    let (h, c) = try emitter.emit(ordered, layout: layout)
    return Result(
      name: name, graph: ordered, plan: plan, header: h, source: c,
      reportJSON: MemoryReport.json(plan, graph: g), svg: MemoryReport.svg(plan, graph: g))
  }

  /// Writes NAME.h, NAME.c, report.json, memory.svg, the runtime sources and a Makefile.
  public static func write(_ r: Result, to dir: String) throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
    func put(_ rel: String, _ text: String) throws {
      let url = URL(fileURLWithPath: dir).appendingPathComponent(rel)
      try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(text.utf8).write(to: url)
    }
    try put("\(r.name).h", r.header)
    try put("\(r.name).c", r.source)
    try put("report.json", r.reportJSON)
    try put("memory.svg", r.svg)
    for f in Runtime.files { try put("runtime/" + f.path, f.contents) }
    try put("Makefile", Runtime.makefile(name: r.name))
  }
}
