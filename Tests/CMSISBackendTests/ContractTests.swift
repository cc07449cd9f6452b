import CMSISBackend
import Foundation
import Testing
import TinyC
import TinyIR

/// The real CMSIS-NN v7.0.0 contract on every target: the scratch tinyc plans is what the
/// library's `*_get_buffer_size` returns for that build (plain C for `host`, DSP for
/// Cortex-M4/M7/M33, MVE for Cortex-M55), the MVE fully-connected kernel sums are in place, and
/// the host stand-in, built as each target's library build, refuses what the library refuses.
@Suite struct CMSISContractTests {
  static let hostAvailable = CRunner.missingTools(for: .c) == nil
  static let qemuAvailable = CRunner.missingTools(for: .qemuM4) == nil

  private func compile(_ path: String, _ target: Target, name: String) throws -> Compiler.Result {
    var o = Compiler.Options()
    o.keepFloat = true
    o.target = target
    o.name = name
    return try Compiler.compile(try Models.load(path: path), options: o)
  }

  /// Scratch of the op at `step`, planned for `target`.
  private func scratch(_ r: Compiler.Result, step: Int) -> Int {
    r.plan.scratch.first { $0.step == step }?.size ?? 0
  }

  /// Figures worked out by hand from the library's sources (arm_convolve_get_buffer_sizes_s8.c):
  /// im2col of a 3x3 conv on 3 channels is 27 columns, rounded up to 28, two int16 columns:
  /// 112 B (plain C and DSP); MVE: 4 · ⌈27/16⌉ · 16 = 128 B. A 3x3 conv on 8 channels (72 columns): 288 / 320.
  @Test func convScratchIsTheLibrarysPerBuild() throws {
    let path = Paths.examples + "/mobilenet_s.tflite"
    let expected: [Target: Int] = [.host: 112, .cortexM4: 112, .cortexM7: 112, .cortexM33: 112, .cortexM55: 128]
    for (t, bytes) in expected {
      let r = try compile(path, t, name: "m")
      #expect(scratch(r, step: 1) == bytes, "\(t.rawValue)")
      #expect(r.source.contains("{arena + \(r.plan.scratch.first { $0.step == 1 }?.offset ?? -1), \(bytes)}"))
    }
  }

  @Test(.enabled(if: Paths.hasShared)) func mlperfFirstConvScratch() throws {
    // vww/ResNet: 3x3 on RGB (27 → 28 columns); kws: 10x4 on 1 channel (40 columns; MVE 4·3·16).
    let cases: [(String, Target, Int)] = [
      ("vww_96_int8", .host, 112), ("vww_96_int8", .cortexM4, 112), ("vww_96_int8", .cortexM55, 128),
      ("pretrainedResnet_quant", .host, 112), ("pretrainedResnet_quant", .cortexM55, 128),
      ("kws_ref_model", .host, 160), ("kws_ref_model", .cortexM4, 160), ("kws_ref_model", .cortexM55, 192),
    ]
    for (stem, t, bytes) in cases {
      let r = try compile("\(Paths.shared)/tflite/\(stem).tflite", t, name: stem)
      #expect(scratch(r, step: 0) == bytes, "\(stem) on \(t.rawValue)")
    }
  }

  /// On MVE the fully-connected calls get their kernel sums (bias + input_offset · Σ row) in a
  /// Flash array, sized as `arm_fully_connected_s8_get_buffer_size` asks; other builds none.
  @Test func mveFullyConnectedGetsKernelSums() throws {
    let path = Paths.examples + "/ds_cnn_s.tflite"
    let mve = try compile(path, .cortexM55, name: "m")
    #expect(mve.source.contains("static const int32_t m_kernel_sums"))
    #expect(mve.source.contains("const cmsis_nn_context ctx = {(void *)(uintptr_t)m_kernel_sums"))
    for t in [Target.host, .cortexM4] {
      #expect(!(try compile(path, t, name: "m")).source.contains("kernel_sums"))
    }
  }

  /// Every example (and MLPerf model) compiled for a DSP and an MVE core runs on the host against
  /// the stand-in built as that core's library, bit-exact with TFLite Micro; the harness runs the
  /// in-place API too and fails when it disagrees. (`host` itself: EmittedCTests.)
  @Test(
    .enabled(if: hostAvailable),
    arguments: [Target.cortexM4, .cortexM55], GoldenModel.examples + (Paths.hasShared ? GoldenModel.mlperf : []))
  func standInBuiltAsTarget(_ t: Target, _ m: GoldenModel) throws {
    let dir = Paths.temporary("\(m.stem)-\(t.rawValue)")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let r = try compile(m.model, t, name: m.stem)
    let program = try CRunner.build(r, in: dir, backend: .c)
    let makefile = try String(contentsOfFile: "\(dir)/Makefile", encoding: .utf8)
    #expect(makefile.contains("HOST_BUILD ?= \(t.hostBuildFlags)\n") && makefile.contains("-DTINYC_IN_PLACE"))
    for k in 0..<m.inputs {
      let x = try Execution.readInputs([m.input(k)], for: r.graph)
      let (outs, _) = try CRunner.execute(program, inputs: x)
      let diff = try firstDifference(outs, [try Npy.read(path: m.output(k))])
      #expect(diff == nil, "\(m.stem) input \(k) for \(t.rawValue): \(diff ?? "")")
    }
  }

