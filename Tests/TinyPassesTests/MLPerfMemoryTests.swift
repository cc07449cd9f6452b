import Foundation
import TFLiteFrontend
import Testing
import TinyIR
import TinyPasses

/// The four MLPerf Tiny reference models (read from `<repo>/../shared/models`, skipped when
/// absent). Expected figures are those of the models' README, measured with TFLite Micro:
/// the activation lower bound (largest sum of tensors live at one op, model order, no
/// in-place reuse) and the activation plan of TFLM's GreedyMemoryPlanner.
@Suite struct MLPerfMemoryTests {
  static let models: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/models/tflite")
  static var available: Bool { FileManager.default.fileExists(atPath: models.path) }

  struct Figures: Sendable, CustomStringConvertible {
    var stem: String
    var lowerBound: Int
    var tflmPlan: Int
    var description: String { stem }
  }

  static let figures = [
    Figures(stem: "kws_ref_model", lowerBound: 16_000, tflmPlan: 16_000),
    Figures(stem: "vww_96_int8", lowerBound: 55_296, tflmPlan: 73_728),
    Figures(stem: "pretrainedResnet_quant", lowerBound: 49_152, tflmPlan: 49_152),
    Figures(stem: "ad01_int8", lowerBound: 768, tflmPlan: 768),
  ]

  static func load(_ stem: String) throws -> Graph {
    try importTFLite(path: models.appendingPathComponent(stem + ".tflite").path)
  }

  @Test(.enabled(if: available, "needs ../shared/models"), arguments: figures)
  func planMatchesTFLiteMicroAndTheBound(_ f: Figures) throws {
    let g = try Self.load(f.stem)
    #expect(try Liveness(g).lowerBound == f.lowerBound)

    let greedy = try planMemory(g, strategy: .greedySize)
    #expect(greedy.arenaBytes == f.tflmPlan)
    #expect(greedy.lowerBound == f.lowerBound)
    #expect(MemoryPlanChecker.problems(g, greedy) == [])

    let best = try planMemory(g, strategy: .best)
    #expect(best.arenaBytes == f.lowerBound)
    #expect(MemoryPlanChecker.problems(g, best) == [])

    // The same with scratch buffers of a plausible size (a conv's im2col columns): still sound.
    let scratch: (Int, Op) -> Int = { _, op in
      if case .conv2d = op.kind { return 2 * 3 * 3 * 64 }
      return 0
    }
    let withScratch = try planMemory(g, strategy: .best, scratch: scratch)
    #expect(MemoryPlanChecker.problems(g, withScratch, scratch: scratch) == [])
    #expect(withScratch.arenaBytes <= (try planMemory(g, strategy: .greedySize, scratch: scratch)).arenaBytes)
  }

  /// Writes vww's report and picture under the system temporary directory, for a look.
  @Test(.enabled(if: available, "needs ../shared/models"))
  func vwwReport() throws {
    let g = try Self.load("vww_96_int8")
    let plan = try planMemory(g, strategy: .best)
    let svg = MemoryReport.svg(plan, graph: g)
    let json = MemoryReport.json(plan, graph: g)
    #expect(svg.contains("vww_96_int8: activation memory plan"))
    #expect(svg.contains("arena = lower bound = 55,296 B (54 KB)"))
    #expect(json.contains("\"arena_bytes\": 55296"))
    #expect(json.contains("\"activation_lower_bound_bytes\": 55296"))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-memory")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try svg.write(to: dir.appendingPathComponent("vww_96_int8.memory.svg"), atomically: true, encoding: .utf8)
    try json.write(to: dir.appendingPathComponent("vww_96_int8.report.json"), atomically: true, encoding: .utf8)
    let greedy = try planMemory(g, strategy: .greedySize)
    try MemoryReport.svg(greedy, graph: g).write(
      to: dir.appendingPathComponent("vww_96_int8.greedy-size.memory.svg"), atomically: true, encoding: .utf8)
  }
}
