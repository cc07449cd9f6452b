import Foundation
import Interpreter
import TinyIR

/// Runs a graph on golden inputs and compares every op that carries a TFLite location with
/// the reference runtime's tensor for that operator (`<dir>/op<i>.npy`, `op<i>_<j>.npy` for
/// result j > 0), and the final outputs with the golden outputs.
struct LayerComparison {
  /// Number of per-layer tensors compared.
  var compared = 0
  /// One line per mismatching tensor, in execution order (the first names the first op that
  /// differs).
  var mismatches: [String] = []
  /// Largest relative difference seen on float tensors.
  var largestRelativeDifference: Float = 0

  /// `tolerance` nil means bit-exact; otherwise float tensors may differ by
  /// `tolerance · max(1, |expected|)`.
  mutating func compare(
    graph: Graph, interpreter: Interpreter, input: NDArray, layersDirectory: String,
    expectedOutput: NDArray?, tolerance: Float?
  ) throws {
    var problems: [String] = []
    var count = 0
    var largest: Float = 0
    let outputs = try interpreter.run([input]) { i, op, results in
      guard op.location.source == "tflite", let index = op.location.index else { return }
      for (j, result) in results.enumerated() {
        let file = "\(layersDirectory)/op\(index)\(j == 0 ? "" : "_\(j)").npy"
        guard FileManager.default.fileExists(atPath: file) else { continue }
        count += 1
        do {
          let golden = try Npy.read(path: file)
          if let d = Self.difference(result, golden, tolerance: tolerance, largest: &largest) {
            problems.append("op \(i) (\(op.kind.mnemonic), \(op.location)) result \(j): \(d)")
          }
        } catch {
          problems.append("op \(i): \(error)")
        }
      }
    }
    compared += count
    mismatches += problems
    largestRelativeDifference = max(largestRelativeDifference, largest)
    if let expectedOutput, let out = outputs.first,
      let d = Self.difference(out, expectedOutput, tolerance: tolerance, largest: &largest)
    {
      mismatches.append("final output: \(d)")
    }
  }

  /// nil when equal (within tolerance for floats), else a description: how many elements
  /// differ and the largest difference.
  static func difference(_ a: NDArray, _ b: NDArray, tolerance: Float?, largest: inout Float) -> String? {
    guard a.count == b.count else { return "shape \(a.shape), expected \(b.shape)" }
    guard a.elementType == b.elementType else {
      return "type \(a.elementType.rawValue), expected \(b.elementType.rawValue)"
    }
    if a.elementType == .f32 {
      let x = a.floats
      let y = b.floats
      var n = 0
      var worst: Float = 0
      for (u, v) in zip(x, y) {
        let diff = abs(u - v)
        let rel = diff / max(1, abs(v))
        largest = max(largest, rel)
        let allowed = (tolerance ?? 0) * max(1, abs(v))
        if !(diff <= allowed) {
          n += 1
          worst = max(worst, diff)
        }
      }
      return n == 0 ? nil : "\(n) of \(x.count) elements differ, largest difference \(worst)"
    }
    if a.bytes == b.bytes { return nil }
    let x = a.integers
    let y = b.integers
    var n = 0
    var worst = 0
    for (u, v) in zip(x, y) where u != v {
      n += 1
      worst = max(worst, abs(u - v))
    }
    return "\(n) of \(x.count) elements differ, largest difference \(worst)"
  }
}

/// Number of golden per-layer tensors (`op*.npy`) in a folder.
func goldenLayerCount(_ directory: String) -> Int {
  let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
  return files.filter { $0.hasPrefix("op") && $0.hasSuffix(".npy") }.count
}

/// Paths of the shared reference models, or nil when they are absent.
enum ModelPaths {
  static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
  /// `<repo>/../shared/models`, or `$TINYC_SHARED_MODELS` when set.
  static var sharedModels: String? {
    let p = ProcessInfo.processInfo.environment["TINYC_SHARED_MODELS"] ?? repositoryRoot + "/../shared/models"
    return FileManager.default.fileExists(atPath: p + "/tflite") ? p : nil
  }
  static var examples: String { repositoryRoot + "/Examples" }
}
