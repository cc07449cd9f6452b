import CMSISBackend
import Foundation
import TinyIR
import TinyPasses

/// `tinyc compile`: from a graph to C, a memory report, and the runtime it builds against.
public enum Compiler {
  /// Named pipelines (`-O`): the graph clean-ups every model gets (constants folded, layout
  /// changes that cancel out removed, batch norms folded, activations fused, QDQ lowered to integer ops, dead code removed), then
  /// post-training quantization when the model is float and calibration data was given, then
  /// memory planning, which the back-end redoes with the target's CMSIS-NN scratch sizes.
  /// The three levels run the same passes today; they differ in what later passes
  /// (mixed precision, patch streaming) will trade.
  public enum OptLevel: String, CaseIterable, Sendable {
    case memory, speed, size

    public func pipeline(calibration: String?) -> String {
      var p = "fold-constants,cancel-transposes,fold-batchnorm,fuse-activations,lower-qdq,eliminate-dead-code"
      if let calibration { p += ",quantize{calibration=\(calibration)},eliminate-dead-code" }
      return p + ",plan-memory{strategy=best}"
    }
  }

  public struct Options: Sendable {
    public var opt: OptLevel = .memory
    /// A pipeline string that replaces `opt`'s.
    public var passes: String?
    public var target: Target = .cortexM4
    public var name: String?
    public var strategy: MemoryStrategy = .best
    /// Calibration inputs (.npy file or folder) for quantizing a float model.
    public var calibration: String?
    /// Compile a float model to tinyc's float32 C kernels instead of asking for calibration.
    public var keepFloat = false
    public init() {}
  }

  public struct Result: Sendable {
    public var name: String
    /// The core the C was compiled for (its CMSIS-NN scratch sizes and preconditions).
    public var target: Target = .cortexM4
    public var graph: Graph
    public var plan: MemoryPlan
    public var header: String
    public var source: String
    public var reportJSON: String
    public var svg: String
  }

  public static func compile(_ graph: Graph, options: Options) throws -> Result {
    var g = graph
    var pm = try PassCatalog.pipeline(options.passes ?? options.opt.pipeline(calibration: options.calibration))
    pm.verifyEach = true
    try pm.run(&g)
    // QDQ models are integer after lower-qdq; a float model needs calibration data to be.
    if options.passes == nil, !options.keepFloat, let op = g.firstFloatCompute {
      throw DriverError(
        "model '\(graph.name)' computes in float (op \(op.kind.mnemonic), \(op.location)): give --calibration DATA "
          + "(float32 .npy inputs) to quantize it to int8 for CMSIS-NN, or --keep-float for float32 C kernels")
    }
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
      name: name, target: options.target, graph: ordered, plan: plan, header: h, source: c,
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
    try put("Makefile", Runtime.makefile(name: r.name, target: r.target))
  }
}

extension Graph {
  /// The first convolution or fully-connected layer that computes in float, if any.
  var firstFloatCompute: Op? {
    ops.first { op in
      switch op.kind {
      case .conv2d, .depthwiseConv2d, .fullyConnected:
        return op.inputs.first.map { self[$0].type.elementType == .f32 } ?? false
      default: return false
      }
    }
  }
}
