import Foundation
import Interpreter
import ONNXFrontend
import TinyIR

/// Running a graph with the reference interpreter: inputs from .npy, per-op dumps, and
/// comparison against golden outputs (final or every layer).
public enum Execution {
  /// Reads inputs in the source model's layout and converts them into the graph's.
  public static func readInputs(_ paths: [String], for m: LoadedModel) throws -> [NDArray] {
    guard m.onnx != nil else { return try readInputs(paths, for: m.graph) }
    guard paths.count == m.graph.inputs.count else {
      throw DriverError("the model has \(m.graph.inputs.count) input(s), got \(paths.count) --input file(s)")
    }
    var arrays: [NDArray] = []
    for (path, io) in zip(paths, m.onnx?.inputs ?? []) {
      let given = try Npy.read(path: path)
      try checkShape(given.shape, io.onnxShape, layout: layoutName(io), path: path, input: io.onnxName)
      do {
        arrays.append(try io.prepare(given))
      } catch let e as DriverError {
        throw e
      } catch {
        throw DriverError("\(path): input '\(io.onnxName)': \(error)")
      }
    }
    return try readArrays(arrays, paths, for: m.graph)
  }

  /// Reads inputs and checks them against the graph's input types.
  public static func readInputs(_ paths: [String], for g: Graph) throws -> [NDArray] {
    guard paths.count == g.inputs.count else {
      throw DriverError("the model has \(g.inputs.count) input(s), got \(paths.count) --input file(s)")
    }
    return try readArrays(try paths.map { try Npy.read(path: $0) }, paths, for: g)
  }

  static func readArrays(_ given: [NDArray], _ paths: [String], for g: Graph) throws -> [NDArray] {
    var arrays: [NDArray] = []
    for ((a, path), id) in zip(zip(given, paths), g.inputs) {
      let t = g[id].type
      guard a.elementType == t.elementType else {
        throw DriverError("\(path): input %\(g[id].name) needs \(t.elementType.rawValue), the file holds \(a.elementType.rawValue)")
      }
      try checkShape(a.shape, t.shape, layout: t.rank == 4 ? "NHWC, channels last" : nil, path: path, input: g[id].name)
      arrays.append(NDArray(shape: t.shape, elementType: t.elementType, bytes: a.bytes))
    }
    return arrays
  }

  /// The layout an ONNX input's user data is in (the model's own).
  static func layoutName(_ io: ONNXIO) -> String? {
    switch io.layout {
    case .nchwAsNHWC: return "NCHW, the ONNX model's layout"
    case .nclAsNLC: return "NCL, the ONNX model's layout"
    default: return nil
    }
  }

  /// Refuses data whose shape is not the model's, even when the element count agrees (an NCHW
  /// array given to an NHWC model would otherwise run, with the wrong numbers), naming the
  /// layout expected.
  static func checkShape(_ given: [Int], _ expected: [Int], layout: String?, path: String, input: String) throws {
    guard given != expected else { return }
    var m = "\(path): input '\(input)' takes shape \(expected)"
    if let layout { m += " (\(layout))" }
    m += ", the file holds \(given)"
    if given.count == 4, expected.count == 4, given.sorted() == expected.sorted(), given[0] == expected[0] {
      if given == [expected[0], expected[3], expected[1], expected[2]] {
        m += ": that is NCHW; transpose it to NHWC (numpy: x.transpose(0, 2, 3, 1))"
      } else if given == [expected[0], expected[2], expected[3], expected[1]] {
        m += ": that is NHWC; transpose it to NCHW (numpy: x.transpose(0, 3, 1, 2))"
      }
    }
    throw DriverError(m)
  }

  /// Where an op's result goes in a dump or comes from in a golden folder.
  struct LayerFile {
    var name: String
    /// A source-model layer (`op<i>` / `node<N>`) rather than a value of tinyc's own.
    var isLayer: Bool
    /// For an ONNX node output: its layout in the ONNX model.
    var io: ONNXIO?

    func restore(_ a: NDArray) -> NDArray { io?.restore(a) ?? a }
  }

  /// The dump file name of an op's result: `op<i>.npy` (`op<i>_<j>.npy` for result j > 0) for the
  /// last op carrying TFLite location i; for an ONNX model (`onnx`), `node<N>.npy`
  /// (`node<N>_<j>.npy`) for the value holding node N's output j, in the ONNX model's layout
  /// (NCHW), as scripts/make_onnx_examples.py writes ONNX Runtime's; the value's IR name
  /// otherwise.
  static func layerFiles(_ g: Graph, onnx: ONNXImportInfo? = nil) -> [ValueID: LayerFile] {
    var lastWithIndex: [Int: Int] = [:]
    for (k, op) in g.ops.enumerated() where op.location.source == "tflite" {
      if let i = op.location.index { lastWithIndex[i] = k }
    }
    var files: [ValueID: LayerFile] = [:]
    for (k, op) in g.ops.enumerated() {
      for (j, v) in op.outputs.enumerated() {
        if op.location.source == "tflite", let i = op.location.index, lastWithIndex[i] == k {
          files[v] = LayerFile(name: j == 0 ? "op\(i).npy" : "op\(i)_\(j).npy", isLayer: true)
        } else {
          files[v] = LayerFile(name: "\(g[v].name).npy", isLayer: false)
        }
      }
    }
    if let onnx {
      var byName: [String: ValueID] = [:]
      for (i, value) in g.values.enumerated() { byName[value.name] = ValueID(i) }
      for n in onnx.nodeOutputs {
        guard let v = byName[n.io.valueName], files[v] != nil else { continue }
        files[v] = LayerFile(name: n.output == 0 ? "node\(n.node).npy" : "node\(n.node)_\(n.output).npy", isLayer: true, io: n.io)
      }
    }
    return files
  }

