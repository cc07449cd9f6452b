import Foundation
import Interpreter
import TFLiteFrontend
import Testing
import TinyIR

/// Every operator's output, not only the last, against TFLite Micro's reference kernels:
/// the four MLPerf Tiny models × 5 golden inputs (350 per-layer tensors, bit-exact) from
/// `<repo>/../shared/models`, skipped when that folder is absent.
@Suite struct MLPerfLayerTests {
  static let models = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]

  @Test(arguments: models)
  func everyLayerIsBitExact(stem: String) throws {
    guard let shared = ModelPaths.sharedModels else {
      print("skipped: \(ModelPaths.repositoryRoot)/../shared/models is absent")
      return
    }
    let graph = try importTFLite(path: "\(shared)/tflite/\(stem).tflite")
    let interpreter = try Interpreter(graph)
    let golden = "\(shared)/tflite/golden"
    var comparison = LayerComparison()
    var goldenTensors = 0
    for k in 0..<5 {
      goldenTensors += goldenLayerCount("\(golden)/layers/\(stem).input\(k)")
      try comparison.compare(
        graph: graph, interpreter: interpreter, input: try Npy.read(path: "\(golden)/\(stem).input\(k).npy"),
        layersDirectory: "\(golden)/layers/\(stem).input\(k)",
        expectedOutput: try Npy.read(path: "\(golden)/\(stem).output\(k).npy"), tolerance: nil)
    }
    // kws 13, vww 31, resnet 16, ad01 10 operators, × 5 inputs: 350 tensors in all.
    let expected = ["kws_ref_model": 65, "vww_96_int8": 155, "pretrainedResnet_quant": 80, "ad01_int8": 50]
    #expect(goldenTensors == expected[stem])
    #expect(comparison.compared == goldenTensors, "every golden operator output must be compared")
    #expect(comparison.mismatches.isEmpty, "first mismatch: \(comparison.mismatches.first ?? "")")
  }
}

/// The same for the example models in Examples/ (goldens from TFLite Micro, 3 inputs each).
/// Integer tensors must be bit-exact; float tensors (float_s, quant_io_s's float output)
/// may differ by 1e-5 relative (TFLM's float kernels and ours sum in the same order, so in
/// practice they are equal too).
@Suite struct ExampleLayerTests {
  static var stems: [String] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: ModelPaths.examples)) ?? []
    // keras_cnn_16x8 has INT64 biases: it runs once the IR has a 64-bit element type.
    return files.filter { $0.hasSuffix(".tflite") }.map { String($0.dropLast(7)) }.sorted()
      .filter { ElementType(rawValue: "i64") != nil || $0 != "keras_cnn_16x8" }
  }

  @Test(arguments: stems)
  func everyLayerMatches(stem: String) throws {
    let golden = "\(ModelPaths.examples)/golden"
    guard FileManager.default.fileExists(atPath: "\(golden)/layers/\(stem).json") else {
      print("skipped: no goldens for \(stem)")
      return
    }
    let path = "\(ModelPaths.examples)/\(stem).tflite"
    let (graph, folded) = try importTFLiteFolding([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), fileName: path)
    let interpreter = try Interpreter(graph)
    var comparison = LayerComparison()
    var k = 0
    var goldenTensors = 0
    while FileManager.default.fileExists(atPath: "\(golden)/\(stem).input\(k).npy") {
      goldenTensors += goldenLayerCount("\(golden)/layers/\(stem).input\(k)")
      // Operators evaluated at import (the shape chains of a dynamic batch) against TFLM's run-time values.
      for (index, value) in folded.sorted(by: { $0.key < $1.key }) {
        var largest: Float = 0
        let g = try Npy.read(path: "\(golden)/layers/\(stem).input\(k)/op\(index).npy")
        if let d = LayerComparison.difference(value, g, tolerance: nil, largest: &largest) {
          comparison.mismatches.append("op \(index) (folded at import): \(d)")
        }
        comparison.compared += 1
      }
      try comparison.compare(
        graph: graph, interpreter: interpreter, input: try Npy.read(path: "\(golden)/\(stem).input\(k).npy"),
        layersDirectory: "\(golden)/layers/\(stem).input\(k)",
        expectedOutput: try Npy.read(path: "\(golden)/\(stem).output\(k).npy"), tolerance: 1e-5)
      k += 1
    }
    #expect(k > 0)
    #expect(comparison.compared > 0)
    #expect(comparison.compared == goldenTensors, "every golden operator output must be compared")
    #expect(comparison.mismatches.isEmpty, "first mismatch: \(comparison.mismatches.first ?? "")")
  }
}
