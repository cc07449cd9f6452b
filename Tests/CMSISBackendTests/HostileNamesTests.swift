import Foundation
import Testing
import TinyC
import TinyIR
import TinyPasses

@testable import CMSISBackend

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Names reach the C only escaped in comments and reduced in identifiers.
@Suite struct HostileNamesCTests {
  static let hostile: [String] = [
    "*/ return 42; /*", "a.b", "a_b", "a-b", "mult1", "arena", "invoke", "x//y", "??/", "back\\\nslash",
    "nul\u{0}", "\u{1b}[2J", "é\u{202e}", "/", "*", "", "9lives", String(repeating: "n", count: 100_000),
  ]

  @Test func commentsHoldNoCommentMarkersTrigraphsOrControls() {
    var rng = SystemRandomNumberGenerator()
    let alphabet: [Unicode.Scalar] = ["*", "/", "\\", "?", "\n", "\r", "\0", "\u{1b}", "a", " ", "é", "\u{7f}", "\u{9b}"]
    var samples = Self.hostile
    for _ in 0..<2000 {
      var s = ""
      for _ in 0..<Int.random(in: 0..<12, using: &rng) {
        s.unicodeScalars.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)])
      }
      samples.append(s)
    }
    for s in samples {
      // As the emitter frames it: between "/* " or "%" and " */".
      for framed in ["/* " + CSource.comment(s) + " */", "/* %" + CSource.comment(s) + ": */"] {
        let inner = framed.dropFirst(2).dropLast(2)
        #expect(!inner.contains("*/") && !inner.contains("/*") && !inner.contains("//") && !inner.contains("??"), "\(s)")
        #expect(!inner.contains("\\\n") && inner.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }, "\(s)")
      }
    }
    #expect(CSource.comment("model/conv2d/Relu") == "model/conv2d/Relu")
    #expect(CSource.comment(String(repeating: "n", count: 100_000)).count < 200)
  }

  @Test func identifiersAreReducedUniqueAndDeterministic() {
    var a = CSource.Identifiers()
    let first = Self.hostile.map { a.make($0) }
    var b = CSource.Identifiers()
    #expect(Self.hostile.map { b.make($0) } == first)
    #expect(Set(first).count == first.count)
    for id in first {
      #expect(id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 })
      #expect(!(id.first?.isNumber ?? true) && id.count <= 56)
    }
  }

  /// Every value and location of a real model renamed (including names that reduce to the same
  /// identifier and names of the emitter's own tables): the C computes what the plain one does.
  @Test(.enabled(if: CRunner.missingTools(for: .c) == nil)) func renamedModelComputesTheSameOutputs() throws {
    let plain = try Models.load(path: Paths.examples + "/ds_cnn_s.tflite")
    var g = plain
    for i in g.values.indices { g.values[i].name = Self.hostile[i % Self.hostile.count] + (i < Self.hostile.count ? "" : "\(i)") }
    for i in g.ops.indices { g.ops[i].location.name = Self.hostile[(i + 3) % Self.hostile.count] }
    g.name = "*/ #error no /*"
    let input = try Npy.read(path: Paths.examples + "/golden/ds_cnn_s.input0.npy")
    let dir = Paths.temporary("hostile")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var options = Compiler.Options()
    options.name = "m"
    let want = try CRunner.run(plain, inputs: [input], backend: .c, options: options, workDirectory: dir + "/plain")
    let got = try CRunner.run(g, inputs: [input], backend: .c, options: options, workDirectory: dir + "/hostile")
    #expect(got.outputs == want.outputs)
    let symbols = CEmitter(name: "m", target: .cortexM4).constantSymbols(g)
    #expect(Set(symbols.values).count == symbols.count)
  }

  /// memory.svg stays well-formed XML and report.json valid JSON whatever the names hold.
  @Test func reportsEscapeNames() throws {
    var g = try Models.load(path: Paths.examples + "/ds_cnn_s.tflite")
    let names = Self.hostile + ["<svg onload=x> & '\"", "\u{fffe}\u{ffff}\u{85}"]
    for i in g.values.indices { g.values[i].name = names[i % names.count] + "\(i)" }
    for i in g.ops.indices { g.ops[i].location.name = names[(i + 1) % names.count] }
    g.name = names.last ?? ""
    let plan = try planMemory(g, strategy: .best, scratch: { _, _ in 0 })
    let svg = MemoryReport.svg(plan, graph: g)
    let parser = XMLParser(data: Data(svg.utf8))
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    #expect(!svg.contains("<svg onload"))
    let json = MemoryReport.json(plan, graph: g)
    #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(json.utf8)) }
  }
}
