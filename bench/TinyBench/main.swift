// tinyc-bench: per model, tinyc's import, interpreter and compile times, its memory plans, and
// its Cortex-M4 build (Flash, instructions per inference under QEMU), side by side with TFLite
// Micro's time per inference and smallest working arena measured in the same run
// (bench/tflm_time.py, called once per model just before tinyc's own timing). Prints markdown.
// bench/run.sh is the one command that builds and runs it; bench/README.md says what each
// column means.

import CMSISBackend
import Foundation
import Interpreter
import TinyC
import TinyIR
import TinyPasses

// MARK: - Options

struct Options {
  var models: [String] = []
  var runs = 50
  var budget = 3.0
  var work = NSTemporaryDirectory() + "tinyc-bench"
  var python = "python3"
  var tflmScript: String?
  var qemu = true
}

func usage() -> String {
  """
  usage: tinyc-bench [--runs N] [--budget SECONDS] [--work DIR] [--python PYTHON]
                     [--tflm-script bench/tflm_time.py] [--no-qemu] MODEL...
  Times are medians of up to N runs (at least 3, at most SECONDS of timing per model and side).
  """
}

func parseOptions(_ args: [String]) -> Options? {
  var o = Options()
  var i = 0
  func value() -> String? {
    i += 1
    return i < args.count ? args[i] : nil
  }
  while i < args.count {
    switch args[i] {
    case "--runs":
      guard let v = value(), let n = Int(v), n > 0 else { return nil }
      o.runs = n
    case "--budget":
      guard let v = value(), let s = Double(v), s > 0 else { return nil }
      o.budget = s
    case "--work":
      guard let v = value() else { return nil }
      o.work = v
    case "--python":
      guard let v = value() else { return nil }
      o.python = v
    case "--tflm-script":
      guard let v = value() else { return nil }
      o.tflmScript = v
    case "--no-qemu": o.qemu = false
    case "-h", "--help": return nil
    default:
      if args[i].hasPrefix("-") { return nil }
      o.models.append(args[i])
    }
    i += 1
  }
  return o.models.isEmpty ? nil : o
}

// MARK: - Small helpers

