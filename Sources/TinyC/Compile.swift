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
  /// `insert-icn` runs before `fold-batchnorm` (a batch norm after a layer with integer weights
  /// goes into its per-channel scales and bias, not into requantized weights); with a Flash or
  /// RAM budget or a bits file, `mixed-precision` runs on the integer graph before the plan.
  public enum OptLevel: String, CaseIterable, Sendable {
    case memory, speed, size

    /// - Parameter precision: the options of `mixed-precision` (`flash=…,ram=…`), nil: none.
    public func pipeline(calibration: String?, precision: String? = nil) -> String {
      var p = "fold-constants,cancel-transposes,insert-icn,fold-batchnorm,fuse-activations,lower-qdq,eliminate-dead-code"
      if let calibration { p += ",quantize{calibration=\(calibration)},eliminate-dead-code" }
      if let precision { p += ",mixed-precision{\(precision)}" }
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
    /// Flash and RAM budgets in bytes for `mixed-precision`.
    public var flash: Int?
    public var ram: Int?
    /// A bits file (`{"tensors": {"NAME": 4}}`) that `mixed-precision` starts from.
    public var bits: String?
    /// Report each cut `mixed-precision` makes, to `explainSink` (stderr when nil).
    public var explain = false
    public var explainSink: (@Sendable (String) -> Void)?
    public init() {}

    /// The options of `mixed-precision`, nil when no budget and no bits file was given.
    public func precisionOptions() throws -> String? {
      guard flash != nil || ram != nil || bits != nil else { return nil }
      var o: [String] = []
      if let flash { o.append("flash=\(flash)") }
      if let ram { o.append("ram=\(ram)") }
      if let bits {
        guard !bits.contains(where: { ",{}=".contains($0) }) else {
          throw DriverError("--bits \(bits): the path may not contain ',', '{', '}' or '='")
        }
        o.append("bits=\(bits)")
      }
      o.append("strategy=\(strategy.rawValue)")
      if explain { o.append("explain") }
      return o.joined(separator: ",")
    }

    /// The pipeline these options run: `passes`, or `opt`'s with calibration and precision.
    public func pipeline() throws -> String {
      if let passes {
        if flash != nil || ram != nil || bits != nil {
          throw DriverError("--flash, --ram and --bits add mixed-precision to -O's pipeline; with --passes, write it there")
        }
        return passes
      }
      return opt.pipeline(calibration: calibration, precision: try precisionOptions())
    }
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
    /// The Flash the C carries (`report.json`'s `constant_bytes`).
    public var flash: FlashModel
    /// The widths of the tensors `mixed-precision` may change.
    public var precision: PrecisionTable
  }

  /// Runs the options' pipeline (what `compile` runs before it emits C; `run` interprets it).
  public static func optimize(_ graph: Graph, options: Options) throws -> Graph {
    var g = graph
    var pm = try PassCatalog.pipeline(options.pipeline(), target: options.target, explain: options.explainSink)
    pm.verifyEach = true
    try pm.run(&g)
    return g
  }

  public static func compile(_ graph: Graph, options: Options) throws -> Result {
    let g = try optimize(graph, options: options)
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
    let flash = FlashModel(g, kernelSums: options.target.fullyConnectedNeedsKernelSums)
    let precision = MemoryReport.Precision(g, flashBudget: options.flash, ramBudget: options.ram)
    return Result(
      name: name, target: options.target, graph: ordered, plan: plan, header: h, source: c,
      reportJSON: MemoryReport.json(plan, graph: g, flash: flash, precision: precision),
      svg: MemoryReport.svg(plan, graph: g), flash: flash, precision: precision.table)
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
