import Foundation
import Interpreter
import ONNXFrontend
import Testing
import TinyC
import TinyIR
import TinyPasses

/// ONNX's own operator conformance tests (`onnx/backend/test/data/node`, shipped by
/// `pip install onnx==1.22.0`), run through the importer and the interpreter.
///
/// Each test dir has `model.onnx` and `test_data_set_0/input_<i>.pb`, `output_<j>.pb`. The
/// first input is fed at run time; the others (weights, shapes, scales) become constants, as
/// a deployed model has them. Each imported graph must round-trip through the text form.
/// Float outputs must agree within 1e-4 (relative for values
/// above 1), integer outputs exactly, also after the graph-cleaning passes (`fold-constants`
/// … `eliminate-dead-code`, without `lower-qdq`, which changes QDQ numerics by design). `passing_node_tests.txt` lists the tests that pass;
/// every one of them must keep passing (the list only grows). Set `ONNX_UPDATE_PASSING=1`
/// to rewrite it from the current run.
enum NodeTests {
  static let listFile = Paths.repo.appendingPathComponent("scripts/onnx/node_tests.txt")
  static let passingFile = Paths.repo.appendingPathComponent("Tests/ONNXFrontendTests/passing_node_tests.txt")

  /// `$ONNX_NODE_TESTS`, or the installed onnx package's node test folder.
  static let directory: URL? = {
    if let d = ProcessInfo.processInfo.environment["ONNX_NODE_TESTS"] { return URL(fileURLWithPath: d) }
    guard let r = try? Shell.run(["python3", "-c", "import onnx,os;print(os.path.dirname(onnx.__file__))"]), r.status == 0
    else { return nil }
    let path = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    let dir = URL(fileURLWithPath: path).appendingPathComponent("backend/test/data/node")
    return FileManager.default.fileExists(atPath: dir.path) ? dir : nil
  }()

  static func lines(_ url: URL) -> [String] {
    guard let s = try? String(contentsOf: url, encoding: .utf8) else { return [] }
    return s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
  }

  static func read(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

  /// Runs one node test, after the passes of `pipeline` when given; returns nil when it
  /// passes, else the reason.
  static func run(_ dir: URL, pipeline: String? = nil) -> String? {
    do {
      let modelBytes = try read(dir.appendingPathComponent("model.onnx"))
      let names = try onnxGraphInputNames(bytes: modelBytes)
      let data = dir.appendingPathComponent("test_data_set_0")
      var inputs: [ONNXTensor] = []
      for i in names.indices {
        inputs.append(try ONNXTensor(serialized: try read(data.appendingPathComponent("input_\(i).pb"))))
      }
      var options = ONNXImportOptions()
      for (i, n) in names.enumerated() where i > 0 { options.constantInputs[n] = inputs[i] }
      var (graph, info) = try importONNXWithInfo(
        bytes: modelBytes, fileName: dir.lastPathComponent, baseDirectory: dir.path, options: options)
      if let pipeline {
        var pm = try PassCatalog.pipeline(pipeline)
        pm.verifyEach = true
        try pm.run(&graph)
      }
      let text = Printer().print(graph)
      guard Printer().print(try Parser.parse(text)) == text else { return "the graph does not round-trip through the text form" }
      let interpreter = try Interpreter(graph)
      var feeds: [NDArray] = []
      for io in info.inputs {
        guard let k = names.firstIndex(of: io.onnxName) else { return "unknown input \(io.onnxName)" }
        feeds.append(try io.prepare(try inputs[k].ndarray()))
      }
      let outs = try interpreter.run(feeds)
      for (j, (io, out)) in zip(info.outputs, outs).enumerated() {
        let want = try ONNXTensor(serialized: try read(data.appendingPathComponent("output_\(j).pb")))
        let got = io.restore(out)
        guard got.shape == want.shape else { return "output \(j): shape \(got.shape), expected \(want.shape)" }
        let g = values(got)
        let w = want.doubles
        guard g.count == w.count else { return "output \(j): \(g.count) values, expected \(w.count)" }
        for (i, (x, y)) in zip(g, w).enumerated() {
          let ok =
            want.dataType.isFloat ? (x.isNaN && y.isNaN) || abs(x - y) <= 1e-4 * max(1, abs(y)) || x == y : x == y
          if !ok { return "output \(j)[\(i)]: \(x), expected \(y)" }
        }
      }
      return nil
    } catch {
      return "\(error)"
    }
  }
}

@Suite struct ConformanceTests {
  @Test func onnxNodeTests() throws {
    guard let dir = NodeTests.directory else {
      print("ONNX node tests skipped: onnx is not installed (pip install onnx==1.22.0) and ONNX_NODE_TESTS is unset")
      return
    }
    let all = NodeTests.lines(NodeTests.listFile)
    #expect(!all.isEmpty)
    var passing: [String] = []
    var failing: [(String, String)] = []
    for name in all {
      let d = dir.appendingPathComponent(name)
      guard FileManager.default.fileExists(atPath: d.appendingPathComponent("model.onnx").path) else { continue }
      if let reason = NodeTests.run(d) { failing.append((name, reason)) } else { passing.append(name) }
    }
    let expected = Set(NodeTests.lines(NodeTests.passingFile))
    print("ONNX node tests: \(passing.count) of \(all.count) pass")
    for (n, r) in failing { print("  FAIL \(n): \(r)") }
    for n in passing where !expected.contains(n) { print("  newly passing: \(n)") }
    for (n, r) in failing where expected.contains(n) {
      Issue.record("\(n) is in passing_node_tests.txt but fails: \(r)")
    }
    // The graph-cleaning passes keep every value: each passing test still passes after them.
    let pipeline = "fold-constants,cancel-transposes,fold-batchnorm,fuse-activations,eliminate-dead-code"
    for name in passing {
      if let reason = NodeTests.run(dir.appendingPathComponent(name), pipeline: pipeline) {
        Issue.record("\(name) fails after \(pipeline): \(reason)")
      }
    }
    if ProcessInfo.processInfo.environment["ONNX_UPDATE_PASSING"] == "1" {
      try (passing.joined(separator: "\n") + "\n").write(to: NodeTests.passingFile, atomically: true, encoding: .utf8)
    }
  }
}