  /// Runs the graph; with `dumpDirectory`, writes every op's result and a manifest.json.
  /// `onnx` (the model's import info) names ONNX node outputs `node<N>.npy`, in NCHW.
  public static func run(_ g: Graph, inputs: [NDArray], dumpDirectory: String? = nil, onnx: ONNXImportInfo? = nil) throws
    -> [NDArray]
  {
    let interp = try Interpreter(g)
    guard let dir = dumpDirectory else { return try interp.run(inputs) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let files = layerFiles(g, onnx: onnx)
    var entries: [JSON] = []
    var failure: Error?
    let outputs = try interp.run(inputs) { index, op, results in
      var outs: [JSON] = []
      for (v, a) in zip(op.outputs, results) {
        let f = files[v] ?? LayerFile(name: "\(g[v].name).npy", isLayer: false)
        do { try Npy.write(f.restore(a), path: dir + "/" + f.name) } catch { failure = error }
        outs.append(tensorJSON(g, v, file: f.name))
      }
      entries.append(
        .object([
          ("index", .int(index)), ("kind", .string(op.kind.mnemonic)),
          ("location", .string(op.location.description)), ("outputs", .array(outs)),
        ]))
    }
    if let failure { throw failure }
    let manifest = JSON.object([("model", .string(g.name)), ("operators", .array(entries))])
    try Data((manifest.render() + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
    return outputs
  }

  static func tensorJSON(_ g: Graph, _ v: ValueID, file: String) -> JSON {
    let t = g[v].type
    var o: [(String, JSON)] = [
      ("file", .string(file)), ("name", .string(g[v].name)), ("shape", .array(t.shape.map { .int($0) })),
      ("type", .string(t.elementType.rawValue)),
    ]
    if let q = t.quantization {
      o.append(("scale", .array(q.scales.map { .double(Double($0)) })))
      o.append(("zero_point", .array(q.zeroPoints.map { .int($0) })))
    }
    return .object(o)
  }

  /// How one tensor compares with its golden.
  public struct Difference: Sendable {
    public var count: Int
    public var differing: Int
    public var largest: Double
    public var identical: Bool { differing == 0 }
  }

  /// Compares element by element: integers exactly, floats within `atol`.
  public static func difference(_ a: NDArray, _ golden: NDArray, atol: Double) throws -> Difference {
    guard a.count == golden.count else {
      throw DriverError("shape \(a.shape) differs from the golden's \(golden.shape)")
    }
    var differing = 0
    var largest = 0.0
    if a.elementType == .f32 || golden.elementType == .f32 {
      guard a.elementType == golden.elementType else {
        throw DriverError("type \(a.elementType.rawValue) differs from the golden's \(golden.elementType.rawValue)")
      }
      for (x, y) in zip(a.floats, golden.floats) {
        let d = Double(abs(x - y))
        if !(d <= atol) { differing += 1 }
        largest = max(largest, d.isNaN ? .infinity : d)
      }
    } else {
      for (x, y) in zip(a.integers, golden.integers) where x != y {
        differing += 1
        largest = max(largest, Double(abs(x - y)))
      }
    }
    return Difference(count: a.count, differing: differing, largest: largest)
  }

  /// The result of comparing every layer with a folder of goldens.
  public struct LayerReport: Sendable {
    public var compared = 0
    public var missing: [String] = []
    public var firstMismatch: String?
    public var mismatches = 0
  }

  /// Runs and compares each layer's result (`op<i>.npy`, or `node<N>.npy` with `onnx`, see
  /// `layerFiles`) with the file of that name in `dir` where it exists. A uint8 golden is
  /// compared with tinyc's int8 form of it (value − 128).
  public static func compareLayers(
    _ g: Graph, inputs: [NDArray], goldenDirectory dir: String, atol: Double, onnx: ONNXImportInfo? = nil
  ) throws -> (outputs: [NDArray], report: LayerReport) {
    let interp = try Interpreter(g)
    let files = layerFiles(g, onnx: onnx)
    var report = LayerReport()
    var failure: Error?
    let outputs = try interp.run(inputs) { index, op, results in
      for (v, result) in zip(op.outputs, results) {
        guard let f = files[v], f.isLayer else { continue }
        let file = f.name
        let path = dir + "/" + file
        guard FileManager.default.fileExists(atPath: path) else {
          report.missing.append(file)
          continue
        }
        do {
          var golden = try Npy.read(path: path)
          if golden.elementType == .u8 && result.elementType == .i8 {
            golden = NDArray(shape: golden.shape, elementType: .i8, bytes: golden.bytes.map { $0 ^ 0x80 })
          }
          let d = try difference(f.restore(result), golden, atol: atol)
          report.compared += 1
          if !d.identical {
            report.mismatches += 1
            if report.firstMismatch == nil {
              report.firstMismatch =
                "op \(index) (\(op.kind.mnemonic), \(op.location)) differs from \(file): "
                + "\(d.differing) of \(d.count) elements differ, largest difference \(format(d.largest))"
            }
          }
        } catch {
          failure = failure ?? DriverError("\(path): \(error)")
        }
      }
    }
    if let failure { throw failure }
    return (outputs, report)
  }

  public static func format(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
  }
}
