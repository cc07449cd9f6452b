import Foundation
import TinyC
import TinyIR

/// Paths of the repository and of ../shared/models (absent on some machines).
enum Paths {
  static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
  static let examples = repo + "/Examples"
  static let shared = repo + "/../shared/models"
  static var hasShared: Bool { FileManager.default.fileExists(atPath: shared + "/tflite/kws_ref_model.tflite") }

  static let exampleModels = [
    "ds_cnn_s", "mobilenet_s", "resnet_s", "ops_int8", "float_s", "quant_io_s",
    "keras_cnn_int8", "keras_har_int8", "keras_gap_int8", "keras_ae_int8", "keras_cnn_16x8", "ops_16x8",
    "bias32_16x8",
  ]
  static let mlperfModels = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]

  /// A fresh temporary folder.
  static func temporary(_ tag: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-test-\(tag)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }
}

/// Where a model and its golden inputs and outputs are.
struct GoldenModel: CustomStringConvertible, Sendable {
  var stem: String
  var model: String
  var goldenDir: String
  var inputs: Int

  var description: String { stem }
  func input(_ k: Int) -> String { "\(goldenDir)/\(stem).input\(k).npy" }
  func output(_ k: Int) -> String { "\(goldenDir)/\(stem).output\(k).npy" }

  static var examples: [GoldenModel] {
    Paths.exampleModels.map {
      GoldenModel(stem: $0, model: "\(Paths.examples)/\($0).tflite", goldenDir: Paths.examples + "/golden", inputs: 3)
    }
  }
  static var mlperf: [GoldenModel] {
    Paths.mlperfModels.map {
      GoldenModel(
        stem: $0, model: "\(Paths.shared)/tflite/\($0).tflite", goldenDir: Paths.shared + "/tflite/golden", inputs: 5)
    }
  }
}

/// Compares outputs with goldens exactly (integers) or within `atol` (floats); returns a
/// description of the first difference.
func firstDifference(_ outputs: [NDArray], _ goldens: [NDArray], atol: Double = 0) throws -> String? {
  for (k, (a, b)) in zip(outputs, goldens).enumerated() {
    let d = try Execution.difference(a, b, atol: atol)
    if !d.identical { return "output \(k): \(d.differing) of \(d.count) differ, largest \(d.largest)" }
  }
  return nil
}
