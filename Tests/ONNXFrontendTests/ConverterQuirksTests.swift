import Foundation
import Testing
import TinyC
import TinyIR

@testable import ONNXFrontend

/// What exporters other than PyTorch's write: Paddle's -1 batch, and models with several
/// operators tinyc lacks (all of them named in one error, as the TFLite importer does).
@Suite struct ConverterQuirksTests {
  @Test func negativeBatchIsSymbolic() throws {
    let m = Build.model(
      nodes: [Build.node("Relu", ["x"], ["y"], name: "r")], inputs: [Build.valueInfo("x", [-1, 4])],
      outputs: [Build.valueInfo("y", [-1, 4])])
    let bytes = try Build.bytes(m)
    // Batch 1 by default, as for a dim_param batch; --input-shape replaces it.
    let g = try importONNX(bytes: bytes, fileName: "paddle.onnx")
    #expect(g.type(of: g.inputs[0]).shape == [1, 4])
    let g3 = try importONNX(bytes: bytes, fileName: "paddle.onnx", inputShapes: ["x": [3, 4]])
    #expect(g3.type(of: g3.inputs[0]).shape == [3, 4])
    // The fixed dimension must still match.
    #expect(throws: ONNXError.self) { try importONNX(bytes: bytes, fileName: "paddle.onnx", inputShapes: ["x": [3, 5]]) }
  }

  @Test func everyUnsupportedOperatorIsListed() throws {
    var topk = Build.node("TopK", ["y"], ["z"], name: "top")
    topk.domain = ""
    var custom = Build.node("Relu", ["z"], ["w"], name: "ms")
    custom.domain = "com.microsoft"
    let m = Build.model(
      nodes: [Build.node("Relu", ["x"], ["y"], name: "r"), topk, custom, Build.node("Tile", ["w"], ["v"], name: "tile")],
      inputs: [Build.valueInfo("x", [1, 4])], outputs: [Build.valueInfo("v", [1, 4])])
    expectImportError(
      try Build.bytes(m),
      contains: "unsupported operators: node 'top' (TopK), node 'ms' (domain 'com.microsoft' Relu), node 'tile' (Tile)")
  }

  /// Div by a constant, HardSigmoid and PRelu ran in the interpreter but had no C lowering;
  /// the emitted C now gives the interpreter's floats bit for bit.
  @Test(.enabled(if: CRunner.missingTools(for: .c) == nil))
  func divHardSigmoidAndPreluLowerToC() throws {
    var hs = Build.node("HardSigmoid", ["d"], ["h"], name: "hs")
    var alpha = Onnx_AttributeProto()
    alpha.name = "alpha"
    alpha.type = .float
    alpha.f = 0.3
    hs.attribute = [alpha]
    let m = Build.model(
      nodes: [
        Build.node("Div", ["x", "c"], ["d"], name: "div"), hs, Build.node("Sub", ["h", "half"], ["s"], name: "sub"),
        Build.node("PRelu", ["s", "slope"], ["y"], name: "prelu"),
      ],
      inits: [
        Build.floats("c", [], [0.37]), Build.floats("half", [], [0.5]),
        Build.floats("slope", [8], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
      ],
      inputs: [Build.valueInfo("x", [2, 8])], outputs: [Build.valueInfo("y", [2, 8])])
    let g = try importONNX(bytes: try Build.bytes(m), fileName: "ops.onnx")
    let x = NDArray(shape: [2, 8], floats: (0..<16).map { Float($0) * 0.29 - 2.3 })
    let want = try Execution.run(g, inputs: [x])
    var options = Compiler.Options()
    options.keepFloat = true
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-onnx-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let got = try CRunner.run(g, inputs: [x], backend: .c, options: options, workDirectory: dir).outputs
    #expect(got[0].floats == want[0].floats)
    #expect(Set(want[0].floats).count > 8, "the outputs must vary")
  }
}
