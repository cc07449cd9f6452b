import Foundation
import Testing
import TinyC
import TinyIR

enum Repo {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
  static let examples = root + "/Examples"

  /// The `tinyc` executable that `swift build` put beside the test bundle.
  static var tinyc: String? {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = dir.appendingPathComponent("tinyc").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      dir.deleteLastPathComponent()
    }
    return nil
  }

  static func temporary() -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-cli-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
  }

  /// Runs tinyc; returns exit status, stdout, stderr.
  static func run(_ args: [String]) throws -> (Int32, String, String) {
    guard let tinyc else { throw DriverError("tinyc executable not found beside the tests") }
    let r = try Shell.run([tinyc] + args, in: root)
    return (r.status, r.out, r.err)
  }
}

@Suite struct CLITests {
  static let haveBinary = Repo.tinyc != nil

  @Test(.enabled(if: haveBinary)) func compareGoldenLayersPassesOnAnExample() throws {
    let (status, out, err) = try Repo.run([
      "compare", "Examples/mobilenet_s.tflite", "--input", "Examples/golden/mobilenet_s.input1.npy",
      "--golden-layers", "Examples/golden/layers/mobilenet_s.input1", "--golden", "Examples/golden/mobilenet_s.output1.npy",
    ])
    #expect(status == 0, "\(out)\(err)")
    #expect(out.contains("layers: all 22 identical"), "\(out)")
    #expect(out.contains("output 0: 0 of 10 elements differ, largest difference 0"), "\(out)")
  }

