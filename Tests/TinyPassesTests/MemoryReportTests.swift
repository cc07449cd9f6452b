import Foundation
import Testing
import TinyIR

@testable import TinyPasses

#if canImport(FoundationXML)
  import FoundationXML
#endif

@Suite struct MemoryReportTests {
  @Test func jsonCarriesTheFigures() throws {
    let g = try Parser.parse(PlanMemoryTests.chain)
    let plan = try planMemory(g, strategy: .best, scratch: { i, _ in i == 2 ? 48 : 0 })
    let text = MemoryReport.json(plan, graph: g)
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    let json = try #require(object as? [String: Any])
    #expect(json["model"] as? String == "chain")
    #expect(json["strategy"] as? String == "best")
    #expect(json["arena_bytes"] as? Int == plan.arenaBytes)
    #expect(json["activation_lower_bound_bytes"] as? Int == 192)
    #expect(json["scratch_bytes"] as? Int == 48)
    #expect(json["constant_bytes"] as? Int == 0)
    let ops = try #require(json["ops"] as? [[String: Any]])
    #expect(ops.map { $0["kind"] as? String } == ["relu", "clip", "quantize", "quantize"])
    #expect(ops.map { $0["live_bytes"] as? Int } == plan.liveBytes)
    #expect(ops[0]["location"] as? String == "test:op 0")
    let tensors = try #require(json["tensors"] as? [[String: Any]])
    #expect(Set(tensors.compactMap { $0["name"] as? String }) == ["in", "a", "b", "c", "d"])
    let b = try #require(tensors.first { $0["name"] as? String == "b" })
    #expect(b["in_place_of"] as? String == "a")
    #expect(b["first"] as? Int == 1 && b["last"] as? Int == 2 && b["size"] as? Int == 64)
    // Deterministic: the same plan prints the same bytes.
    #expect(MemoryReport.json(plan, graph: g) == text)
  }

  @Test func svgDrawsEveryTensorAndScratch() throws {
    let g = try Parser.parse(LivenessTests.aliasing)
    let plan = try planMemory(g, strategy: .best, scratch: { i, _ in i == 2 ? 32 : 0 })
    let svg = MemoryReport.svg(plan, graph: g)
    #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
    #expect(svg.hasSuffix("</svg>\n"))
    // One tooltip group per root tensor (%in, %a, %f, %g; %r is a view of %a) and per scratch.
    #expect(svg.components(separatedBy: "<title>").count - 1 == 4 + 1)
    #expect(svg.contains("alias: activation memory plan"))
    #expect(svg.contains("peak: op"))
    #expect(svg.contains("url(#hatch)"))
    // Well-formed XML.
    let parser = XMLParser(data: Data(svg.utf8))
    #expect(parser.parse())
  }

  @Test func shortNamesAndTicks() {
    #expect(MemoryReport.shortName("model/activation_2/Relu;model/batch_normalization_2/x") == "activation_2/Relu")
    #expect(MemoryReport.shortName("t58") == "t58")
    #expect(MemoryReport.tickStep(55_296) == 8192)
    #expect(MemoryReport.tickStep(768) == 128)
    #expect(MemoryReport.bytes(55_296) == "55,296 B (54 KB)")
    #expect(MemoryReport.bytes(768) == "768 B")
  }
}
