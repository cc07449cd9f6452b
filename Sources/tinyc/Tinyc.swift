import ArgumentParser
import CMSISBackend
import Foundation
import TinyC
import TinyIR
import TinyPasses

@main
struct Tinyc: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tinyc",
    abstract: "Compile trained networks (.tflite, .onnx) into C for Cortex-M microcontrollers.",
    discussion: """
      Models: .tflite (TFLite flatbuffer), .onnx, or .tir (tinyc's text IR).
      Examples:
        tinyc compile Examples/ds_cnn_s.tflite -O memory --target cortex-m4 -o out/ds_cnn_s
        tinyc inspect Examples/ds_cnn_s.tflite
        tinyc run Examples/ds_cnn_s.tflite --input x.npy --output y.npy --dump-tensors layers/
        tinyc compare model.tflite --input x.npy --golden-layers golden/layers/model.input0
        tinyc opt model.tflite --passes 'plan-memory{strategy=best}' -o model.tir
      """,
    version: "tinyc \(tinycVersion)",
    subcommands: [Compile.self, Inspect.self, Run.self, Opt.self, Compare.self])
}

/// The version `tinyc --version` prints.
let tinycVersion = "0.1.0"

/// Prints one line to stdout with everything a model file put into it shown escaped.
func say(_ line: String) { print(terminalText(line)) }

/// `--input-shape`, for every subcommand that loads a model.
struct InputShapeOption: ParsableArguments {
  @Option(
    name: .customLong("input-shape"),
    help: ArgumentHelp(
      "An ONNX input's shape in the model's own layout, for dimensions it leaves symbolic (a symbolic batch is 1).",
      discussion: "NAME=1,3,96,96, or 1,3,96,96 for a model with one input; repeat for each input.",
      valueName: "shape"))
  var shapes: [String] = []
}

/// The flags that choose what `compile` builds, shared by `compile` and `run` so that every
/// configuration runs where it is deployed.
struct PipelineFlags: ParsableArguments {
  @Option(name: .customShort("O"), help: "Pipeline: memory, speed or size (default: memory).") var opt: String?
  @Option(help: "A pass pipeline that replaces -O's.") var passes: String?
  @Option(
    help: ArgumentHelp(
      "Flash budget: mixed precision cuts weights (8 → 4 → 2 bits) until constants and parameter arrays fit.",
      discussion: "Bytes, or a number with B, KiB, MiB (1024-based), KB or MB (1000-based): 131072, 128KiB.",
      valueName: "size"))
  var flash: String?
  @Option(
    help: ArgumentHelp(
      "RAM budget: mixed precision cuts activations (8 → 4 → 2 bits) until the planned arena fits.",
      valueName: "size"))
  var ram: String?
  @Option(
    help: ArgumentHelp(
      "Impose bits per tensor: {\"tensors\": {\"NAME\": 4, ...}} (names as in report.json's precision table).",
      valueName: "file.json"))
  var bits: String?
  @Flag(help: "Print each cut mixed precision makes and why (stderr), then the per-tensor table.") var explain = false

  /// True when any flag was given (`run` then runs the model as compile builds it).
  var given: Bool { opt != nil || passes != nil || flash != nil || ram != nil || bits != nil }

  func apply(to o: inout Compiler.Options) throws {
    let level = opt ?? "memory"
    guard let l = Compiler.OptLevel(rawValue: level) else { throw DriverError("unknown -O '\(level)' (memory, speed, size)") }
    o.opt = l
    o.passes = passes
    func size(_ flag: String, _ text: String?) throws -> Int? {
      guard let text else { return nil }
      do { return try parseByteSize(text) } catch { throw DriverError("--\(flag): \(error.message)") }
    }
    o.flash = try size("flash", flash)
    o.ram = try size("ram", ram)
    if let bits {
      guard FileManager.default.fileExists(atPath: bits) else { throw DriverError("--bits \(bits): no such file") }
      o.bits = bits
    }
    o.explain = explain
  }
}

