import Foundation
import Testing

@testable import TinyIR

/// The text form prints any name a graph holds (value, graph and location names: quotes,
/// backslashes, newlines, NUL, ANSI escapes, non-ASCII, 100 KB) as plain ASCII and parses
/// it back equal.
@Suite struct HostileNameTextTests {
  static let names: [String] = [
    "*/ system(\"x\"); /*", "x */ return 42; /*", "quote\" back\\slash\\", "line\\\nnext\r\n", "nul\u{0}byte",
    "\u{1b}[31mred\u{1b}[0m\u{1b}]0;t\u{7}", "c1 \u{9b} del \u{7f}", "bidi \u{202e} é 日本 \u{fffd}", "",
    String(repeating: "L", count: 100_000), "plain_word.1", "%@(){}:,=", "\\u{41}",
  ]

  static func graph(_ names: [String]) -> Graph {
    var g = Graph(name: names[0])
    let t = TensorType([1, 4], .f32)
    var v = g.addInput(name: names[1], type: t)
    for (k, n) in names.enumerated() {
      v =
        g.addOp(
          .relu, inputs: [v], results: [(name: n + "#\(k)", type: t)],
          location: Location(source: names[(k + 3) % names.count], index: k, name: n))[0]
    }
    g.outputs = [v]
    return g
  }

  @Test func anyNamePrintsAsASCIIAndParsesBackEqual() throws {
    let g = Self.graph(Self.names)
    let text = Printer().print(g)
    #expect(text.utf8.allSatisfy { $0 == 10 || ($0 >= 0x20 && $0 < 0x7f) })
    #expect(text.split(separator: "\n").count == g.ops.count + 3)
    let back = try Parser.parse(text)
    #expect(back == g)
  }

  @Test func plainNamesStayUnquoted() throws {
    let text = Printer().print(Self.graph(["g", "in", "a.b", "c-d", "e+f", "x"]))
    #expect(text.hasPrefix("graph @g(%in: 1x4xf32)"))
    #expect(text.contains("= relu(%\"in#1\") : 1x4xf32 loc(x:op 2 \"a.b\")"), "\(text)")
    #expect(text.contains("loc(e+f:op 1 \"in\")") && text.contains("loc(a.b:op 5 \"x\")"))
  }

  @Test(arguments: ["\"\\q\"", "\"\\u{110000}\"", "\"\\u{zz}\"", "\"\\u{41\""])
  func badEscapesAreErrors(_ literal: String) {
    #expect(throws: IRError.self) { try Parser.parse("graph @\(literal)() -> () {\n  return\n}\n") }
  }
}
