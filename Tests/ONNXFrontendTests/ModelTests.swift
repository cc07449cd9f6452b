import Foundation
import Interpreter
import ONNXFrontend
import Testing
import TinyC
import TinyIR

/// Runs a model on its golden inputs and compares with ONNX Runtime's outputs.
func goldenDiffs(model: URL, goldenDir: URL, stem: String, inputs: Int) throws -> [Diff] {
  let runner = try ONNXRunner(path: model.path)
  var diffs: [Diff] = []
  for k in 0..<inputs {
    let x = try Npy.read(path: goldenDir.appendingPathComponent("\(stem).input\(k).npy").path)
    let want = try Npy.read(path: goldenDir.appendingPathComponent("\(stem).output\(k).npy").path)
    let got = try runner.run([x])
    #expect(got.count == 1)
    guard let out = got.first else { continue }
    #expect(out.shape == want.shape)
    diffs.append(compare(out, want, tolerance: 0))
  }
  return diffs
}

@Suite struct ExampleModelTests {
  @Test func floatCNNMatchesONNXRuntime() throws {
    let path = Paths.examples.appendingPathComponent("cnn_float.onnx")
    let (g, info) = try importONNXWithInfo(path: path.path)
    try Verifier.verify(g)
    #expect(info.inputs.first?.layout == .nchwAsNHWC)
    #expect(g.type(of: g.inputs[0]).shape == [1, 16, 16, 3])
    // A plain CNN keeps no transposes: GlobalAveragePool → Flatten needs none.
    #expect(!g.ops.contains { if case .transpose = $0.kind { return true } else { return false } })
    let runner = try ONNXRunner(path: path.path)
    for k in 0..<3 {
      let x = try Npy.read(path: Paths.examples.appendingPathComponent("golden/cnn_float.input\(k).npy").path)
      let want = try Npy.read(path: Paths.examples.appendingPathComponent("golden/cnn_float.output\(k).npy").path)
      let got = try runner.run([x])
      let d = compare(got[0], want, tolerance: 1e-5)
      #expect(d.differing == 0, "cnn_float input \(k): \(d)")
    }
  }

  /// int8 (cnn_qdq) and uint8 (cnn_qdq_u8, ONNX Runtime's default) activations.
  @Test(arguments: ["cnn_qdq", "cnn_qdq_u8"]) func qdqCNNImportsAndRunsFakeQuant(stem: String) throws {
    let path = Paths.examples.appendingPathComponent("\(stem).onnx")
    let g = try importONNX(path: path.path)
    try Verifier.verify(g)
    #expect(g.ops.contains { $0.kind == .quantize })
    #expect(g.ops.contains { $0.kind == .dequantize })
    // Weights are int8 constants (per-axis), dequantized: NHWC-permuted once.
    let qWeights = g.constants.keys.filter { g.type(of: $0).elementType == .i8 && g.type(of: $0).quantization?.isPerAxis == true }
    #expect(!qWeights.isEmpty)
    let runner = try ONNXRunner(path: path.path)
    for k in 0..<3 {
      let x = try Npy.read(path: Paths.examples.appendingPathComponent("golden/\(stem).input\(k).npy").path)
      let want = try Npy.read(path: Paths.examples.appendingPathComponent("golden/\(stem).output\(k).npy").path)
      let got = try runner.run([x])
      let d = compare(got[0], want, tolerance: 1e-4)
      print("\(stem) input \(k) (fake-quant through the interpreter vs ONNX Runtime): \(d)")
      #expect(d.maxAbs < 0.02, "\(stem) input \(k): \(d)")
    }
  }

  @Test func qopCNNImportsToIntegerOps() throws {
    let path = Paths.examples.appendingPathComponent("cnn_qop.onnx")
    let g = try importONNX(path: path.path)
    try Verifier.verify(g)
    let intConvs = g.ops.filter {
      switch $0.kind {
      case .conv2d, .depthwiseConv2d: return g.type(of: $0.outputs[0]).elementType == .i8
      default: return false
      }
    }
    #expect(intConvs.count == 3)
    let runner = try ONNXRunner(path: path.path)
    for k in 0..<3 {
      let x = try Npy.read(path: Paths.examples.appendingPathComponent("golden/cnn_qop.input\(k).npy").path)
      let want = try Npy.read(path: Paths.examples.appendingPathComponent("golden/cnn_qop.output\(k).npy").path)
      let got = try runner.run([x])
      let d = compare(got[0], want, tolerance: 1e-4)
      print("cnn_qop input \(k) (integer convs through the interpreter vs ONNX Runtime): \(d)")
      #expect(d.maxAbs < 0.02, "cnn_qop input \(k): \(d)")
    }
  }
}

@Suite struct TextFormTests {
  /// Imported graphs print and parse back to the same text (value names are sanitized).
  @Test func importedGraphsRoundTrip() throws {
    var paths = ["cnn_float", "cnn_qdq", "cnn_qdq_u8", "cnn_qop"].map { Paths.examples.appendingPathComponent("\($0).onnx") }
    if Paths.sharedPresent {
      paths += ["burn_mnist", "burn_mnist.qdq", "kws_ref_model", "pretrainedResnet_quant"].map {
        Paths.shared.appendingPathComponent("\($0).onnx")
      }
    }
    for p in paths {
      let g = try importONNX(path: p.path)
      let text = Printer().print(g)
      let again = try Parser.parse(text)
      #expect(Printer().print(again) == text, "\(p.lastPathComponent)")
    }
  }
}

@Suite(.enabled(if: Paths.sharedPresent, "needs ../shared/models/onnx"))
struct SharedModelTests {
  let golden = Paths.shared.appendingPathComponent("golden")

  @Test func burnMNISTFloatWithin1e4() throws {
    let diffs = try goldenDiffs(
      model: Paths.shared.appendingPathComponent("burn_mnist.onnx"), goldenDir: golden, stem: "burn_mnist", inputs: 5)
    for (k, d) in diffs.enumerated() {
      print("burn_mnist input \(k): \(d)")
      #expect(d.maxAbs <= 1e-4, "burn_mnist input \(k): \(d)")
    }
  }

  @Test(arguments: ["burn_mnist.qdq", "kws_ref_model", "pretrainedResnet_quant"])
  func qdqModelImportsAndRunsFakeQuant(stem: String) throws {
    let path = Paths.shared.appendingPathComponent("\(stem).onnx")
    let (g, info) = try importONNXWithInfo(path: path.path)
    try Verifier.verify(g)
    if stem != "burn_mnist.qdq" {
      // tf2onnx models take NHWC int8 input: unchanged, and no layout transposes remain
      // except where the model's own data order needs one.
      #expect(info.inputs[0].layout == .unchanged)
      #expect(g.type(of: g.inputs[0]).elementType == .i8)
      #expect(g.type(of: g.inputs[0]).quantization != nil)
    }
    let diffs = try goldenDiffs(model: path, goldenDir: golden, stem: stem, inputs: 5)
    for (k, d) in diffs.enumerated() {
      print("\(stem) input \(k), fake-quant as imported vs ONNX Runtime: \(d)")
      // Fake-quant computes in float between Q/DQ, as ONNX Runtime does: a few LSB at most.
      #expect(d.maxAbs <= (stem == "burn_mnist.qdq" ? 0.2 : 2), "\(stem) input \(k): \(d)")
    }
  }
}
