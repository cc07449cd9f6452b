import CMSISBackend
import Foundation
import Testing
import TinyC
import TinyIR
import TinyPasses

/// `FlashModel` (report.json's `constant_bytes`) against what the emitted C actually declares
/// (`CEmitter.constantBytes(ofSource:)`: its `static const` arrays read from the C text), for
/// every example model on a DSP and an MVE target, at int8 and under mixed precision.
@Suite struct FlashModelTests {
  static let models = [
    "ds_cnn_s.tflite", "mobilenet_s.tflite", "resnet_s.tflite", "keras_cnn_int8.tflite", "keras_gap_int8.tflite",
    "keras_har_int8.tflite", "keras_ae_int8.tflite", "ops_int8.tflite", "keras_cnn_16x8.tflite", "ops_16x8.tflite",
    "bias32_16x8.tflite", "quant_io_s.tflite", "onnx/cnn_qdq.onnx", "onnx/cnn1d_qdq.onnx",
  ]

  @Test(arguments: models) func flashModelEqualsTheArraysTheCDeclares(_ model: String) throws {
    let loaded = try Models.loadModel(path: Repo.examples + "/" + model)
    for target in [Target.cortexM4, .cortexM55] {
      var o = Compiler.Options()
      o.target = target
      let r = try Compiler.compile(loaded.graph, options: o)
      let declared = CEmitter.constantBytes(ofSource: r.source)
      #expect(r.flash.total == declared, "\(model) on \(target.rawValue)")
      let report = try #require(try JSONSerialization.jsonObject(with: Data(r.reportJSON.utf8)) as? [String: Any])
      #expect(report["constant_bytes"] as? Int == declared)
    }
  }

  /// Under mixed precision (tinyc's sub-byte kernels and CMSIS-NN's s4 calls): every weight at
  /// 4 bits, then every tensor the pass may cut at 4 and at 2 bits.
  @Test(arguments: ["ds_cnn_s.tflite", "resnet_s.tflite", "keras_cnn_int8.tflite", "onnx/cnn_qdq.onnx"])
  func flashModelEqualsTheCUnderMixedPrecision(_ model: String) throws {
    let loaded = try Models.loadModel(path: Repo.examples + "/" + model)
    let rows = PrecisionTable(try Compiler.optimize(loaded.graph, options: Compiler.Options())).rows
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let assignments: [(String, (PrecisionTable.Row) -> Int)] = [
      ("w4", { $0.kind == .weight ? 4 : 8 }), ("all4", { _ in 4 }), ("all2", { _ in 2 }),
    ]
    for (name, bits) in assignments {
      let path = dir + "/\(name).json"
      let entries = rows.map { "\"\($0.name)\": \(bits($0))" }.joined(separator: ", ")
      try Data("{\"tensors\": {\(entries)}}".utf8).write(to: URL(fileURLWithPath: path))
      for target in [Target.cortexM4, .cortexM55] {
        var o = Compiler.Options()
        o.target = target
        o.bits = path
        let r = try Compiler.compile(loaded.graph, options: o)
        #expect(r.precision.rows.contains { $0.bits < 8 })
        #expect(r.flash.total == CEmitter.constantBytes(ofSource: r.source), "\(model) \(name) on \(target.rawValue)")
      }
    }
  }
}
