import Foundation
import Testing
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
}
