import CMSISBackend
import Foundation
import Testing
import TinyC
import TinyIR
import TinyPasses

/// `FlashModel` (report.json's `constant_bytes`) against what the emitted C actually declares:
/// the sum of its `static const` arrays, element count times element size, read from the C
/// text, for every example model on a DSP and an MVE target.
@Suite struct FlashModelTests {
  static let models = [
    "ds_cnn_s.tflite", "mobilenet_s.tflite", "resnet_s.tflite", "keras_cnn_int8.tflite", "keras_gap_int8.tflite",
    "keras_har_int8.tflite", "keras_ae_int8.tflite", "ops_int8.tflite", "keras_cnn_16x8.tflite", "ops_16x8.tflite",
    "bias32_16x8.tflite", "quant_io_s.tflite", "onnx/cnn_qdq.onnx", "onnx/cnn1d_qdq.onnx",
  ]

  /// Bytes of the `static const T name[N]` arrays in a C source.
  static func declaredConstantBytes(_ c: String) -> Int {
    let sizes = ["float": 4, "int32_t": 4, "int64_t": 8, "int16_t": 2, "uint16_t": 2, "int8_t": 1, "uint8_t": 1]
    var total = 0
    for line in c.split(separator: "\n") where line.hasPrefix("static const ") {
      let words = line.split(separator: " ")
      guard words.count >= 4, let size = sizes[String(words[2])], let open = words[3].firstIndex(of: "["),
        let close = words[3].firstIndex(of: "]"), let n = Int(words[3][words[3].index(after: open)..<close])
      else { continue }
      total += n * size
    }
    return total
  }

  @Test(arguments: models) func flashModelEqualsTheArraysTheCDeclares(_ model: String) throws {
    let loaded = try Models.loadModel(path: Repo.examples + "/" + model)
    for target in [Target.cortexM4, .cortexM55] {
      var o = Compiler.Options()
      o.target = target
      let r = try Compiler.compile(loaded.graph, options: o)
      let declared = Self.declaredConstantBytes(r.source)
      #expect(r.flash.total == declared, "\(model) on \(target.rawValue)")
      let report = try #require(try JSONSerialization.jsonObject(with: Data(r.reportJSON.utf8)) as? [String: Any])
      #expect(report["constant_bytes"] as? Int == declared)
    }
  }
}