/// Runs a subcommand body; any error becomes one line on stderr and exit code 1.
func guarded(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch let e as ExitCode {
    throw e
  } catch {
    FileHandle.standardError.write(Data("tinyc: error: \(terminalText("\(error)"))\n".utf8))
    throw ExitCode(1)
  }
}

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show a model's operators, inputs, outputs, constant and activation bytes, MACs.")
  @Argument(help: "The model (.tflite, .onnx or .tir).") var model: String
  @OptionGroup var inputShape: InputShapeOption
  @Flag(help: "Print JSON instead of text.") var json = false
  @Flag(
    help: ArgumentHelp(
      "Also print one row per op of the graph compile builds.",
      discussion: "Index, op, source (format:op index and the model's name for it), output type and "
        + "quantization, MACs, and activation bytes live while the op runs."))
  var layers = false

  func run() throws {
    try guarded {
      let g = try Models.loadModel(path: model, inputShapes: inputShape.shapes).graph
      let s = try ModelSummary(g)
      print(json ? s.json : s.text, terminator: "")
      let problem = s.cBackendProblem
      if !json { print("C back-end:               " + (problem.map { "cannot lower it: " + terminalText($0) } ?? "every op lowers")) }
      if layers && !json { print("\nlayers (as compile -O memory runs them):\n" + s.layerTable, terminator: "") }
    }
  }
}

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a model on .npy inputs with the reference interpreter.",
    discussion: """
      --dump-tensors DIR writes every op's result: op<i>.npy for TFLite operator i (op<i>_<j>.npy
      for its result j > 0), node<N>.npy for ONNX node N's output (in the model's NCHW layout),
      other values by IR name, and DIR/manifest.json describing them.
      """)
  @Argument(help: "The model.") var model: String
  @OptionGroup var inputShape: InputShapeOption
  @Option(name: .long, help: "An input .npy file (repeat for each model input, in order).") var input: [String] = []
  @Option(name: .long, help: "Where to write an output .npy (repeat for each model output).") var output: [String] =
    []
  @Option(name: .customLong("dump-tensors"), help: "Write every op's result into this folder.") var dumpTensors: String?
  @Option(
    help: "interpreter, c (emitted C on this machine), qemu-m4 or qemu-m55 (emitted C on a Cortex-M4 or, with Helium, a Cortex-M55 under QEMU).")
  var backend: String = "interpreter"
  @Option(name: .customLong("build-dir"), help: "Where the c and QEMU backends build (default: a temporary folder).")
  var buildDir: String?
  @OptionGroup(title: "Compile flags (the interpreter then runs the graph compile builds)") var pipeline: PipelineFlags

  func run() throws {
    try guarded {
      let loaded = try Models.loadModel(path: model, inputShapes: inputShape.shapes)
      var g = loaded.graph
      let inputs = try Execution.readInputs(input, for: loaded)
      var outs: [NDArray]
      var options = Compiler.Options()
      options.keepFloat = true  // run the model as it is; `compile --calibration` quantizes
      try pipeline.apply(to: &options)
      if backend == "interpreter" {
        if pipeline.given { g = try Compiler.optimize(g, options: options) }
        outs = try Execution.run(g, inputs: inputs, dumpDirectory: dumpTensors, onnx: loaded.onnx)
      } else {
        guard let b = CRunner.Backend(rawValue: backend) else {
          throw DriverError("unknown backend '\(backend)' (interpreter, c, qemu-m4, qemu-m55)")
        }
        if dumpTensors != nil { throw DriverError("--dump-tensors works with the interpreter backend only") }
        if let buildDir { try OutputFolder.check(buildDir, force: false) }
        let dir = buildDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-\(getpid())").path
        defer { if buildDir == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let r = try CRunner.run(g, inputs: inputs, backend: b, options: options, workDirectory: dir)
        if buildDir != nil { try OutputFolder.mark(dir) }
        outs = r.outputs
        if let n = r.measurements.instructions { print("\(b == .qemuM55 ? "M55" : "M4") instructions per inference: \(n)") }
        if let t = r.measurements.text, let d = r.measurements.data, let z = r.measurements.bss {
          print("arm-none-eabi-size: text \(t)  data \(d)  bss \(z)")
        }
      }
      outs = loaded.restore(outs)
      if !output.isEmpty, output.count != outs.count {
        throw DriverError("the model has \(outs.count) output(s), got \(output.count) --output path(s)")
      }
      for (a, path) in zip(outs, output) { try Npy.write(a, path: path) }
      if output.isEmpty {
        for (i, a) in outs.enumerated() {
          let values = a.elementType == .f32 ? a.floats.map { "\($0)" } : a.integers.map(String.init)
          say("output \(i) \(a.shape): \(values.prefix(32).joined(separator: " "))\(a.count > 32 ? " …" : "")")
        }
      }
    }
  }
}

