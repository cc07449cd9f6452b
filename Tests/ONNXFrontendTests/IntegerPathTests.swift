import Foundation
import Testing
import TinyC
import TinyIR

/// ONNX models through tinyc's integer path (`lower-qdq` and the rest of `-O memory`, then the
/// emitted C on this machine), against ONNX Runtime's outputs and, where the same model exists
/// as a TFLite file, TFLite Micro's.
///
/// The MLPerf kws and ResNet-8 .onnx files are tf2onnx conversions of the .tflite models; on
/// the same inputs the integer C that tinyc makes from the ONNX files is bit-identical to TFLite
/// Micro's output for the .tflite files. ONNX Runtime computes QDQ graphs in float between the
/// quantize and dequantize nodes and differs from TFLite Micro itself by up to 22 LSB at the
/// softmax output (whose inputs differ by up to 5 LSB); those differences are measured and
/// stated here rather than hidden by a tolerance. `everyLayerWithinOneLSBOfONNXRuntime` shows
/// where they come from: each layer alone is within 1 LSB of ONNX Runtime.
@Suite struct IntegerPathTests {
  static let shared =
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path + "/../shared/models"
  static var hasShared: Bool { FileManager.default.fileExists(atPath: shared + "/onnx/kws_ref_model.onnx") }
  static let hostC = CRunner.missingTools(for: .c) == nil

  static let qemu = CRunner.missingTools(for: .qemuM4) == nil

  private func runC(
    _ model: String, inputs: [String], options: Compiler.Options = Compiler.Options(), backend: CRunner.Backend = .c
  ) throws -> [NDArray] {
    let m = try Models.loadModel(path: model)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-onnx-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var o = options
    o.target = backend == .c ? .host : .cortexM4
    let program = try CRunner.build(try Compiler.compile(m.graph, options: o), in: dir, backend: backend)
    var outs: [NDArray] = []
    for path in inputs {
      var x = try Execution.readInputs([path], for: m)
      // After `quantize` (io=int8, as the TFLite converter) the interface is int8: quantize the
      // float input with the graph input's parameters, as a user's firmware would.
      let t = program.graph.type(of: program.graph.inputs[0])
      if let q = t.quantization, x[0].elementType == .f32 {
        let values = x[0].floats.map { Int(($0 / q.scale).rounded(.toNearestOrAwayFromZero)) + q.zeroPoint }
        x[0] = NDArray.pack(values.map { min(max($0, -128), 127) }, as: .i8, shape: t.shape)
      }
      outs += m.restore(try CRunner.execute(program, inputs: x).outputs)
    }
    return outs
  }

