import CMSISBackend
import Foundation
import TinyIR

/// Builds emitted C and runs it: on the host (`cc`), or on a Cortex-M4 or Cortex-M55 under QEMU
/// (`arm-none-eabi-gcc`, `qemu-system-arm -M mps2-an386` / `mps3-an547` with semihosting).
public enum CRunner {
  public enum Backend: String, CaseIterable, Sendable {
    case c
    case qemuM4 = "qemu-m4"
    /// Helium (MVE): the CMSIS-NN stand-in is compiled as the library's MVE build there.
    case qemuM55 = "qemu-m55"

    /// The core a QEMU backend emulates, which the C must be compiled for (nil: the host).
    public var target: Target? {
      switch self {
      case .c: return nil
      case .qemuM4: return .cortexM4
      case .qemuM55: return .cortexM55
      }
    }

    /// QEMU's board for that core (the generated Makefile picks the same one from the target).
    var board: String { self == .qemuM55 ? "mps3-an547" : "mps2-an386" }
  }

  /// What one run on QEMU measured.
  public struct Measurements: Sendable {
    /// Executed instructions of one inference (SysTick under -icount shift=0).
    public var instructions: Int?
    /// arm-none-eabi-size: text, data, bss of the ELF.
    public var text: Int?
    public var data: Int?
    public var bss: Int?
  }

  /// A built program for one compiled model.
  public struct Program: Sendable {
    public var directory: String
    public var name: String
    public var backend: Backend
    public var graph: Graph
    public var size = Measurements()
  }

  /// True when `tool` is on PATH.
  public static func available(_ tool: String) -> Bool {
    (try? Shell.run(["sh", "-c", "command -v \(tool)"], in: "/"))?.status == 0
  }

  /// The Debian packages a backend needs, when one of its tools is missing.
  public static func missingTools(for backend: Backend) -> String? {
    switch backend {
    case .c:
      return available("make") && available("cc") ? nil : "make and a C compiler (apt-get install build-essential)"
    case .qemuM4, .qemuM55:
      return available("arm-none-eabi-gcc") && available("qemu-system-arm") && available("make")
        ? nil
        : "the Cortex-M toolchain and QEMU (apt-get install --no-install-recommends gcc-arm-none-eabi "
          + "libnewlib-arm-none-eabi qemu-system-arm)"
    }
  }

  /// Writes a compiled model into `dir` and builds it for the backend.
  /// `sanitize` builds the host program with AddressSanitizer and UndefinedBehaviorSanitizer.
  public static func build(_ r: Compiler.Result, in dir: String, backend: Backend, sanitize: Bool = false) throws
    -> Program
  {
    if let missing = missingTools(for: backend) { throw DriverError("the \(backend.rawValue) backend needs \(missing)") }
    try Compiler.write(r, to: dir)
    var program = Program(directory: dir, name: r.name, backend: backend, graph: r.graph)
    switch backend {
    case .c:
      var args = ["make", "-s", "host"]
      if sanitize { args.append("EXTRA_CFLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -g") }
      let b = try Shell.run(args, in: dir)
      guard b.status == 0 else { throw DriverError("\(dir): building the emitted C failed: \(firstError(b.err + b.out))") }
    case .qemuM4, .qemuM55:
      let b = try Shell.run(["make", "-s", "qemu"], in: dir)
      guard b.status == 0 else {
        throw DriverError("\(dir): cross-compiling the emitted C failed: \(firstError(b.err + b.out))")
      }
      let s = try Shell.run(["arm-none-eabi-size", "build/\(r.name).elf"], in: dir)
      if let row = s.out.split(separator: "\n").dropFirst().first {
        let cols = row.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
        if cols.count >= 3 { (program.size.text, program.size.data, program.size.bss) = (cols[0], cols[1], cols[2]) }
      }
    }
    return program
  }

  /// Runs a built program on one set of inputs and reads its outputs back.
  public static func execute(_ p: Program, inputs: [NDArray]) throws -> (outputs: [NDArray], measurements: Measurements) {
    let g = p.graph
    guard inputs.count == g.inputs.count else {
      throw DriverError("the model has \(g.inputs.count) input(s), got \(inputs.count)")
    }
    for (k, a) in inputs.enumerated() {
      try Data(a.bytes).write(to: URL(fileURLWithPath: p.directory + "/input\(k).bin"))
    }
    let outPaths = g.outputs.indices.map { "output\($0).bin" }
    for path in outPaths { try? FileManager.default.removeItem(atPath: p.directory + "/" + path) }
    var m = p.size
    switch p.backend {
    case .c:
      let r = try Shell.run(["./build/\(p.name)_host"] + inputs.indices.map { "input\($0).bin" } + outPaths, in: p.directory)
      guard r.status == 0 else {
        throw DriverError("\(p.directory): the emitted C exited with \(r.status): \(firstError(r.err))")
      }
    case .qemuM4, .qemuM55:
      var semi = "enable=on,target=native,arg=\(p.name)"
      for k in inputs.indices { semi += ",arg=input\(k).bin" }
      for path in outPaths { semi += ",arg=\(path)" }
      let r = try Shell.run(
        [
          "qemu-system-arm", "-M", p.backend.board, "-nographic", "-monitor", "none", "-icount", "shift=0",
          "-semihosting-config", semi, "-kernel", "build/\(p.name).elf",
        ], in: p.directory)
      guard r.status == 0 else {
        throw DriverError("\(p.directory): the model exited with \(r.status) under QEMU: \(firstError(r.err + r.out))")
      }
      for line in (r.out + "\n" + r.err).split(separator: "\n") where line.hasPrefix("instructions: ") {
        m.instructions = Int(line.dropFirst("instructions: ".count).trimmingCharacters(in: .whitespaces))
      }
    }
    var outputs: [NDArray] = []
    for (k, v) in g.outputs.enumerated() {
      let t = g[v].type
      guard let d = FileManager.default.contents(atPath: p.directory + "/" + outPaths[k]), d.count == t.byteCount else {
        throw DriverError("\(p.directory): output \(k) is missing or has the wrong size")
      }
      outputs.append(NDArray(shape: t.shape, elementType: t.elementType, bytes: [UInt8](d)))
    }
    return (outputs, m)
  }

  /// The first line of a tool's output that reports an error (else its first line), so that
  /// every driver error stays one line.
  static func firstError(_ output: String) -> String {
    let lines = output.split(whereSeparator: \.isNewline).map(String.init)
    return lines.first { $0.contains("error") } ?? lines.first ?? "(no output)"
  }

  /// Compiles, builds and runs in one go.
  public static func run(
    _ graph: Graph, inputs: [NDArray], backend: Backend, options: Compiler.Options, workDirectory dir: String
  ) throws -> (outputs: [NDArray], measurements: Measurements) {
    var opts = options
    if let target = backend.target { opts.target = target }
    let program = try build(try Compiler.compile(graph, options: opts), in: dir, backend: backend)
    return try execute(program, inputs: inputs)
  }
}