  /// A golden folder with one layer changed: compare fails and names that op.
  @Test(.enabled(if: haveBinary)) func compareNamesTheFirstDifferingOp() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let src = Repo.examples + "/golden/layers/resnet_s.input0"
    for f in try FileManager.default.contentsOfDirectory(atPath: src) {
      try FileManager.default.copyItem(atPath: src + "/" + f, toPath: dir + "/" + f)
    }
    var a = try Npy.read(path: dir + "/op3.npy")
    a.bytes[5] = a.bytes[5] &+ 1
    try Npy.write(a, path: dir + "/op3.npy")
    let (status, out, _) = try Repo.run([
      "compare", "Examples/resnet_s.tflite", "--input", "Examples/golden/resnet_s.input0.npy", "--golden-layers", dir,
    ])
    #expect(status == 1)
    #expect(out.contains("first: op 3 ("), "\(out)")
    #expect(out.contains("1 of "), "\(out)")
  }

  @Test(.enabled(if: haveBinary)) func dumpTensorsMatchesTheGoldenLayout() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (status, _, err) = try Repo.run([
      "run", "Examples/ds_cnn_s.tflite", "--input", "Examples/golden/ds_cnn_s.input2.npy", "--dump-tensors", dir,
      "--output", dir + "/out.npy",
    ])
    #expect(status == 0, "\(err)")
    let golden = Repo.examples + "/golden/layers/ds_cnn_s.input2"
    let files = try FileManager.default.contentsOfDirectory(atPath: golden).filter { $0.hasSuffix(".npy") }
    #expect(files.count == 10)
    for f in files {
      #expect(try Npy.read(path: dir + "/" + f) == Npy.read(path: golden + "/" + f), "\(f)")
    }
    let manifest = try String(contentsOfFile: dir + "/manifest.json", encoding: .utf8)
    #expect(manifest.contains("\"kind\": \"depthwise_conv2d\""))
    #expect(try Npy.read(path: dir + "/out.npy") == Npy.read(path: Repo.examples + "/golden/ds_cnn_s.output2.npy"))
  }

  @Test(.enabled(if: haveBinary)) func badInputsGetOneLineErrors() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let model = try Data(contentsOf: URL(fileURLWithPath: Repo.examples + "/resnet_s.tflite"))
    try model.prefix(model.count / 3).write(to: URL(fileURLWithPath: dir + "/cut.tflite"))
    try Data("not numpy".utf8).write(to: URL(fileURLWithPath: dir + "/x.npy"))
    let cases: [([String], String)] = [
      (["inspect", dir + "/cut.tflite"], "cut.tflite"),
      (["inspect", dir + "/missing.tflite"], "missing.tflite"),
      (["inspect", "README.md"], "README.md"),
      (["run", "Examples/resnet_s.tflite", "--input", dir + "/x.npy"], "x.npy"),
      (["run", "Examples/resnet_s.tflite", "--input", "Examples/golden/ds_cnn_s.input0.npy"], "ds_cnn_s.input0.npy"),
      (["run", "Examples/resnet_s.tflite"], "input"),
      (["compile", "Examples/resnet_s.tflite", "-o", dir + "/o", "--target", "pdp11"], "pdp11"),
      (["opt", "Examples/resnet_s.tflite", "--passes", "no-such-pass"], "no-such-pass"),
    ]
    for (args, mention) in cases {
      let (status, out, err) = try Repo.run(args)
      #expect(status == 1, "\(args): \(out)\(err)")
      let lines = err.split(separator: "\n")
      #expect(lines.count == 1, "\(args): \(err)")
      #expect(err.hasPrefix("tinyc: error: ") && err.contains(mention), "\(args): \(err)")
    }
  }

  /// A float ONNX model: refused without calibration data, quantized with samples in the
  /// model's own NCHW layout.
  @Test(.enabled(if: haveBinary)) func compileFloatONNXNeedsCalibration() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (s1, _, e1) = try Repo.run(["compile", "Examples/onnx/cnn_float.onnx", "-o", dir + "/a"])
    #expect(s1 == 1 && e1.contains("--calibration"), "\(e1)")
    try FileManager.default.createDirectory(atPath: dir + "/calib", withIntermediateDirectories: true)
    for k in 0..<3 {
      try FileManager.default.copyItem(
        atPath: Repo.examples + "/onnx/golden/cnn_float.input\(k).npy", toPath: dir + "/calib/x\(k).npy")
    }
    let (s2, out, e2) = try Repo.run(["compile", "Examples/onnx/cnn_float.onnx", "--calibration", dir + "/calib", "-o", dir + "/b"])
    #expect(s2 == 0, "\(e2)")
    #expect(out.contains("arena "))
    let header = try String(contentsOfFile: dir + "/b/cnn_float.h", encoding: .utf8)
    #expect(header.contains("#define cnn_float_INPUT0_TYPE \"i8\""))
    #expect(header.contains("#define cnn_float_INPUT0_SHAPE { 1, 16, 16, 3 }"))
  }

  @Test(.enabled(if: haveBinary)) func inspectReportsTheLowerBound() throws {
    let (status, out, _) = try Repo.run(["inspect", "Examples/ds_cnn_s.tflite", "--json"])
    #expect(status == 0)
    #expect(out.contains("\"activation_lower_bound_bytes\": 4000"))
    #expect(out.contains("\"conv2d\": 4"))
  }

  @Test(.enabled(if: haveBinary)) func optWritesTextThatParsesBack() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (status, _, err) = try Repo.run([
      "opt", "Examples/mobilenet_s.tflite", "--passes", "plan-memory{strategy=best}", "-o", dir + "/m.tir",
    ])
    #expect(status == 0, "\(err)")
    let (s2, out, err2) = try Repo.run([
      "compare", dir + "/m.tir", "--input", "Examples/golden/mobilenet_s.input0.npy",
      "--golden-layers", "Examples/golden/layers/mobilenet_s.input0",
    ])
    #expect(s2 == 0, "\(out)\(err2)")
  }

  /// `--input-shape` fixes an ONNX input's dimensions; wrong ones are one-line errors.
  @Test(.enabled(if: haveBinary)) func inputShapeOption() throws {
    let model = "Examples/onnx/cnn_float.onnx"
    var (status, out, err) = try Repo.run(["inspect", model, "--input-shape", "1,3,16,16"])
    #expect(status == 0, "\(err)")
    #expect(out.contains("1x16x16x3"), "\(out)")
    let cases: [([String], String)] = [
      (["inspect", model, "--input-shape", "input=1x3x8x8"], "does not fit the model's shape [1, 3, 16, 16]"),
      (["inspect", model, "--input-shape", "img=1,3,16,16"], "names 'img', which is not a graph input"),
      (["inspect", model, "--input-shape", "1,three"], "expected NAME=D0,D1,..."),
      (["inspect", "Examples/ds_cnn_s.tflite", "--input-shape", "1,49,10,1"], "applies to .onnx models only"),
      (["compile", model, "--input-shape", "1,3,16,0", "-o", "/tmp/unused"], "positive dimensions"),
    ]
    for (args, text) in cases {
      (status, out, err) = try Repo.run(args)
      #expect(status == 1 && err.contains(text) && err.split(separator: "\n").count == 1, "\(args): \(err)")
    }
  }

  /// ONNX models layer by layer against ONNX Runtime's per-node outputs (node<N>.npy, NCHW),
  /// before any pass: the float model within 1e-5, the QDQ models (int8 and uint8
  /// activations, run as imported: float between the Q and DQ nodes) identical on every node.
  @Test(
    .enabled(if: haveBinary),
    arguments: [("cnn_float", 12), ("cnn_qdq", 26), ("cnn_qdq_u8", 26), ("cnn1d_float", 12), ("cnn1d_qdq", 26)])
  func compareONNXLayersWithONNXRuntime(stem: String, layers: Int) throws {
    let (status, out, err) = try Repo.run([
      "compare", "Examples/onnx/\(stem).onnx", "--input", "Examples/onnx/golden/\(stem).input0.npy",
      "--golden-layers", "Examples/onnx/golden/layers/\(stem).input0", "--golden", "Examples/onnx/golden/\(stem).output0.npy",
    ])
    #expect(status == 0, "\(out)\(err)")
    #expect(out.contains("layers: all \(layers) identical"), "\(out)")
  }

  /// QLinearConv runs as an integer convolution with TFLite Micro's requantization, so the
  /// QOperator example differs from ONNX Runtime by 1 LSB on a few elements of its first
  /// layer; compare says which op and how much.
  @Test(.enabled(if: haveBinary)) func compareNamesTheFirstDifferingONNXNode() throws {
    let (status, out, _) = try Repo.run([
      "compare", "Examples/onnx/cnn_qop.onnx", "--input", "Examples/onnx/golden/cnn_qop.input0.npy",
      "--golden-layers", "Examples/onnx/golden/layers/cnn_qop.input0",
    ])
    #expect(status == 1)
    #expect(
      out.contains("first: op 1 (conv2d, onnx:op 1 \"conv1_quant\") differs from node1.npy: 4 of 2048 elements differ, largest difference 1"),
      "\(out)")
  }

  /// `run --dump-tensors` on an ONNX model writes node<N>.npy in the model's layout.
  @Test(.enabled(if: haveBinary)) func dumpTensorsOfAnONNXModel() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (status, _, err) = try Repo.run([
      "run", "Examples/onnx/cnn_qdq_u8.onnx", "--input", "Examples/onnx/golden/cnn_qdq_u8.input0.npy", "--dump-tensors", dir,
    ])
    #expect(status == 0, "\(err)")
    let golden = Repo.examples + "/onnx/golden/layers/cnn_qdq_u8.input0"
    var compared = 0
    for f in try FileManager.default.contentsOfDirectory(atPath: golden) where f.hasPrefix("node") {
      // The uint8 tensors (quantized activations): tinyc holds them as int8, value − 128.
      let want = try Npy.read(path: golden + "/" + f)
      guard want.elementType == .u8 else { continue }
      let got = try Npy.read(path: dir + "/" + f)
      #expect(got.shape == want.shape, "\(f): \(got.shape) vs \(want.shape)")
      #expect(got.integers == want.integers.map { $0 - 128 }, "\(f)")
      compared += 1
    }
    #expect(compared >= 9, "only \(compared) integer node outputs dumped")
  }
}

