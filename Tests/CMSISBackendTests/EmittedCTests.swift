import CMSISBackend
import Foundation
import Testing
import TinyC
import TinyIR

/// The emitted C, built and run three ways, against TFLite Micro's golden outputs: on the
/// host, on the host under ASan+UBSan, and on a Cortex-M4 under QEMU. Integer outputs must be
/// identical; float models (float_s, quant_io_s's float ends) are identical too on the host,
/// since the float kernels are the same C.
@Suite struct EmittedCTests {
  static let hostAvailable = CRunner.missingTools(for: .c) == nil
  static let qemuAvailable = CRunner.missingTools(for: .qemuM4) == nil

  private func check(_ m: GoldenModel, backend: CRunner.Backend, inputs: [Int], sanitize: Bool = false) throws {
    let g = try Models.load(path: m.model)
    var options = Compiler.Options()
    options.keepFloat = true
    options.target = backend.target ?? .host
    options.name = m.stem
    let dir = Paths.temporary(m.stem)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let program = try CRunner.build(try Compiler.compile(g, options: options), in: dir, backend: backend, sanitize: sanitize)
    for k in inputs {
      let x = try Execution.readInputs([m.input(k)], for: g)
      let (outs, measured) = try CRunner.execute(program, inputs: x)
      let golden = try Npy.read(path: m.output(k))
      // Float outputs of libm-based kernels may differ in the last bits between C libraries.
      let atol = backend != .c && golden.elementType == .f32 ? 1e-6 : 0
      let diff = try firstDifference(outs, [golden], atol: atol)
      #expect(diff == nil, "\(m.stem) input \(k) on \(backend.rawValue): \(diff ?? "")")
      if backend != .c { #expect((measured.instructions ?? 0) > 0, "no instruction count from QEMU") }
    }
  }

  @Test(.enabled(if: hostAvailable), arguments: GoldenModel.examples)
  func examplesOnHost(_ m: GoldenModel) throws {
    try check(m, backend: .c, inputs: Array(0..<m.inputs))
  }

  @Test(.enabled(if: hostAvailable && Paths.hasShared), arguments: GoldenModel.mlperf)
  func mlperfOnHost(_ m: GoldenModel) throws {
    try check(m, backend: .c, inputs: Array(0..<m.inputs))
  }

  @Test(.enabled(if: hostAvailable), arguments: GoldenModel.examples + (Paths.hasShared ? GoldenModel.mlperf : []))
  func underSanitizers(_ m: GoldenModel) throws {
    try check(m, backend: .c, inputs: [0], sanitize: true)
  }

  @Test(.enabled(if: qemuAvailable), arguments: GoldenModel.examples + (Paths.hasShared ? GoldenModel.mlperf : []))
  func onCortexM4UnderQEMU(_ m: GoldenModel) throws {
    try check(m, backend: .qemuM4, inputs: [0])
  }

  /// Cortex-M55: the emitted C for Helium (MVE scratch sizes, the fully-connected kernel sums)
  /// against the stand-in compiled as CMSIS-NN's MVE build by `-mcpu=cortex-m55`, as Arm's
  /// library would be.
  @Test(.enabled(if: qemuAvailable), arguments: GoldenModel.examples + (Paths.hasShared ? GoldenModel.mlperf : []))
  func onCortexM55UnderQEMU(_ m: GoldenModel) throws {
    try check(m, backend: .qemuM55, inputs: [0])
  }

  /// The same model and flags give byte-identical files.
  @Test func outputIsDeterministic() throws {
    let g = try Models.load(path: Paths.examples + "/mobilenet_s.tflite")
    let a = try Compiler.compile(g, options: Compiler.Options())
    let b = try Compiler.compile(try Models.load(path: Paths.examples + "/mobilenet_s.tflite"), options: Compiler.Options())
    #expect(a.source == b.source)
    #expect(a.header == b.header)
    #expect(a.reportJSON == b.reportJSON)
    #expect(a.svg == b.svg)
  }

  /// Every emitted file compiles warning-free as C99 with each compiler that is installed.
  @Test(.enabled(if: hostAvailable)) func warningFree() throws {
    let dir = Paths.temporary("warnings")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var compilers = ["gcc", "clang"].filter(CRunner.available)
    let arm = "arm-none-eabi-gcc"
    if CRunner.available(arm) { compilers.append(arm) }
    #expect(!compilers.isEmpty)
    for stem in Paths.exampleModels {
      var o = Compiler.Options()
      o.keepFloat = true
      o.name = stem
      let r = try Compiler.compile(try Models.load(path: "\(Paths.examples)/\(stem).tflite"), options: o)
      try Compiler.write(r, to: dir)
      for cc in compilers {
        var args = [cc, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-Iruntime/cmsis_nn", "-Iruntime/tinyc", "-c"]
        if cc == arm { args += ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"] }
        let r = try Shell.run(args + ["\(stem).c", "-o", "/dev/null"], in: dir)
        #expect(r.status == 0 && r.err.isEmpty, "\(cc) on \(stem).c: \(r.err)")
      }
    }
  }

  /// The runtime embedded in the binary is the one in Backends/Runtime.
  @Test func embeddedRuntimeMatchesSources() throws {
    #expect(Runtime.files.count > 10)
    for f in Runtime.files {
      let path = Paths.repo + "/Backends/Runtime/" + f.path
      let disk = try String(contentsOfFile: path, encoding: .utf8)
      #expect(disk == f.contents + "\n" || disk == f.contents, "\(f.path) differs: run python3 scripts/embed_runtime.py")
    }
  }
}

/// The arena the C back-end sizes per target: the activations alone reach the activation
/// lower bound (exact figures from ../shared/models/README.md); scratch comes on top only
/// where every byte of the lower bound is live at the op that needs it (ResNet-8's 576 B
/// im2col, on every build) or a build asks for more than the gaps hold (kws on MVE: 4,464 B
/// per depthwise conv). `ram_bytes` is the whole arena: input and output live in it.
@Suite struct ArenaFigures {
  @Test(
    .enabled(if: Paths.hasShared),
    arguments: [
      ("kws_ref_model", 16_000, [16_000, 16_000, 20_464]), ("vww_96_int8", 55_296, [55_296, 55_296, 55_296]),
      ("pretrainedResnet_quant", 49_152, [49_728, 49_728, 49_728]), ("ad01_int8", 768, [768, 768, 768]),
    ])
  func mlperfArenaMeetsTheLowerBound(stem: String, lowerBound: Int, arenas: [Int]) throws {
    let g = try Models.load(path: "\(Paths.shared)/tflite/\(stem).tflite")
    for (t, arena) in zip([Target.host, .cortexM4, .cortexM55], arenas) {
      var o = Compiler.Options()
      o.target = t
      let r = try Compiler.compile(g, options: o)
      #expect(r.plan.lowerBound == lowerBound)
      #expect(r.plan.activationArenaBytes == lowerBound)
      #expect(r.plan.arenaBytes == arena, "\(stem) on \(t.rawValue)")
      #expect(r.source.contains("int8_t bytes[\(arena)];"))
      #expect(r.reportJSON.contains("\"ram_bytes\": \(arena),"))
    }
  }
}
