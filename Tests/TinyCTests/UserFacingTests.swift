import Foundation
import Testing
import TinyC
import TinyIR

/// What a user sees from the command line: inspect's figures and layer table, the -o folder
/// rules, .npy shape checks, --version, make check, --report.
@Suite struct UserFacingTests {
  static let haveBinary = Repo.tinyc != nil
  static let haveCC = CRunner.missingTools(for: .c) == nil

  @Test(.enabled(if: haveBinary)) func versionPrints() throws {
    let (status, out, _) = try Repo.run(["--version"])
    #expect(status == 0 && out.hasPrefix("tinyc ") && out.split(separator: "\n").count == 1, "\(out)")
  }

  /// A QDQ model: as imported it holds float tensors between Q/DQ pairs (12,160 B live at
  /// most); compile plans the int8 graph lower-qdq leaves (3,840 B).
  @Test(.enabled(if: haveBinary)) func inspectReportsTheCompiledLowerBoundToo() throws {
    let (status, out, err) = try Repo.run(["inspect", "Examples/onnx/cnn_qdq.onnx"])
    #expect(status == 0, "\(err)")
    #expect(out.contains("activation lower bound:   12160 (as imported)"), "\(out)")
    #expect(out.contains("activation lower bound:   3840 (after compile's -O memory passes"), "\(out)")
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (s2, out2, _) = try Repo.run(["compile", "Examples/onnx/cnn_qdq.onnx", "-o", dir + "/o"])
    #expect(s2 == 0 && out2.contains("lower bound 3840 B"), "\(out2)")
    let (_, json, _) = try Repo.run(["inspect", "Examples/onnx/cnn_qdq.onnx", "--json"])
    #expect(json.contains("\"compiled_activation_lower_bound_bytes\": 3840"))
  }

  @Test(.enabled(if: haveBinary)) func inspectLayersPrintsOneRowPerCompiledOp() throws {
    let (status, out, err) = try Repo.run(["inspect", "Examples/ds_cnn_s.tflite", "--layers"])
    #expect(status == 0, "\(err)")
    let table = out.components(separatedBy: "layers (as compile -O memory runs them):\n").last ?? ""
    let rows = table.split(separator: "\n")
    #expect(rows.first?.split(separator: " ") == ["#", "op", "source", "output", "MACs", "live", "B"])
    #expect(rows.count == 1 + 10, "\(table)")  // ds_cnn_s compiles to 10 ops
    // The first conv: 25x5x16 outputs, each 10x4x1 MACs; live: its 490 B input and 2000 B output.
    let first = rows.dropFirst().first.map { $0.split(separator: " ").map(String.init) } ?? []
    #expect(first.first == "0" && first.contains("conv2d") && first.contains("tflite:0"), "\(first)")
    #expect(first.suffix(2) == ["80000", "2490"], "\(first)")
  }