  @Test(.enabled(if: hasShared && hostC), arguments: ["kws_ref_model", "pretrainedResnet_quant"])
  func mlperfQDQMatchesTFLiteMicroExactly(stem: String) throws {
    let inputs = (0..<5).map { "\(Self.shared)/onnx/golden/\(stem).input\($0).npy" }
    let outs = try runC("\(Self.shared)/onnx/\(stem).onnx", inputs: inputs)
    var ortDiffering = 0
    var ortLargest = 0
    for k in 0..<5 {
      let tflm = try Npy.read(path: "\(Self.shared)/tflite/golden/\(stem).output\(k).npy")
      #expect(outs[k].integers == tflm.integers, "\(stem) input \(k): integer C differs from TFLite Micro")
      let ort = try Npy.read(path: "\(Self.shared)/onnx/golden/\(stem).output\(k).npy")
      for (a, b) in zip(outs[k].integers, ort.integers) where a != b {
        ortDiffering += 1
        ortLargest = max(ortLargest, abs(a - b))
      }
    }
    // Against ONNX Runtime (float between Q and DQ): the measured differences, stated exactly.
    let expected: [String: (Int, Int)] = ["kws_ref_model": (4, 8), "pretrainedResnet_quant": (7, 22)]
    #expect(
      ortDiffering == expected[stem]?.0 && ortLargest == expected[stem]?.1,
      "\(stem): \(ortDiffering) elements differ from ONNX Runtime, largest \(ortLargest) LSB")
  }

  /// Whether `python3` can import onnx and onnxruntime (scripts/test.sh installs them).
  static let hasONNXRuntime = (try? Shell.run(["python3", "-c", "import onnx, onnxruntime"]))?.status == 0

  /// The integer C of ONNX models on a Cortex-M4 under QEMU gives the same outputs as on the
  /// host: the QDQ example, and kws (whose outputs are also TFLite Micro's for the .tflite).
  @Test(.enabled(if: qemu && hostC)) func onCortexM4UnderQEMU() throws {
    var cases = [
      (Paths.examples.appendingPathComponent("cnn_qdq.onnx").path, Paths.examples.appendingPathComponent("golden/cnn_qdq.input0.npy").path)
    ]
    if Self.hasShared {
      cases.append(("\(Self.shared)/onnx/kws_ref_model.onnx", "\(Self.shared)/onnx/golden/kws_ref_model.input0.npy"))
    }
    for (model, input) in cases {
      let m4 = try runC(model, inputs: [input], backend: .qemuM4)
      let host = try runC(model, inputs: [input])
      #expect(m4[0].elementType == host[0].elementType && m4[0].bytes == host[0].bytes, "\(model): QEMU M4 output differs from the host's")
      if model.hasSuffix("kws_ref_model.onnx") {
        let tflm = try Npy.read(path: "\(Self.shared)/tflite/golden/kws_ref_model.output0.npy")
        #expect(m4[0].integers == tflm.integers, "kws_ref_model.onnx on the M4 differs from TFLite Micro")
      }
    }
  }

  /// Our quantized ONNX examples compiled to integer C on the host, against ONNX Runtime's
  /// outputs (probabilities; the QDQ models quantize them with step 1/255, cnn_qop's softmax
  /// is float): the number of elements that differ over the 3 goldens (of 30), stated
  /// exactly, and the largest difference, at most one step (two for cnn_qop, whose float
  /// softmax spreads a 1-LSB logit difference over every class). tinyc's int8 softmax (TFLite
  /// Micro's, output step 1/256) is requantized to the model's 1/255: two roundings where ONNX
  /// Runtime has one.
  @Test(.enabled(if: hostC), arguments: [("cnn_qdq", 2, 1), ("cnn_qdq_u8", 2, 1), ("cnn_qop", 30, 2), ("cnn1d_qdq", 7, 1)])
  func examplesIntegerCAgainstONNXRuntime(stem: String, differing: Int, largestSteps: Int) throws {
    let inputs = (0..<3).map { Paths.examples.appendingPathComponent("golden/\(stem).input\($0).npy").path }
    let outs = try runC(Paths.examples.appendingPathComponent("\(stem).onnx").path, inputs: inputs)
    var n = 0
    var largest: Float = 0
    for k in 0..<3 {
      let ort = try Npy.read(path: Paths.examples.appendingPathComponent("golden/\(stem).output\(k).npy").path)
      for (a, b) in zip(outs[k].floats, ort.floats) where abs(a - b) > 1e-6 {
        n += 1
        largest = max(largest, abs(a - b))
      }
    }
    #expect(
      n == differing && largest <= Float(largestSteps) / 255 + 1e-6,
      "\(stem): \(n) elements differ from ONNX Runtime, largest \(largest) (\(largest * 255)/255)")
  }

  /// A 1-D CNN (Conv1d, BatchNorm1d, MaxPool1d as PyTorch exports them) runs as 2-D NHWC ops
  /// over [N, 1, L, C] with no layout change left: its input comes channels-last (NLC), and
  /// `cancel-transposes` removes the importer's NCL round trips; as float C within 1e-5 of
  /// ONNX Runtime, and its QDQ twin as integer ops only.
  @Test(.enabled(if: hostC)) func oneDimensionalCNN() throws {
    let layoutOps = { (g: Graph) in g.ops.filter { if case .transpose = $0.kind { return true } else { return false } }.count }
    let float = try Models.loadModel(path: Paths.examples.appendingPathComponent("cnn1d_float.onnx").path)
    var o = Compiler.Options()
    o.target = .host
    o.keepFloat = true
    #expect(layoutOps(float.graph) == 12, "the importer's round trips")
    #expect(float.graph.type(of: float.graph.inputs[0]).shape == [1, 49, 10])
    #expect(layoutOps(try Compiler.compile(float.graph, options: o).graph) == 0)
    let inputs = (0..<3).map { Paths.examples.appendingPathComponent("golden/cnn1d_float.input\($0).npy").path }
    let outs = try runC(Paths.examples.appendingPathComponent("cnn1d_float.onnx").path, inputs: inputs, options: o)
    for k in 0..<3 {
      let ort = try Npy.read(path: Paths.examples.appendingPathComponent("golden/cnn1d_float.output\(k).npy").path)
      let d = try Execution.difference(outs[k], ort, atol: 1e-5)
      #expect(d.identical, "cnn1d_float input \(k): largest difference \(d.largest)")
    }
    let qdq = try Models.loadModel(path: Paths.examples.appendingPathComponent("cnn1d_qdq.onnx").path)
    let g = try Compiler.compile(qdq.graph, options: Compiler.Options()).graph
    #expect(layoutOps(g) == 0)
    for op in g.ops where op.kind != .quantize && op.kind != .dequantize {
      #expect((op.inputs + op.outputs).allSatisfy { g.type(of: $0).elementType != .f32 }, "\(op.kind.mnemonic) computes in float")
    }
  }

  /// A quantized ONNX model and its golden inputs, for the per-layer check.
  struct LayerCase: CustomStringConvertible, Sendable {
    var model: String
    var inputs: [String]
    var layers: Int
    var description: String { URL(fileURLWithPath: model).lastPathComponent }

    static func shared(_ stem: String, layers: Int) -> LayerCase {
      LayerCase(
        model: "\(IntegerPathTests.shared)/onnx/\(stem).onnx",
        inputs: (0..<5).map { "\(IntegerPathTests.shared)/onnx/golden/\(stem).input\($0).npy" }, layers: layers)
    }
    static func example(_ stem: String, layers: Int) -> LayerCase {
      LayerCase(
        model: Paths.examples.appendingPathComponent("\(stem).onnx").path,
        inputs: (0..<3).map { Paths.examples.appendingPathComponent("golden/\(stem).input\($0).npy").path }, layers: layers)
    }
    static var all: [LayerCase] {
      [
        example("cnn_qdq", layers: 9), example("cnn_qdq_u8", layers: 9), example("cnn_qop", layers: 7),
        example("cnn1d_qdq", layers: 9),
      ]
        + (IntegerPathTests.hasShared
          ? [shared("kws_ref_model", layers: 13), shared("pretrainedResnet_quant", layers: 16), shared("burn_mnist.qdq", layers: 8)]
          : [])
    }
  }

  /// Every integer layer of the quantized ONNX models (the three QDQ models of ../shared and
  /// our QDQ and QOperator examples) against ONNX Runtime (graph optimizations off, as the
  /// goldens), by `scripts/ort_layers.py` on the per-op results of the graph the C back-end
  /// emits. "local" runs the ONNX nodes of one layer on tinyc's own inputs to that layer:
  /// fixed-point requantization (TFLite Micro's, round half away from zero) against ONNX's
  /// float QDQ (round half to even) may differ by 1 LSB there and never more, on every
  /// element of every layer. The end-to-end differences above are these 1-LSB steps carried
  /// through the network (and amplified by the int8 softmax), not a wrong layer.
  @Test(.enabled(if: hasONNXRuntime), arguments: LayerCase.all)
  func everyLayerWithinOneLSBOfONNXRuntime(_ c: LayerCase) throws {
    let model = try Models.loadModel(path: c.model)
    var o = Compiler.Options()
    o.target = .host
    let graph = try Compiler.compile(model.graph, options: o).graph
    let script = Paths.repo.appendingPathComponent("scripts/ort_layers.py").path
    for (k, input) in c.inputs.enumerated() {
      let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-ort-\(UUID().uuidString)").path
      defer { try? FileManager.default.removeItem(atPath: dir) }
      _ = try Execution.run(graph, inputs: try Execution.readInputs([input], for: model), dumpDirectory: dir)
      let r = try Shell.run(["python3", script, c.model, input, dir, "--json"])
      try #require(r.status == 0, "\(c) input \(k): ort_layers.py failed: \(r.err)")
      let report = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
      let rows = try #require(report["layers"] as? [[String: Any]])
      #expect(rows.count == c.layers, "\(c): \(rows.count) integer layers mapped to ONNX tensors")
      for row in rows {
        let name = "\(c) input \(k) op \(row["op"] ?? "?") \(row["kind"] ?? "")"
        #expect(row["error"] == nil, "\(name): \(row["error"] ?? "")")
        let local = try #require(row["local"] as? [String: Int], "\(name): no local comparison")
        #expect(
          (local["largest"] ?? 99) <= 1, "\(name): \(local["differing"] ?? 0) elements differ, largest \(local["largest"] ?? 0) LSB")
      }
    }
  }

  @Test(.enabled(if: hasShared && hostC)) func burnMnistQDQWithinTolerance() throws {
    let stem = "burn_mnist.qdq"
    let inputs = (0..<5).map { "\(Self.shared)/onnx/golden/\(stem).input\($0).npy" }
    let outs = try runC("\(Self.shared)/onnx/\(stem).onnx", inputs: inputs)
    for k in 0..<5 {
      let ort = try Npy.read(path: "\(Self.shared)/onnx/golden/\(stem).output\(k).npy")
      let d = try Execution.difference(outs[k], ort, atol: 0.2)
      #expect(d.identical, "\(stem) input \(k): largest difference \(d.largest) of the log-softmax")
      #expect(argmax(outs[k].floats) == argmax(ort.floats))
    }
  }

  /// The float model compiled as float (`--keep-float`): its unfolded batch norms (after a
  /// relu) run as 1x1 depthwise convolutions; within 1e-4 of ONNX Runtime.
  @Test(.enabled(if: hasShared && hostC)) func burnMnistFloatC() throws {
    let stem = "burn_mnist"
    var o = Compiler.Options()
    o.keepFloat = true
    let inputs = (0..<5).map { "\(Self.shared)/onnx/golden/\(stem).input\($0).npy" }
    let outs = try runC("\(Self.shared)/onnx/\(stem).onnx", inputs: inputs, options: o)
    for k in 0..<5 {
      let ort = try Npy.read(path: "\(Self.shared)/onnx/golden/\(stem).output\(k).npy")
      let d = try Execution.difference(outs[k], ort, atol: 1e-4)
      #expect(d.identical, "\(stem) input \(k): largest difference \(d.largest)")
    }
  }

  /// A float ONNX model, quantized by tinyc (calibrated on a few inputs), compiled to integer
  /// C: its top-1 agrees with the float model's on the golden inputs.
  @Test(.enabled(if: hasShared && hostC)) func burnMnistQuantizedTop1() throws {
    let stem = "burn_mnist"
    let calibration = FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-calib-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: calibration, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: calibration) }
    // Calibration samples in the model's own layout (NCHW), converted as `compile --calibration` does.
    for k in 0..<3 {
      try FileManager.default.copyItem(
        atPath: "\(Self.shared)/onnx/golden/\(stem).input\(k).npy", toPath: "\(calibration)/sample\(k).npy")
    }
    var o = Compiler.Options()
    o.calibration = try Calibration.inGraphLayout(calibration, for: try Models.loadModel(path: "\(Self.shared)/onnx/\(stem).onnx"))
    let inputs = (0..<5).map { "\(Self.shared)/onnx/golden/\(stem).input\($0).npy" }
    let outs = try runC("\(Self.shared)/onnx/\(stem).onnx", inputs: inputs, options: o)
    for k in 0..<5 {
      let ort = try Npy.read(path: "\(Self.shared)/onnx/golden/\(stem).output\(k).npy")
      let q = outs[k]
      let values = q.elementType == .f32 ? q.floats : q.integers.map(Float.init)
      #expect(argmax(values) == argmax(ort.floats), "\(stem) input \(k): top-1 differs after quantization")
    }
  }

  private func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] } ?? 0 }
}
