import CMSISBackend
import Foundation
import Interpreter
import Testing
import TinyC
import TinyIR
import TinyPasses

/// Mixed precision from the driver: `compile -O memory --flash --ram --bits --explain`, the same
/// flags on `run` (interpreter, the emitted C on the host, QEMU), and the real case.
@Suite struct MixedPrecisionCLITests {
  static let haveBinary = Repo.tinyc != nil
  static let haveCC = CRunner.missingTools(for: .c) == nil
  static let haveQEMU = CRunner.missingTools(for: .qemuM4) == nil
  static let shared = Repo.root + "/../shared/models/tflite"
  static let vww = shared + "/vww_96_int8.tflite"
  static let haveVWW = FileManager.default.fileExists(atPath: vww)

  static func report(_ dir: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  static func precisionRows(_ report: [String: Any]) -> [[String: Any]] {
    ((report["precision"] as? [String: Any])?["tensors"] as? [[String: Any]]) ?? []
  }

  /// The passes alone (no C), with the Cortex-M4's CMSIS-NN scratch: the figures the planner
  /// and the Flash model give for vww under the budget, exactly.
  @Test(.enabled(if: haveVWW)) func vwwFitsFortyKiBOfRAMAndOneHundredTwentyEightKiBOfFlash() throws {
    let g = try Models.loadModel(path: Self.vww).graph
    var o = Compiler.Options()
    o.ram = 40 * 1024
    o.flash = 128 * 1024
    let out = try Compiler.optimize(g, options: o)
    let plan = try planMemory(out, strategy: .best, scratch: { _, op in Target.cortexM4.scratchBytes(op, out) })
    let flash = FlashModel(out).total
    #expect(plan.arenaBytes <= 40960 && flash <= 131072)
    #expect(plan.arenaBytes == 36864 && flash == 130360)
    // At 8 bits it needs 55,296 B of arena and 240,952 B of Flash (219,064 B of weights and
    // biases and 21,888 B of multipliers and shifts).
    let int8 = try Compiler.optimize(g, options: Compiler.Options())
    #expect(FlashModel(int8).total == 240_952 && FlashModel(int8).constantBytes == 219_064)
    #expect(try planMemory(int8, strategy: .best).arenaBytes == 55296)
  }

  /// The command, end to end: report.json within budget, with the assignment.
  @Test(.enabled(if: haveBinary && haveVWW)) func vwwCompilesUnderTheBudget() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (s, out, e) = try Repo.run(["compile", Self.vww, "-O", "memory", "--ram", "40KiB", "--flash", "128KiB", "-o", dir + "/o"])
    #expect(s == 0, "\(out)\(e)")
    let r = try Self.report(dir + "/o")
    #expect((r["arena_bytes"] as? Int ?? .max) <= 40960)
    #expect((r["constant_bytes"] as? Int ?? .max) <= 131072)
    let p = try #require(r["precision"] as? [String: Any])
    #expect(p["flash_budget"] as? Int == 131072 && p["ram_budget"] as? Int == 40960)
    #expect(Self.precisionRows(r).contains { ($0["bits"] as? Int ?? 8) < 8 })
  }

