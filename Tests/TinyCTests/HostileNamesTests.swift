import Foundation
import Testing
import TinyC
import TinyIR

/// Models whose every name is hostile (scripts/make_hostile_names.py: C comment closers around
/// a shell command, `return 42;`, quotes, backslashes, newlines, NUL, ANSI escapes, non-UTF-8
/// bytes, a 100 KB name, two names that reduce to the same C identifier) compute exactly what
/// the plain models do, with no side effect, and every message stays one escaped line.
@Suite(.serialized) struct HostileNamesTests {
  static let haveBinary = Repo.tinyc != nil
  static let haveCC = CRunner.missingTools(for: .c) == nil
  static let fixtures = Repo.root + "/Tests/TinyCTests/Fixtures"
  /// The file the first hostile name's shell command would create.
  static let pwned = "/tmp/tinyc_hostile_names_pwned"

  struct Case: CustomStringConvertible, Sendable {
    var hostile: String
    var plain: String
    var input: String
    var description: String { hostile }
  }
  static let cases = [
    Case(
      hostile: fixtures + "/hostile_ds_cnn_s.tflite", plain: "Examples/ds_cnn_s.tflite",
      input: "Examples/golden/ds_cnn_s.input0.npy"),
    Case(
      hostile: fixtures + "/hostile_cnn_qdq.onnx", plain: "Examples/onnx/cnn_qdq.onnx",
      input: "Examples/onnx/golden/cnn_qdq.input0.npy"),
  ]

  /// No byte a terminal would act on: no C0 control but LF, no DEL, no C1 control, no ESC.
  static func expectPrintable(_ text: String, _ what: String) {
    let bad = text.unicodeScalars.first { u in
      (u.value < 0x20 && u != "\n") || (u.value >= 0x7f && u.value < 0xa0)
    }
    #expect(bad == nil, "\(what): raw control character U+\(String(bad?.value ?? 0, radix: 16))")
  }

  @Test(.enabled(if: haveBinary && haveCC), arguments: cases)
  func emittedCComputesThePlainOutputsWithoutSideEffects(_ c: Case) throws {
    try? FileManager.default.removeItem(atPath: Self.pwned)
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = dir + "/hostile.npy"
    let ref = dir + "/plain.npy"
    let (s1, o1, e1) = try Repo.run(["run", c.hostile, "--backend", "c", "--input", c.input, "--output", out])
    #expect(s1 == 0, "\(e1)")
    let (s2, _, e2) = try Repo.run(["run", c.plain, "--backend", "c", "--input", c.input, "--output", ref])
    #expect(s2 == 0, "\(e2)")
    #expect(try Npy.read(path: out) == Npy.read(path: ref))
    #expect(!FileManager.default.fileExists(atPath: Self.pwned), "a name ran a shell command")
    Self.expectPrintable(o1 + e1, "run")

    // compile: the C builds warning-free (-Wall -Wextra -Werror, and -pedantic here), make check
    // passes, and the C text holds no name byte outside printable ASCII.
    let (s3, o3, e3) = try Repo.run(["compile", c.hostile, "-o", dir + "/c", "--name", "m"])
    #expect(s3 == 0, "\(e3)")
    Self.expectPrintable(o3 + e3, "compile")
    let check = try Shell.run(["make", "-s", "check", "EXTRA_CFLAGS=-pedantic -Wno-overlength-strings"], in: dir + "/c")
    #expect(check.status == 0, "\(check.out)\(check.err)")
    #expect(!check.err.contains("warning"), "\(check.err)")
    for file in ["m.c", "m.h"] {
      let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/c/" + file)))
      #expect(bytes.allSatisfy { $0 == 10 || ($0 >= 0x20 && $0 < 0x7f) }, "\(file) holds a raw byte from a name")
    }
    let report = try Data(contentsOf: URL(fileURLWithPath: dir + "/c/report.json"))
    #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: report) }
    #expect(!FileManager.default.fileExists(atPath: Self.pwned))
  }

  @Test(.enabled(if: haveBinary), arguments: cases)
  func messagesAreOneEscapedLine(_ c: Case) throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // Output that carries names: inspect (with --layers), opt's text IR, dump manifests.
    for args in [["inspect", c.hostile, "--layers"], ["inspect", c.hostile, "--json"], ["opt", c.hostile]] {
      let (status, out, err) = try Repo.run(args)
      #expect(status == 0, "\(args): \(err)")
      Self.expectPrintable(out + err, "\(args)")
    }
    // The text IR keeps every name and parses back to the same graph.
    let (s, _, e) = try Repo.run(["opt", c.hostile, "-o", dir + "/m.tir"])
    #expect(s == 0, "\(e)")
    let (s2, out2, e2) = try Repo.run(["inspect", dir + "/m.tir", "--layers"])
    #expect(s2 == 0, "\(e2)")
    Self.expectPrintable(out2 + e2, "inspect .tir")
    // Failures that name ops or inputs: one line each, escaped.
    let tflite = c.hostile.hasSuffix(".tflite")
    let failures: [[String]] = [
      tflite
        ? ["compare", c.hostile, "--input", c.input, "--golden-layers", "Examples/golden/layers/ds_cnn_s.input1"]
        : ["compile", c.hostile, "-o", dir + "/x", "--passes", "fold-constants"],
      ["inspect", c.hostile, "--input-shape", "nope=1,2"],
      ["run", c.hostile, "--input", "Examples/golden/ds_cnn_s.input1.npy", "--input", c.input],
    ]
    for args in failures {
      let (status, out, err) = try Repo.run(args)
      #expect(status != 0, "\(args): \(out)")
      #expect(err.isEmpty || (err.split(separator: "\n").count == 1 && err.hasPrefix("tinyc: error: ")), "\(args): \(err)")
      #expect(out.split(separator: "\n").count <= 1, "\(args): \(out)")
      Self.expectPrintable(out + err, "\(args)")
    }
  }

  /// The ONNX fixture's first two initializers are `clash.x` and `clash_x`: both reduce to the
  /// C identifier `clash_x`, so one of them gets a suffix.
  @Test(.enabled(if: haveBinary)) func namesThatReduceAlikeGetDistinctIdentifiers() throws {
    let dir = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (s, _, e) = try Repo.run(["compile", Self.fixtures + "/hostile_cnn_qdq.onnx", "-o", dir, "--name", "m"])
    #expect(s == 0, "\(e)")
    let c = try String(contentsOfFile: dir + "/m.c", encoding: .utf8)
    let arrays = c.split(separator: "\n").filter { $0.hasPrefix("static const") }.compactMap { line in
      line.split(separator: " ").first { $0.contains("[") }.map { String($0.prefix { $0 != "[" }) }
    }
    #expect(Set(arrays).count == arrays.count, "duplicate C arrays: \(arrays)")
  }
}
