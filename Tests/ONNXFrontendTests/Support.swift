import Foundation
import Interpreter
import ONNXFrontend
import TinyC
import TinyIR

/// Paths and helpers shared by the ONNX front-end tests.
enum Paths {
  static let repo: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  static let examples = repo.appendingPathComponent("Examples/onnx")
  static let shared = repo.deletingLastPathComponent().appendingPathComponent("shared/models/onnx")
  static var sharedPresent: Bool { FileManager.default.fileExists(atPath: shared.appendingPathComponent("burn_mnist.onnx").path) }
}

/// Result of comparing an output with a golden.
struct Diff: CustomStringConvertible {
  var count = 0
  var differing = 0
  var maxAbs = 0.0
  var description: String { "\(differing)/\(count) differ, max |diff| \(maxAbs)" }
}

func values(_ a: NDArray) -> [Double] {
  a.elementType == .f32 ? a.floats.map(Double.init) : a.integers.map(Double.init)
}

func compare(_ got: NDArray, _ want: NDArray, tolerance: Double) -> Diff {
  var d = Diff()
  let g = values(got)
  let w = values(want)
  d.count = w.count
  guard g.count == w.count else {
    d.differing = max(g.count, w.count)
    d.maxAbs = .infinity
    return d
  }
  for (x, y) in zip(g, w) {
    let e = x.isNaN || y.isNaN ? (x.isNaN && y.isNaN ? 0 : Double.infinity) : abs(x - y)
    if e > tolerance { d.differing += 1 }
    if !(e <= d.maxAbs) { d.maxAbs = e }
  }
  return d
}

/// Imports an ONNX model and runs it on golden inputs (ONNX layout), returning outputs in
/// ONNX layout.
struct ONNXRunner {
  let graph: Graph
  let info: ONNXImportInfo
  let interpreter: Interpreter

  init(path: String, options: ONNXImportOptions = ONNXImportOptions()) throws {
    (graph, info) = try importONNXWithInfo(path: path, options: options)
    interpreter = try Interpreter(graph)
  }

  func run(_ inputs: [NDArray]) throws -> [NDArray] {
    let prepared = try zip(info.inputs, inputs).map { try $0.prepare($1) }
    let outs = try interpreter.run(prepared)
    return zip(info.outputs, outs).map { $0.restore($1) }
  }
}