  /// The emitted C on a Cortex-M4 under QEMU equals the interpreter on the same compile flags.
  @Test(.enabled(if: haveBinary && haveVWW && haveQEMU)) func vwwUnderTheBudgetRunsOnQEMUAsInTheInterpreter() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let input = Self.shared + "/golden/vww_96_int8.input0.npy"
    let flags = ["-O", "memory", "--ram", "40KiB", "--flash", "128KiB"]
    let (s1, o1, e1) = try Repo.run(["run", Self.vww, "--input", input, "--output", dir + "/i.npy"] + flags)
    #expect(s1 == 0, "\(o1)\(e1)")
    let (s2, o2, e2) = try Repo.run(
      ["run", Self.vww, "--input", input, "--output", dir + "/q.npy", "--backend", "qemu-m4"] + flags)
    #expect(s2 == 0, "\(o2)\(e2)")
    #expect(o2.contains("M4 instructions per inference: "), "\(o2)")
    #expect(try Npy.read(path: dir + "/i.npy") == Npy.read(path: dir + "/q.npy"))
  }

  static let examples: [(String, Double, Double)] = [
    ("ds_cnn_s.tflite", 0.7, 0.6), ("mobilenet_s.tflite", 0.7, 1.0), ("resnet_s.tflite", 0.5, 0.5),
    ("keras_cnn_int8.tflite", 0.5, 0.5), ("onnx/cnn_qdq.onnx", 0.75, 1.0),
  ]

  /// Interpreter and emitted C (host) bit-identical on mixed-precision graphs of the examples,
  /// at fractions of their int8 Flash and arena (mobilenet_s and cnn_qdq peak where nothing may
  /// be cut: the model input or output is live there, so their RAM stays).
  @Test(.enabled(if: haveCC), arguments: examples)
  func interpreterEqualsTheEmittedCOnMixedPrecision(_ model: String, _ flashFactor: Double, _ ramFactor: Double) throws {
    let loaded = try Models.loadModel(path: Repo.examples + "/" + model)
    let int8 = try Compiler.compile(loaded.graph, options: Compiler.Options())
    var o = Compiler.Options()
    o.flash = Int(Double(int8.flash.total) * flashFactor)
    o.ram = Int(Double(int8.plan.arenaBytes) * ramFactor)
    let g = try Compiler.optimize(loaded.graph, options: o)
    #expect(PrecisionTable(g).rows.contains { $0.bits < 8 }, "\(model): nothing was cut")
    var rng = SystemRandomNumberGenerator()
    let inputs = g.inputs.map { v -> NDArray in
      let t = g.type(of: v)
      if t.elementType == .f32 {
        return NDArray(shape: t.shape, floats: (0..<t.elementCount).map { _ in Float.random(in: -1...1, using: &rng) })
      }
      return NDArray.pack((0..<t.elementCount).map { _ in Int.random(in: -128...127, using: &rng) }, as: t.elementType, shape: t.shape)
    }
    let expected = try Interpreter(g).run(inputs)
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let r = try CRunner.run(loaded.graph, inputs: inputs, backend: .c, options: o, workDirectory: dir + "/c")
    #expect(r.outputs == expected, "\(model)")
  }

  /// The precision table of report.json, written back as a bits file, gives the same widths.
  @Test func theReportTableFedBackAsBitsGivesTheSameAssignment() throws {
    let g = try Models.loadModel(path: Repo.examples + "/ds_cnn_s.tflite").graph
    var o = Compiler.Options()
    o.ram = 2500
    o.flash = 2800
    let cut = try Compiler.optimize(g, options: o)
    let rows = PrecisionTable(cut).rows
    #expect(rows.contains { $0.bits < 8 })
    let entries = rows.map { "\"\($0.name)\": \($0.bits)" }.joined(separator: ", ")
    let path = Repo.temporary() + "/bits.json"
    try Data("{\"tensors\": {\(entries)}}".utf8).write(to: URL(fileURLWithPath: path))
    var b = Compiler.Options()
    b.bits = path
    let imposed = try Compiler.optimize(g, options: b)
    #expect(PrecisionTable(imposed).rows == rows)
    #expect(Printer().print(imposed) == Printer().print(cut))
  }

  /// In a model with float I/O the integer forms of its input and output (quantize(input),
  /// the operand of the output's dequantize) are the model's I/O too: never cut, not listed.
  @Test func theIntegerFormsOfFloatIOAreNotCut() throws {
    let g = try Compiler.optimize(
      try Models.loadModel(path: Repo.examples + "/onnx/cnn_qdq.onnx").graph, options: Compiler.Options())
    let names = Set(PrecisionTable(g).rows.map(\.name))
    let io = g.ops.flatMap { op -> [ValueID] in
      if op.kind == .quantize, g.inputs.contains(op.inputs[0]) { return op.outputs }
      if op.kind == .dequantize, g.outputs.contains(op.outputs[0]) { return op.inputs }
      return []
    }
    #expect(io.count == 2)
    #expect(io.allSatisfy { !names.contains(g[$0].name) })
    #expect(names.count > 2)
  }

  /// `run --ram` on the interpreter runs the graph compile builds under that budget.
  @Test(.enabled(if: haveBinary)) func runTakesTheCompileFlags() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let input = Repo.examples + "/golden/ds_cnn_s.input0.npy"
    let (s, out, e) = try Repo.run([
      "run", "Examples/ds_cnn_s.tflite", "--input", input, "--output", dir + "/y.npy", "-O", "memory", "--ram", "2500",
    ])
    #expect(s == 0, "\(out)\(e)")
    var o = Compiler.Options()
    o.ram = 2500
    let g = try Compiler.optimize(try Models.loadModel(path: Repo.examples + "/ds_cnn_s.tflite").graph, options: o)
    #expect(PrecisionTable(g).rows.contains { $0.bits < 8 })
    let expected = try Interpreter(g).run([try Npy.read(path: input)])[0]
    #expect(try Npy.read(path: dir + "/y.npy") == expected)
  }

  @Test(.enabled(if: haveBinary)) func badSizesAndFlagMixesAreOneLineErrors() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cases: [([String], String)] = [
      (["--flash", "64kb"], "--flash: '64kb' is not a size"),
      (["--ram=-3"], "--ram: '-3' is not a size"),
      (["--bits", dir + "/missing.json"], "no such file"),
      (["--passes", "plan-memory", "--ram", "1KiB"], "with --passes, write it there"),
      (["--ram", "10"], "cannot meet RAM ≤ 10 B"),
    ]
    for (flags, message) in cases {
      let (s, out, e) = try Repo.run(["compile", "Examples/ds_cnn_s.tflite", "-o", dir + "/o", "--force"] + flags)
      #expect(s == 1 && e.contains(message) && e.split(separator: "\n").count == 1, "\(flags): \(out)\(e)")
    }
  }

  @Test(.enabled(if: haveBinary)) func explainPrintsTheCutsAndTheTable() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // Passes only (opt), so that the test does not depend on the C kernels.
    let (s, out, e) = try Repo.run([
      "opt", "Examples/ds_cnn_s.tflite", "--passes", "lower-qdq,mixed-precision{ram=2500,explain}", "-o", dir + "/g.tir",
    ])
    #expect(s == 0, "\(out)\(e)")
    #expect(e.hasPrefix("mixed-precision: start: Flash 3520 B, RAM (arena) 4000 B (budget 2500 B)"), "\(e)")
    #expect(e.contains("is the widest tensor live there that may be cut (8 bits, 2000 B); %t") && e.contains("8 → 4 bits"), "\(e)")
  }
}