struct Opt: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a pass pipeline and print or write the IR.",
    discussion: "Pipeline syntax: 'pass-a,pass-b{key=value,key2=value2}'. Passes: \(PassCatalog.names)")
  @Argument(help: "The model (.tflite, .onnx or .tir).") var model: String
  @OptionGroup var inputShape: InputShapeOption
  @Option(help: "The pass pipeline.") var passes: String = ""
  @Flag(name: .customLong("print-ir-after-all"), help: "Print the IR after every pass.") var printAfterAll = false
  @Flag(name: .customLong("full-constants"), help: "Print every constant byte (always on with -o).")
  var fullConstants = false
  @Option(name: .short, help: "Write the final IR to this .tir file.") var output: String?

  func run() throws {
    try guarded {
      var g = try Models.loadModel(path: model, inputShapes: inputShape.shapes).graph
      var pm = try PassCatalog.pipeline(passes)
      if printAfterAll {
        let printer = Printer(elideOver: fullConstants ? nil : 64)
        pm.printAfterEach = { name, g in print("// ----- IR after \(name) -----\n" + printer.print(g)) }
      }
      try pm.run(&g)
      if let output {
        try Data(Printer().print(g).utf8).write(to: URL(fileURLWithPath: output))
      } else if !printAfterAll || pm.passes.isEmpty {
        print(Printer(elideOver: fullConstants ? nil : 64).print(g), terminator: "")
      }
    }
  }
}

struct Compare: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a model and compare with golden outputs (exact for integers).",
    discussion: """
      --golden Y.npy compares the final output(s); --golden-layers DIR compares every op's result
      with DIR/op<i>.npy (the layout --dump-tensors and scripts/tflm_goldens.py write), or for an
      ONNX model DIR/node<N>.npy (as scripts/make_onnx_examples.py writes ONNX Runtime's), and
      names the first op that differs. Exit status 0 only when everything matches.
      """)
  @Argument(help: "The model.") var model: String
  @OptionGroup var inputShape: InputShapeOption
  @Option(name: .long, help: "Input .npy (repeat per model input).") var input: [String] = []
  @Option(name: .long, help: "Golden output .npy (repeat per model output).") var golden: [String] = []
  @Option(name: .customLong("golden-layers"), help: "Folder of per-op goldens.") var goldenLayers: String?
  @Option(help: "Absolute tolerance for float outputs.") var atol: Double = 1e-5

  func validate() throws {
    if golden.isEmpty && goldenLayers == nil {
      throw ValidationError("give --golden Y.npy or --golden-layers DIR")
    }
  }

  func run() throws {
    try guarded {
      let loaded = try Models.loadModel(path: model, inputShapes: inputShape.shapes)
      let g = loaded.graph
      let inputs = try Execution.readInputs(input, for: loaded)
      var ok = true
      var outputs: [NDArray]
      if let dir = goldenLayers {
        let (outs, report) = try Execution.compareLayers(g, inputs: inputs, goldenDirectory: dir, atol: atol, onnx: loaded.onnx)
        outputs = outs
        if report.compared == 0 {
          throw DriverError("\(dir): no golden op<i>.npy file matches an op of the model")
        }
        if let first = report.firstMismatch {
          ok = false
          say("layers: \(report.mismatches) of \(report.compared) differ; first: \(first)")
        } else {
          print("layers: all \(report.compared) identical")
        }
        if !report.missing.isEmpty { say("layers without a golden: \(report.missing.joined(separator: ", "))") }
      } else {
        outputs = try Execution.run(g, inputs: inputs)
      }
      outputs = loaded.restore(outputs)
      if !golden.isEmpty {
        guard golden.count == outputs.count else {
          throw DriverError("the model has \(outputs.count) output(s), got \(golden.count) --golden file(s)")
        }
        for (i, (a, path)) in zip(outputs, golden).enumerated() {
          let d = try Execution.difference(a, try Npy.read(path: path), atol: atol)
          print("output \(i): \(d.differing) of \(d.count) elements differ, largest difference \(Execution.format(d.largest))")
          if !d.identical { ok = false }
        }
      }
      if !ok { throw ExitCode(1) }
    }
  }
}