  @Test(.enabled(if: haveBinary)) func outputFolderMustBeTinycs() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let project = dir + "/project"
    try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
    try Data("all:\n\techo mine\n".utf8).write(to: URL(fileURLWithPath: project + "/Makefile"))
    let (s1, _, e1) = try Repo.run(["compile", "Examples/ds_cnn_s.tflite", "-o", project])
    #expect(s1 == 1 && e1.contains("not empty and not written by tinyc") && e1.contains("Makefile"), "\(e1)")
    #expect(try String(contentsOfFile: project + "/Makefile", encoding: .utf8) == "all:\n\techo mine\n")
    let (s2, _, e2) = try Repo.run(["compile", "Examples/ds_cnn_s.tflite", "-o", "/"])
    #expect(s2 == 1 && e2.contains("root folder"), "\(e2)")
    let (s3, _, e3) = try Repo.run(["compile", "Examples/ds_cnn_s.tflite", "-o", "/", "--force"])
    #expect(s3 == 1 && e3.contains("root folder"), "\(e3)")
    // A new folder, then the same folder again (tinyc wrote it), then --force on the project.
    for _ in 0..<2 {
      let (s, _, e) = try Repo.run(["compile", "Examples/ds_cnn_s.tflite", "-o", dir + "/new"])
      #expect(s == 0, "\(e)")
    }
    let (s4, _, e4) = try Repo.run(["compile", "Examples/ds_cnn_s.tflite", "-o", project, "--force"])
    #expect(s4 == 0, "\(e4)")
  }

  @Test(.enabled(if: haveBinary)) func npyWithTheWrongShapeIsRefusedNamingTheLayout() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let x = try Npy.read(path: Repo.examples + "/golden/ds_cnn_s.input0.npy")  // 1x49x10x1
    try Npy.write(x.transposed([0, 3, 1, 2]), path: dir + "/nchw.npy")
    let (s1, _, e1) = try Repo.run(["run", "Examples/ds_cnn_s.tflite", "--input", dir + "/nchw.npy"])
    #expect(s1 == 1 && e1.contains("[1, 49, 10, 1] (NHWC") && e1.contains("that is NCHW"), "\(e1)")
    let (s2, _, e2) = try Repo.run([
      "compare", "Examples/ds_cnn_s.tflite", "--input", dir + "/nchw.npy", "--golden", "Examples/golden/ds_cnn_s.output0.npy",
    ])
    #expect(s2 == 1 && e2.contains("NHWC"), "\(e2)")
    let y = try Npy.read(path: Repo.examples + "/onnx/golden/cnn_float.input0.npy")  // 1x3x16x16
    try Npy.write(y.transposed([0, 2, 3, 1]), path: dir + "/nhwc.npy")
    let (s3, _, e3) = try Repo.run(["run", "Examples/onnx/cnn_float.onnx", "--input", dir + "/nhwc.npy"])
    #expect(s3 == 1 && e3.contains("(NCHW, the ONNX model's layout)") && e3.contains("that is NHWC"), "\(e3)")
    let (s4, _, e4) = try Repo.run([
      "compile", "Examples/onnx/cnn_float.onnx", "--calibration", dir + "/nhwc.npy", "-o", dir + "/o",
    ])
    #expect(s4 == 1 && e4.contains("NCHW"), "\(e4)")
  }

  @Test(.enabled(if: haveBinary)) func emptyCalibrationFolderIsNamed() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/calib", withIntermediateDirectories: true)
    for model in ["Examples/onnx/cnn_float.onnx", "Examples/float_s.tflite"] {
      let (s, _, e) = try Repo.run(["compile", model, "--calibration", dir + "/calib", "-o", dir + "/o"])
      #expect(s == 1 && e.contains(dir + "/calib: the calibration folder holds no .npy file"), "\(e)")
    }
  }

  /// `make check` in a compiled folder passes, and fails when the expected outputs are wrong.
  @Test(.enabled(if: haveBinary && haveCC)) func generatedMakeCheckWorks() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for model in ["Examples/ds_cnn_s.tflite", "Examples/onnx/cnn_qdq.onnx"] {
      let (s, _, e) = try Repo.run(["compile", model, "-o", dir, "--force"])
      #expect(s == 0, "\(e)")
      let ok = try Shell.run(["make", "-s", "check"], in: dir)
      #expect(ok.status == 0 && ok.out.contains("outputs equal tinyc's interpreter"), "\(ok.out)\(ok.err)")
      let expected = URL(fileURLWithPath: dir + "/check/expected0.bin")
      var bytes = try [UInt8](Data(contentsOf: expected))
      bytes[0] ^= 1
      try Data(bytes).write(to: expected)
      let bad = try Shell.run(["make", "-s", "check"], in: dir)
      #expect(bad.status != 0)
    }
  }

  @Test(.enabled(if: haveBinary)) func reportPrintsASummary() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (s, out, e) = try Repo.run(["compile", "Examples/ds_cnn_s.tflite", "-o", dir + "/o", "--report"])
    #expect(s == 0, "\(e)")
    #expect(!out.contains("{") && out.contains("report summary") && out.contains("Flash: 3520 B"), "\(out)")
    #expect(out.contains("RAM:   arena 4000 B") && out.contains("bound: 4000 B"), "\(out)")
    #expect(out.split(separator: "\n").count < 10)
  }
}