  /// Builds `r` with its C changed by `edit`, runs input 0 and returns the exit status and stderr.
  private func runEdited(_ r: Compiler.Result, _ m: GoldenModel, _ edit: (String) -> String) throws -> (Int32, String) {
    let dir = Paths.temporary("\(m.stem)-edited")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Compiler.write(r, to: dir)
    let c = "\(dir)/\(r.name).c"
    let edited = edit(try String(contentsOfFile: c, encoding: .utf8))
    #expect(edited != (try String(contentsOfFile: c, encoding: .utf8)), "the edit changed nothing")
    try edited.write(toFile: c, atomically: true, encoding: .utf8)
    let b = try Shell.run(["make", "-s", "host"], in: dir)
    guard b.status == 0 else { throw DriverError("build failed: \(b.err)") }
    let x = try Execution.readInputs([m.input(0)], for: r.graph)
    try Data(x[0].bytes).write(to: URL(fileURLWithPath: dir + "/input0.bin"))
    let run = try Shell.run(["./build/\(r.name)_host", "input0.bin", "output0.bin"], in: dir)
    return (run.status, run.err)
  }

  /// Drops the emitted run-time size guards, so that the kernel itself sees what it is given.
  private func withoutGuards(_ s: String) -> String {
    s.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("_get_buffer_size(") }
      .joined(separator: "\n")
  }

  /// The stand-in refuses one byte less than the library asks for, and a NULL buffer, as the
  /// real library does (ARM_CMSIS_NN_ARG_ERROR: invoke returns minus the op number).
  @Test(.enabled(if: hostAvailable), arguments: [Target.host, .cortexM4, .cortexM55])
  func standInRefusesTooLittleScratch(_ t: Target) throws {
    let m = GoldenModel.examples.first { $0.stem == "mobilenet_s" }!
    let r = try compile(m.model, t, name: "m")
    let need = scratch(r, step: 1)
    let short = try runEdited(r, m) { withoutGuards($0).replacingOccurrences(of: ", \(need)};", with: ", \(need - 1)};") }
    #expect(short.0 == 254, "status \(short.0): \(short.1)")  // -2 as an exit status
    let null = try runEdited(r, m) { s in
      withoutGuards(s).split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.hasSuffix(", \(need)};") && $0.contains("ctx = {arena") ? "    const cmsis_nn_context ctx = {NULL, 0};" : String($0)
      }.joined(separator: "\n")
    }
    #expect(null.0 == 254, "status \(null.0): \(null.1)")
  }

  /// The MVE build refuses a fully-connected call whose buffer does not hold the kernel sums.
  @Test(.enabled(if: hostAvailable)) func standInRefusesMissingKernelSums() throws {
    let m = GoldenModel.examples.first { $0.stem == "ds_cnn_s" }!
    let r = try compile(m.model, .cortexM55, name: "m")
    let fcStep = try #require(r.graph.ops.firstIndex { if case .fullyConnected = $0.kind { return true } else { return false } })
    let wrong = try runEdited(r, m) { s in
      // The first kernel sum, plus one.
      guard let head = s.range(of: "static const int32_t m_kernel_sums"), let brace = s.range(of: "{\n", range: head.upperBound..<s.endIndex)
      else { return s }
      return s.replacingCharacters(in: brace, with: "{\n1 + ")
    }
    #expect(wrong.0 == Int32(256 - (fcStep + 1)), "status \(wrong.0): \(wrong.1)")
    let null = try runEdited(r, m) { s in
      // ctx = {NULL, 0}, the array still referenced so that it is not an unused variable.
      withoutGuards(s).replacingOccurrences(
        of: #"\{\(void \*\)\(uintptr_t\)(m_kernel_sums[0-9]+), [0-9]+\}"#, with: "{NULL, 0 * (int32_t)sizeof $1}",
        options: .regularExpression)
    }
    #expect(null.0 == Int32(256 - (fcStep + 1)), "status \(null.0): \(null.1)")
  }

  /// The harness's in-place check catches an `m_input` that points elsewhere than where the
  /// model reads its input (while the pointer form, copying to the right place, stays right).
  @Test(.enabled(if: hostAvailable)) func inPlaceCheckCanFail() throws {
    let m = GoldenModel.examples.first { $0.stem == "ds_cnn_s" }!
    let r = try compile(m.model, .host, name: "m")
    let off = try #require(r.plan.tensors.first { $0.value == r.graph.inputs[0].index }?.offset)
    let bad = try runEdited(r, m) { s in
      s.replacingOccurrences(of: "memcpy(m_input(0), input0", with: "memcpy(m_arena.bytes + \(off), input0")
        .replacingOccurrences(
          of: "case 0: return m_arena.bytes + \(off);\n  default: return NULL;\n  }\n}\n\nconst void",
          with: "case 0: return m_arena.bytes + \(off + 1);\n  default: return NULL;\n  }\n}\n\nconst void")
    }
    #expect(bad.0 == 3, "status \(bad.0): \(bad.1)")
  }

  /// The in-place API: the inputs and outputs are inside the arena, and report.json's
  /// `ram_bytes` (everything one inference needs) is the arena.
  @Test func inPlaceAPIAndRAMBytes() throws {
    let r = try compile(Paths.examples + "/mobilenet_s.tflite", .cortexM4, name: "m")
    for decl in ["void *m_input(int index);", "const void *m_output(int index);", "int m_invoke_in_place(void);"] {
      #expect(r.header.contains(decl))
    }
    #expect(r.header.contains("#define m_RAM_BYTES \(r.plan.arenaBytes)"))
    let inputOffset = try #require(r.plan.tensors.first { $0.value == r.graph.inputs[0].index }?.offset)
    #expect(r.source.contains("case 0: return m_arena.bytes + \(inputOffset);"))
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.reportJSON.utf8)) as? [String: Any])
    #expect(json["ram_bytes"] as? Int == r.plan.arenaBytes)
  }
}
