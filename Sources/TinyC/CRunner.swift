import CMSISBackend
import Foundation
import TinyIR

/// Builds emitted C and runs it: on the host (`cc`) or on a Cortex-M4 under QEMU
/// (`arm-none-eabi-gcc`, `qemu-system-arm -M mps2-an386` with semihosting).
public enum CRunner {
  public enum Backend: String, CaseIterable, Sendable {
    case c
    case qemuM4 = "qemu-m4"
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

  /// Runs a command; returns its exit status, stdout and stderr.
  @discardableResult
  static func shell(_ args: [String], in dir: String, timeout: TimeInterval = 600) throws -> (
    status: Int32, out: String, err: String
  ) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: dir)
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    // Read both pipes while the process runs so that a chatty child cannot block.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
      errData = err.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
  }

  static func which(_ tool: String) -> Bool {
    (try? shell(["sh", "-c", "command -v \(tool)"], in: "/"))?.status == 0
  }

  /// Compiles `graph` into `dir` for the backend's target, builds it, runs it on the inputs.
  public static func run(
    _ graph: Graph, inputs: [NDArray], backend: Backend, options: Compiler.Options, workDirectory dir: String,
    sanitize: Bool = false
  ) throws -> (outputs: [NDArray], measurements: Measurements) {
    var opts = options
    if backend == .qemuM4 { opts.target = .cortexM4 }
    let result = try Compiler.compile(graph, options: opts)
    try Compiler.write(result, to: dir, target: opts.target)
    let name = result.name
    let g = result.graph
    for (k, a) in inputs.enumerated() {
      try Data(a.bytes).write(to: URL(fileURLWithPath: dir + "/input\(k).bin"))
    }
    let outPaths = g.outputs.indices.map { "output\($0).bin" }
    var m = Measurements()
    switch backend {
    case .c:
      guard which("make"), which("cc") else {
        throw DriverError("the c backend needs make and a C compiler: apt-get install build-essential")
      }
      var makeArgs = ["make", "-s", "host"]
      if sanitize { makeArgs.append("EXTRA_CFLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -g") }
      let b = try shell(makeArgs, in: dir)
      guard b.status == 0 else { throw DriverError("\(dir): building the emitted C failed:\n\(b.out)\(b.err)") }
      let r = try shell(["./build/\(name)_host"] + inputs.indices.map { "input\($0).bin" } + outPaths, in: dir)
      guard r.status == 0 else { throw DriverError("\(dir): the emitted C exited with \(r.status): \(r.err)") }
    case .qemuM4:
      guard which("arm-none-eabi-gcc"), which("qemu-system-arm") else {
        throw DriverError(
          "the qemu-m4 backend needs the Cortex-M toolchain and QEMU: "
            + "apt-get install --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm")
      }
      let b = try shell(["make", "-s", "qemu"], in: dir)
      guard b.status == 0 else { throw DriverError("\(dir): cross-compiling the emitted C failed:\n\(b.out)\(b.err)") }
      var semi = "enable=on,target=native,arg=\(name)"
      for k in inputs.indices { semi += ",arg=input\(k).bin" }
      for p in outPaths { semi += ",arg=\(p)" }
      let r = try shell(
        [
          "qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-icount", "shift=0",
          "-semihosting-config", semi, "-kernel", "build/\(name).elf",
        ], in: dir)
      guard r.status == 0 else { throw DriverError("\(dir): the model exited with \(r.status) under QEMU: \(r.err)\(r.out)") }
      for line in (r.out + "\n" + r.err).split(separator: "\n") where line.hasPrefix("instructions: ") {
        m.instructions = Int(line.dropFirst("instructions: ".count).trimmingCharacters(in: .whitespaces))
      }
      let s = try shell(["arm-none-eabi-size", "build/\(name).elf"], in: dir)
      if let row = s.out.split(separator: "\n").dropFirst().first {
        let cols = row.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
        if cols.count >= 3 { (m.text, m.data, m.bss) = (cols[0], cols[1], cols[2]) }
      }
    }
    var outputs: [NDArray] = []
    for (k, v) in g.outputs.enumerated() {
      let t = g[v].type
      guard let d = FileManager.default.contents(atPath: dir + "/" + outPaths[k]), d.count == t.byteCount else {
        throw DriverError("\(dir): output \(k) is missing or has the wrong size")
      }
      outputs.append(NDArray(shape: t.shape, elementType: t.elementType, bytes: [UInt8](d)))
    }
    return (outputs, m)
  }
}