func log(_ s: String) {
  FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Milliseconds taken by `body`.
func measure(_ body: () throws -> Void) rethrows -> Double {
  let clock = ContinuousClock()
  let d = try clock.measure(body)
  let (s, atto) = d.components
  return Double(s) * 1e3 + Double(atto) / 1e15
}

func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  guard !s.isEmpty else { return .nan }
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Runs `body` up to `runs` times (at least `minimum`, then until `budget` seconds are spent)
/// and returns the median time in ms and the number of runs.
func timed(runs: Int, minimum: Int = 3, budget: Double, _ body: () throws -> Void) rethrows -> (Double, Int) {
  var times: [Double] = []
  let start = ContinuousClock.now
  while times.count < runs {
    if times.count >= minimum && ContinuousClock.now - start > .milliseconds(Int(budget * 1000)) { break }
    times.append(try measure(body))
  }
  return (median(times), times.count)
}

/// Runs a program; returns its exit status and stdout (stderr goes to `stderrTo`, or is dropped).
func shell(_ args: [String], in dir: String? = nil, passStderr: Bool = false) -> (status: Int32, out: String)? {
  guard let r = try? Shell.run(args, in: dir) else { return nil }
  if passStderr { FileHandle.standardError.write(Data(r.err.utf8)) }
  return (r.status, r.out)
}

func which(_ tool: String) -> Bool { shell(["sh", "-c", "command -v \(tool)"])?.status == 0 }

/// `12345` → `12,345`.
func grouped(_ n: Int) -> String {
  let s = String(n.magnitude)
  var out = ""
  for (k, ch) in s.enumerated() {
    if k > 0 && (s.count - k) % 3 == 0 { out.append(",") }
    out.append(ch)
  }
  return (n < 0 ? "-" : "") + out
}

func ms(_ x: Double) -> String {
  if x >= 100 { return String(format: "%.0f", x) }
  if x >= 10 { return String(format: "%.1f", x) }
  if x >= 1 { return String(format: "%.2f", x) }
  return String(format: "%.3f", x)
}

/// A deterministic input when a model has no golden input beside it: int8/uint8 codes over the
/// whole range, floats in [-1, 1) (a 64-bit LCG, seed 0).
func syntheticInput(_ t: TensorType) -> NDArray {
  var state: UInt64 = 0x9E37_79B9_7F4A_7C15
  func next() -> UInt64 {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return state >> 33
  }
  switch t.elementType {
  case .f32:
    return NDArray(shape: t.shape, floats: (0..<t.elementCount).map { _ in Float(next() % 2_000_000) / 1e6 - 1 })
  default:
    return NDArray(
      shape: t.shape, elementType: t.elementType, bytes: (0..<t.byteCount).map { _ in UInt8(truncatingIfNeeded: next()) })
  }
}

// MARK: - Footnotes

/// "n/a" cells point to numbered notes that say why.
struct Notes {
  private(set) var list: [String] = []
  mutating func mark(_ reason: String) -> String {
    let one = reason.split(separator: "\n").first.map(String.init) ?? reason
    let text = one.count > 300 ? String(one.prefix(300)) + "…" : one
    if let k = list.firstIndex(of: text) { return "n/a [\(k + 1)]" }
    list.append(text)
    return "n/a [\(list.count)]"
  }
}

// MARK: - Per model

struct TFLM {
  var ms: Double?
  var runs: Int?
  var arena: Int?
  var head: Int?
  var tail: Int?
  var output: String?
  var error: String?
}

struct Flash {
  var text = 0
  var data = 0
  var bss = 0
  var weights = 0
  var requant = 0
  var otherTables = 0
}

struct Row {
  var name: String
  var importMs: Double?
  var interpMs: Double?
  var interpRuns = 0
  var interpVsTFLM: String?
  var tflm = TFLM()
  var compileMs: Double?
  var bestM4: Int?
  var scratchM4: Int?
  var bestAct: Int?
  var greedyM4: Int?
  var greedyAct: Int?
  var lowerBound: Int?
  var chosenOrderBound: Int?
  /// The same bound on the graph as imported (before the compile pipeline).
  var importedBound: Int?
  var constantBytes: Int?
  var flash: Flash?
  var instructions: Int?
  var m4VsTFLM: String?
  var inputNote: String?
  var errors: [String: String] = [:]
}

func runTFLM(_ model: String, input: String, stem: String, o: Options) -> TFLM {
  guard model.lowercased().hasSuffix(".tflite") else {
    return TFLM(error: "TFLite Micro runs .tflite models only")
  }
  guard let script = o.tflmScript else { return TFLM(error: "no --tflm-script given") }
  let json = o.work + "/\(stem).tflm.json"
  try? FileManager.default.removeItem(atPath: json)
  let args = [
    o.python, script, "--out", json, "--outputs", o.work, "--runs", "\(o.runs)", "--budget", "\(o.budget)",
    "\(model)=\(input)",
  ]
  guard let r = shell(args, passStderr: true) else { return TFLM(error: "cannot start \(o.python)") }
  guard r.status == 0, let d = FileManager.default.contents(atPath: json),
    let top = try? JSONSerialization.jsonObject(with: d) as? [String: Any]
  else {
    if r.status == 127 { return TFLM(error: "\(o.python) not found (needs Python 3 with pip tflite-micro)") }
    return TFLM(error: "\(script) failed (exit \(r.status))")
  }
  if let e = top["error"] as? String { return TFLM(error: e) }
  guard let models = top["models"] as? [String: Any], let m = models[stem] as? [String: Any] else {
    return TFLM(error: "\(script) wrote no result for \(stem)")
  }
  var t = TFLM()
  t.error = m["error"] as? String
  t.ms = m["ms"] as? Double
  t.runs = m["runs"] as? Int
  t.arena = m["arena"] as? Int
  t.head = m["alloc_head"] as? Int
  t.tail = m["alloc_tail"] as? Int
  t.output = m["output"] as? String
  if t.error == nil, t.arena == nil, let e = m["arena_error"] as? String { t.error = e }
  return t
}

/// "identical", or how many elements differ and by how much.
func agreement(_ a: NDArray, _ b: NDArray) -> String {
  guard let d = try? Execution.difference(a, b, atol: 0) else { return "shape/type differ" }
  if d.identical { return a.elementType == .f32 ? "identical (f32)" : "identical" }
  if a.elementType == .f32 { return String(format: "max abs diff %.2g", d.largest) }
  return "\(d.differing)/\(d.count) differ (max \(Int(d.largest)))"
}

/// Sizes from the M4 ELF: `arm-none-eabi-size -A` sections, and the const objects in Flash from
/// `arm-none-eabi-readelf -s`: `weights` are the symbols of the graph's constants (as
/// `CEmitter.constantSymbols` names them), NAME_mult<k>/NAME_shift<k> the requantization
/// parameters; any other object in Flash, e.g. a runtime kernel's table, counts as "other".
func flashFigures(elf: String, name: String, weights: Set<String>) -> Flash? {
  guard let s = shell(["arm-none-eabi-size", "-A", elf]), s.status == 0 else { return nil }
  var f = Flash()
  for line in s.out.split(separator: "\n") {
    let c = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard c.count >= 3, c[0].hasPrefix("."), let size = Int(c[1]) else { continue }
    switch c[0] {
    case ".isr_vector", ".text", ".rodata", ".ARM.extab", ".ARM.exidx": f.text += size
    case ".data": f.data += size
    case ".bss": f.bss += size
    default: break
    }
  }
  guard let r = shell(["arm-none-eabi-readelf", "-sW", elf]), r.status == 0 else { return f }
  for line in r.out.split(separator: "\n") {
    // Num: Value Size Type Bind Vis Ndx Name
    let c = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    // readelf writes sizes of 100,000 and more in hex ("0x5ac00").
    let sizeText = c.count == 8 ? c[2] : ""
    let parsedSize = sizeText.hasPrefix("0x") ? Int(sizeText.dropFirst(2), radix: 16) : Int(sizeText)
    guard c.count == 8, c[3] == "OBJECT", let address = UInt64(c[1], radix: 16), address < 0x2000_0000,
      let size = parsedSize, size > 0
    else { continue }
    let sym = c[7]
    let rest = sym.hasPrefix(name + "_") ? sym.dropFirst(name.count + 1) : ""
    func numbered(_ p: String) -> Bool {
      rest.hasPrefix(p) && !rest.dropFirst(p.count).isEmpty && rest.dropFirst(p.count).allSatisfy(\.isNumber)
    }
    if weights.contains(String(sym)) {
      f.weights += size
    } else if numbered("mult") || numbered("shift") {
      f.requant += size
    } else {
      f.otherTables += size
    }
  }
  return f
}

func bench(_ path: String, o: Options) -> Row {
  let url = URL(fileURLWithPath: path)
  let stem = url.deletingPathExtension().lastPathComponent
  var row = Row(name: url.lastPathComponent)
  log("== \(row.name)")

  // Import.
  var graph: Graph
  do {
    var g: Graph?
    (row.importMs, _) = try timed(runs: 5, minimum: 3, budget: 1) { g = try Models.load(path: path) }
    guard let g else { throw DriverError("no graph") }
    graph = g
  } catch {
    row.errors["import"] = "\(error)"
    return row
  }

  // The input: golden input 0 beside the model when there is one.
  let golden = url.deletingLastPathComponent().appendingPathComponent("golden/\(stem).input0.npy").path
  var inputs: [NDArray]
  if let a = try? Execution.readInputs([golden], for: graph) {
    inputs = a
  } else {
    inputs = graph.inputs.map { syntheticInput(graph[$0].type) }
    row.inputNote = "no golden input 0 found beside the model: a deterministic synthetic input"
  }
  let inputPath = o.work + "/\(stem).input.npy"
  if let first = inputs.first { try? Npy.write(first, path: inputPath) }

  // TFLite Micro, just before tinyc's own timing.
  if inputs.count == 1 {
    row.tflm = runTFLM(path, input: inputPath, stem: stem, o: o)
  } else {
    row.tflm.error = "the bench feeds TFLite Micro one input; this model has \(inputs.count)"
  }

  // Interpreter.
  do {
    let interp = try Interpreter(graph)
    var out: [NDArray] = try interp.run(inputs)  // warm-up
    (row.interpMs, row.interpRuns) = try timed(runs: o.runs, budget: o.budget) { out = try interp.run(inputs) }
    if let p = row.tflm.output, let y = try? Npy.read(path: p), let first = out.first {
      row.interpVsTFLM = agreement(first, y)
    }
  } catch {
    row.errors["interp"] = "interpreter: \(error)"
  }

  // Memory plans (exact) and compile time. Float models are compiled as they are (float32 C
  // kernels, `--keep-float`), as `tinyc run --backend qemu-m4` does; int8 models are not affected.
  var opts = Compiler.Options()
  opts.target = .cortexM4
  opts.keepFloat = true
  do {
    // The graph the back-end plans: after the compile pipeline, in the model's own op order.
    var g = graph
    let pm = try PassCatalog.pipeline(opts.opt.pipeline(calibration: nil))
    try pm.run(&g)
    let m4 = Target.cortexM4
    let planned = g
    let greedyM4 = try planMemory(planned, strategy: .greedySize, scratch: { _, op in m4.scratchBytes(op, planned) })
    row.greedyM4 = greedyM4.arenaBytes
    row.greedyAct = try planMemory(planned, strategy: .greedySize).arenaBytes
    let best = try planMemory(planned, strategy: .best)
    row.bestAct = best.arenaBytes
    row.lowerBound = best.modelOrderLowerBound
    row.chosenOrderBound = best.lowerBound
    row.importedBound = try planMemory(graph, strategy: .greedySize).modelOrderLowerBound
    row.constantBytes = planned.constantBytes
  } catch {
    row.errors["plan"] = "plan-memory: \(error)"
  }
  var weightSymbols = Set<String>()
  do {
    var result: Compiler.Result?
    let first = try measure { result = try Compiler.compile(graph, options: opts) }
    if first < 1000 {
      (row.compileMs, _) = try timed(runs: 5, minimum: 3, budget: 2) { result = try Compiler.compile(graph, options: opts) }
    } else {
      row.compileMs = first
    }
    if let r = result {
      row.bestM4 = r.plan.arenaBytes
      row.scratchM4 = r.plan.scratchBytes
      let emitter = CEmitter(name: r.name, target: opts.target)
      weightSymbols = Set(emitter.constantSymbols(r.graph).values)
    }
  } catch {
    row.errors["compile"] = "compile: \(error)"
  }

  // Cortex-M4 under QEMU.
  if !o.qemu {
    row.errors["qemu"] = "QEMU columns skipped (--no-qemu)"
  } else if !(which("arm-none-eabi-gcc") && which("qemu-system-arm") && which("arm-none-eabi-size")) {
    row.errors["qemu"] =
      "no Cortex-M toolchain: apt-get install --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
  } else if row.errors["compile"] != nil {
    row.errors["qemu"] = row.errors["compile"]
  } else {
    let dir = o.work + "/\(stem).m4"
    try? FileManager.default.removeItem(atPath: dir)
    do {
      let (outs, m) = try CRunner.run(graph, inputs: inputs, backend: .qemuM4, options: opts, workDirectory: dir)
      row.instructions = m.instructions
      let elves = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/build"))?.filter { $0.hasSuffix(".elf") }
      if let elf = elves?.first {
        row.flash = flashFigures(elf: dir + "/build/" + elf, name: String(elf.dropLast(4)), weights: weightSymbols)
      }
      if let p = row.tflm.output, let y = try? Npy.read(path: p), let first = outs.first {
        row.m4VsTFLM = agreement(first, y)
      }
    } catch {
      row.errors["qemu"] = "QEMU M4: \(error)"
    }
  }
  return row
}

// MARK: - Tables

func cell(_ v: Int?, _ reason: String?, _ notes: inout Notes) -> String {
  if let v { return grouped(v) }
  return notes.mark(reason ?? "not measured")
}

func cell(ms v: Double?, _ reason: String?, _ notes: inout Notes) -> String {
  if let v, v.isFinite { return ms(v) }
  return notes.mark(reason ?? "not measured")
}

func tableRow(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |\n" }

/// A header row and its alignment row: the first column left, the others as `align` says.
func tableHead(_ cells: [String], rightAligned: Set<Int>) -> String {
  tableRow(cells) + tableRow(cells.indices.map { rightAligned.contains($0) ? "--:" : "---" })
}

func tables(_ rows: [Row], notes: inout Notes) -> String {
  var s = ""
  let measured = rows.filter { $0.errors["import"] == nil }
  for r in rows { if let e = r.errors["import"] { _ = notes.mark("\(r.name): not measured: import failed: \(e)") } }
  for r in measured { if let n = r.inputNote { _ = notes.mark("\(r.name): \(n)") } }

  s += "### Time (ms; medians, one run of the bench; runs in parentheses)\n\n"
  s += tableHead(
    [
      "model", "import", "interpreter / inference", "TFLM / inference", "interpreter ÷ TFLM",
      "outputs: interpreter vs TFLM", "compile (C, M4)",
    ], rightAligned: [1, 2, 3, 4, 6])
  for r in measured {
    let interp = cell(ms: r.interpMs, r.errors["interp"], &notes) + (r.interpMs != nil ? " (\(r.interpRuns))" : "")
    let tflm = cell(ms: r.tflm.ms, r.tflm.error, &notes) + (r.tflm.ms != nil ? " (\(r.tflm.runs ?? 0))" : "")
    let ratio: String
    if let a = r.interpMs, let b = r.tflm.ms, b > 0 {
      ratio = String(format: "%.2f×", a / b)
    } else {
      ratio = notes.mark(r.tflm.error ?? r.errors["interp"] ?? "not measured")
    }
    s += tableRow([
      r.name, cell(ms: r.importMs, nil, &notes), interp, tflm, ratio, r.interpVsTFLM ?? "–",
      cell(ms: r.compileMs, r.errors["compile"], &notes),
    ])
  }

  s += "\n### RAM: arena bytes (exact)\n\n"
  s += tableHead(
    [
      "model", "tinyc best, M4 (incl. scratch)", "of which scratch", "tinyc best, activations only",
      "greedy-size, M4 (incl. scratch)", "greedy-size, activations only", "activation lower bound",
      "TFLM smallest arena", "TFLM head (activations + scratch)", "TFLM tail (persistent)",
    ], rightAligned: Set(1...9))
  for r in measured {
    let plan = r.errors["plan"]
    var bound = cell(r.lowerBound, plan, &notes)
    if let a = r.lowerBound, let b = r.chosenOrderBound, b < a { bound += " (\(grouped(b)) reordered)" }
    if let a = r.lowerBound, let b = r.importedBound, b != a { bound += " (\(grouped(b)) as imported)" }
    s += tableRow([
      r.name, cell(r.bestM4, r.errors["compile"], &notes), cell(r.scratchM4, r.errors["compile"], &notes),
      cell(r.bestAct, plan, &notes), cell(r.greedyM4, plan, &notes), cell(r.greedyAct, plan, &notes), bound,
      cell(r.tflm.arena, r.tflm.error, &notes), cell(r.tflm.head, r.tflm.error, &notes),
      cell(r.tflm.tail, r.tflm.error, &notes),
    ])
  }

  s += "\n### Cortex-M4 build (arm-none-eabi-gcc -O2, QEMU mps2-an386; bytes and instruction counts exact)\n\n"
  s += tableHead(
    [
      "model", "Flash: text + rodata", "weights + biases (const arrays)", "requant mult/shift arrays",
      "other const data", "code + runtime", "graph constant bytes", ".data", ".bss (arena + I/O)",
      "M4 instructions / inference", "outputs: M4 vs TFLM",
    ], rightAligned: Set(1...9))
  for r in measured {
    let q = r.errors["qemu"]
    let f = r.flash
    let why = q ?? "arm-none-eabi-size failed"
    var code: Int?
    if let f { code = f.text - f.weights - f.requant - f.otherTables }
    s += tableRow([
      r.name, cell(f?.text, why, &notes), cell(f?.weights, why, &notes), cell(f?.requant, why, &notes),
      cell(f?.otherTables, why, &notes), cell(code, why, &notes), cell(r.constantBytes, r.errors["plan"], &notes),
      cell(f?.data, why, &notes), cell(f?.bss, why, &notes),
      cell(r.instructions, q ?? "no instruction count printed", &notes), r.m4VsTFLM ?? "–",
    ])
  }
  return s
}

// MARK: - Main

guard let options = parseOptions(Array(CommandLine.arguments.dropFirst())) else {
  FileHandle.standardError.write(Data(usage().utf8))
  exit(2)
}
do {
  try FileManager.default.createDirectory(atPath: options.work, withIntermediateDirectories: true)
} catch {
  log("tinyc-bench: cannot create \(options.work): \(error)")
  exit(1)
}
var notes = Notes()
var rows: [Row] = []
for m in options.models {
  rows.append(bench(m, o: options))
}
var text = tables(rows, notes: &notes)
if !notes.list.isEmpty {
  text += "\nNotes:\n\n"
  for (k, n) in notes.list.enumerated() { text += "\(k + 1). \(n)\n" }
}
print(text, terminator: "")
