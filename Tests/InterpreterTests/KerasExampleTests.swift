import Foundation
import Interpreter
import TFLiteFrontend
import Testing
import TinyC
import TinyIR

/// Keras 3 models as the stock TFLite converter writes them (`scripts/make_keras_examples.py`).
/// The int8 examples in Examples/ are compared layer by layer by `ExampleLayerTests` and their
/// emitted C by `EmittedCTests`; these are the variants around them, from
/// Tests/TFLiteFrontendTests/Fixtures (`make_keras_examples.py --fixtures`).
@Suite struct KerasExampleTests {
  static let fixtures = ModelPaths.repositoryRoot + "/Tests/TFLiteFrontendTests/Fixtures"
  static let hostAvailable = CRunner.missingTools(for: .c) == nil

  static func temporary() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-keras-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  /// The dynamic batch's Flatten (SHAPE → STRIDED_SLICE → PACK → RESHAPE) leaves one reshape.
  @Test func flattenOnDynamicBatchFoldsToOneReshape() throws {
    let path = ModelPaths.examples + "/keras_cnn_int8.tflite"
    let (g, folded) = try importTFLiteFolding([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), fileName: path)
    #expect(folded.keys.sorted() == [4, 5, 6])
    #expect(folded[4]?.integers == [1, 3, 3, 8])  // SHAPE of the pooled 1x3x3x8
    #expect(folded[6]?.integers == [1, 72])  // PACK (batch, 72)
    #expect(
      g.ops.map(\.kind.mnemonic) == [
        "conv2d", "max_pool2d", "conv2d", "max_pool2d", "reshape", "fully_connected", "fully_connected", "softmax",
      ])
  }

  /// FLOAT16 weights (DEQUANTIZE of constants) become f32 constants; the interpreter and the
  /// emitted C match LiteRT's output (TFLite Micro has no FLOAT16 DEQUANTIZE).
  @Test func float16WeightsAreDequantizedAtImport() throws {
    let g = try importTFLite(path: Self.fixtures + "/keras_gap_f16.tflite")
    #expect(!g.ops.contains { $0.kind == .dequantize })
    #expect(g.values.allSatisfy { $0.type.elementType == .f32 })
    let x = try Npy.read(path: Self.fixtures + "/keras_gap_f16.input0.npy")
    let want = try Npy.read(path: Self.fixtures + "/keras_gap_f16.output0.npy")
    let got = try Interpreter(g).run([x])
    var largest: Float = 0
    let d = LayerComparison.difference(got[0], want, tolerance: 1e-5, largest: &largest)
    #expect(d == nil, "interpreter vs LiteRT: \(d ?? "")")
    guard Self.hostAvailable else { return }
    var options = Compiler.Options()
    options.keepFloat = true
    let dir = Self.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let c = try CRunner.run(g, inputs: [x], backend: .c, options: options, workDirectory: dir).outputs
    #expect(c[0].floats == got[0].floats, "the emitted C must equal the interpreter")
  }

  /// Weights-only ("dynamic range") models are refused in one line at import, so neither the
  /// interpreter nor the C back-end ever sees int8 weights on a float operator.
  @Test func dynamicRangeModelIsRefused() throws {
    let path = Self.fixtures + "/keras_dense_dynamic.tflite"
    do {
      _ = try Models.load(path: path)
      Issue.record("a weights-only quantized model was imported")
    } catch {
      let message = "\(error)"
      #expect(message.contains("keras_dense_dynamic.tflite"))
      #expect(message.contains("FLOAT32 activations but INT8 weights"))
      #expect(message.contains("dynamic range"))
      #expect(message.contains("operator 0 (FULLY_CONNECTED)"))
      #expect(!message.contains("\n"))
    }
  }

  /// 1-D per-channel biases with quantized_dimension = 3 read as TFLite Micro reads them: the
  /// model runs and its output equals TFLite Micro's on the same file.
  @Test func outOfRangeQuantizedDimensionOfBiasIsAxisZero() throws {
    let g = try importTFLite(path: Self.fixtures + "/keras_cnn_qdim3.tflite")
    let biases = g.constants.keys.filter { g[$0].type.rank == 1 && g[$0].type.quantization?.isPerAxis == true }
    #expect(!biases.isEmpty && biases.allSatisfy { g[$0].type.quantization?.axis == 0 })
    let x = try Npy.read(path: ModelPaths.examples + "/golden/keras_cnn_int8.input0.npy")
    let got = try Interpreter(g).run([x])
    #expect(got[0] == (try Npy.read(path: Self.fixtures + "/keras_cnn_qdim3.output0.npy")))
  }

  /// The 16x8 CNN (int16 activations, INT64 biases) imports once the IR has a 64-bit element
  /// type; until then it is refused naming INT64.
  @Test func sixteenByEightImportsWhenTheIRHasInt64() throws {
    let path = ModelPaths.examples + "/keras_cnn_16x8.tflite"
    if ElementType(rawValue: "i64") != nil {
      let g = try importTFLite(path: path)
      #expect(g.type(of: g.inputs[0]).elementType == .i16)
      #expect(g.ops.count == 8)
    } else {
      #expect(throws: (any Error).self) { try importTFLite(path: path) }
      do { _ = try importTFLite(path: path) } catch { #expect("\(error)".contains("INT64")) }
    }
  }
}

/// `inspect` tells, before `compile`, whether the C back-end takes a graph the interpreter runs.
@Suite struct LowerabilityTests {
  @Test func inspectNamesTheOpTheCBackEndCannotLower() throws {
    var g = Graph(name: "div5")
    let x = g.addInput(name: "x", type: TensorType([1, 2, 2, 2, 2], .f32))
    let c = g.addConstant(name: "c", type: TensorType([], .f32), bytes: NDArray(shape: [], floats: [0.5]).bytes)
    let y = g.addOp(
      .div(.none), inputs: [x, c], results: [("y", TensorType([1, 2, 2, 2, 2], .f32))],
      location: Location(source: "onnx", index: 0, name: "d"))
    g.outputs = y
    let out = try Interpreter(g).run([NDArray(shape: [1, 2, 2, 2, 2], floats: (0..<16).map(Float.init))])
    #expect(out[0].floats[3] == 6)
    let problem = try #require(ModelSummary.cBackendProblem(g))
    #expect(problem.contains("op 0 (div") && problem.contains("rank 4 or less"))
    let keras = try Models.load(path: ModelPaths.examples + "/keras_har_int8.tflite")
    #expect(ModelSummary.cBackendProblem(keras) == nil)
  }
}