@Suite struct NpyTests {
  @Test func roundTrip() throws {
    for a in [
      NDArray(shape: [2, 3], int8s: [-128, -1, 0, 1, 2, 127]), NDArray(shape: [4], floats: [0.5, -1, 3e-8, .infinity]),
      NDArray(shape: [1, 2], int32s: [Int32.min, 7]),
    ] {
      #expect(try Npy.parse(Npy.encode(a)) == a)
    }
  }

  @Test func readsWhatNumpyWrote() throws {
    let a = try Npy.read(path: Repo.examples + "/golden/ds_cnn_s.input0.npy")
    #expect(a.shape == [1, 49, 10, 1])
    #expect(a.elementType == .i8)
  }

  /// A Fortran-order array (what np.save writes for a transposed array) reads as the same
  /// values in C order.
  @Test func readsFortranOrder() throws {
    // [[1, 2, 3], [4, 5, 6]] stored column by column.
    let values: [Int8] = [1, 4, 2, 5, 3, 6]
    let bytes = header("{'descr': '|i1', 'fortran_order': True, 'shape': (2, 3), }") + values.map { UInt8(bitPattern: $0) }
    let a = try Npy.parse(bytes)
    #expect(a.shape == [2, 3])
    #expect(a.integers == [1, 2, 3, 4, 5, 6])
  }

  @Test(arguments: [
    ([UInt8]("nonsense".utf8), "magic"),
    ([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0xff, 0xff], "truncated"),
    (header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"), "dtype"),
    (header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"), "truncated"),
    (header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }"), "dimension"),
  ])
  func rejectsBadFiles(bytes: [UInt8], mention: String) {
    #expect {
      try Npy.parse(bytes)
    } throws: { error in
      "\(error)".contains(mention)
    }
  }
}

private func header(_ h: String) -> [UInt8] {
  let text = h + "\n"
  return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(text.utf8.count), 0] + Array(text.utf8)

}