struct Compile: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compile a model to C that calls CMSIS-NN, with a memory report.",
    discussion: """
      Writes DIR/NAME.h and DIR/NAME.c (the model), DIR/report.json and DIR/memory.svg (the
      arena plan), DIR/runtime/ (the CMSIS-NN host stand-in, tinyc's kernels, QEMU start-up
      code) and DIR/Makefile: `make -C DIR` builds a host program, `make -C DIR qemu` a
      Cortex-M4 ELF, `make -C DIR check` runs the host build on check/input*.bin and compares
      its outputs with what tinyc's interpreter computed. On a device, build NAME.c against the
      real CMSIS-NN. DIR must be new, empty, or written by tinyc before (--force overrides).
      """)
  @Argument(help: "The model (.tflite, .onnx or .tir).") var model: String
  @OptionGroup var inputShape: InputShapeOption
  @OptionGroup var pipeline: PipelineFlags
  @Option(help: "host, cortex-m4, cortex-m7, cortex-m33 or cortex-m55 (sizes CMSIS-NN scratch buffers).")
  var target: String = "cortex-m4"
  @Option(help: "Memory planner: best or greedy-size.") var strategy: String = "best"
  @Option(help: "C name of the model (default: the file name).") var name: String?
  @Option(name: .short, help: "Output folder.") var output: String
  @Option(help: "Calibration inputs for a float model: a float32 .npy file or a folder of them (quantizes to int8).")
  var calibration: String?
  @Flag(name: .customLong("keep-float"), help: "Compile a float model to float32 C kernels instead of quantizing it.")
  var keepFloat = false
  @Flag(help: "Print a summary of the memory report (report.json has all of it).") var report = false
  @Flag(help: "Write into -o DIR even when it holds files tinyc did not write.") var force = false

  func run() throws {
    try guarded {
      try OutputFolder.check(output, force: force)
      let loaded = try Models.loadModel(path: model, inputShapes: inputShape.shapes)
      let g = loaded.graph
      var o = Compiler.Options()
      try pipeline.apply(to: &o)
      guard let t = Target(rawValue: target) else {
        throw DriverError("unknown target '\(target)' (\(Target.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      guard let s = MemoryStrategy(rawValue: strategy) else {
        throw DriverError("unknown strategy '\(strategy)' (best, greedy-size)")
      }
      o.target = t
      o.strategy = s
      if let calibration {
        o.calibration = try Calibration.inGraphLayout(calibration, for: loaded)
      }
      o.keepFloat = keepFloat
      o.name = name ?? URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
      let r = try Compiler.compile(g, options: o)
      try Compiler.write(r, to: output)
      try OutputFolder.writeCheckData(r.graph, to: output)
      try OutputFolder.mark(output)
      say("wrote \(output)/\(r.name).c, \(r.name).h, report.json, memory.svg, runtime/, Makefile, check/")
      say(
        "arena \(r.plan.arenaBytes) B: activations \(r.plan.activationArenaBytes) B (lower bound \(r.plan.lowerBound) B)"
          + " and CMSIS-NN scratch up to \(r.plan.scratchBytes) B; Flash \(r.flash.total) B (constants \(r.flash.constantBytes) B,"
          + " parameter arrays \(r.flash.parameterBytes) B)")
      if pipeline.explain {
        say("precision (report.json \"precision\"; edit it into a --bits file to impose widths):")
        for line in r.precision.text.split(separator: "\n") { say(String(line)) }
      }
      if report {
        let gap = r.plan.activationArenaBytes - r.plan.lowerBound
        say("report summary (all of it in \(output)/report.json, the plan drawn in \(output)/memory.svg):")
        say(
          "  RAM:   arena \(r.plan.arenaBytes) B (activations \(r.plan.activationArenaBytes) B, "
            + "CMSIS-NN scratch up to \(r.plan.scratchBytes) B)")
        say("  bound: \(r.plan.lowerBound) B of activations live at the peak op; the plan is \(gap) B above it")
        say(
          "  Flash: \(r.flash.total) B: \(r.flash.constantBytes) B of constants (weights, biases, packed) and "
            + "\(r.flash.parameterBytes) B of parameter arrays (per-channel multipliers and shifts, ...), plus code")
        say("  ops:   \(r.graph.ops.count), target \(t.rawValue)")
        let rows = r.precision.rows
        let cut = rows.filter { $0.bits < 8 }.map { "%\($0.name):\($0.bits)" }
        say(
          "  bits:  "
            + (cut.isEmpty
              ? "all \(rows.count) tensors mixed precision may change are at 8 bits"
              : "\(cut.count) of \(rows.count) below 8 (\(cut.prefix(6).joined(separator: ", "))\(cut.count > 6 ? ", …" : ""))"))
      }
    }
  }
}
