import Foundation
import Testing
import TinyIR
import TinyPasses

@Suite struct PlanMemoryTests {
  static func id(_ g: Graph, _ name: String) -> ValueID { LivenessTests.id(g, name) }

  static let chain = """
    graph @chain(%in: 1x64xi8 q(1.0, 0)) -> (1x64xi8 q(1.0, 0)) {
      %a = relu(%in) : 1x64xi8 q(1.0, 0) loc(test:op 0)
      %b = clip(%a) {min 0.0, max 6.0} : 1x64xi8 q(1.0, 0) loc(test:op 1)
      %c = quantize(%b) : 1x64xi16 q(1.0, 0) loc(test:op 2)
      %d = quantize(%c) : 1x64xi8 q(1.0, 0) loc(test:op 3)
      return %d
    }
    """

  @Test func elementwiseChainRunsInPlace() throws {
    let g = try Parser.parse(Self.chain)
    try Verifier.verify(g)
    let plan = try planMemory(g, strategy: .best)
    #expect(MemoryPlanChecker.problems(g, plan) == [])
    // relu and clip overwrite their operands; i8 → i16 widens, so it cannot; i16 → i8 can.
    #expect(plan.tensor(Self.id(g, "a"))?.inPlaceOf == Self.id(g, "in").index)
    #expect(plan.tensor(Self.id(g, "b"))?.inPlaceOf == Self.id(g, "a").index)
    #expect(plan.tensor(Self.id(g, "c"))?.inPlaceOf == nil)
    #expect(plan.tensor(Self.id(g, "d"))?.inPlaceOf == Self.id(g, "c").index)
    #expect(plan.offset(of: Self.id(g, "in")) == plan.offset(of: Self.id(g, "b")))
    #expect(plan.arenaBytes == 64 + 128)
    #expect(plan.lowerBound == 64 + 128)

    let noInPlace = try planMemory(g, strategy: .best, inPlace: false)
    #expect(MemoryPlanChecker.problems(g, noInPlace) == [])
    #expect(noInPlace.tensors.allSatisfy { $0.inPlaceOf == nil })
    #expect(noInPlace.arenaBytes == 64 + 128)
  }

  @Test func inPlaceSavesMemoryWhereTheBoundCannot() throws {
    let g = try Parser.parse(
      """
      graph @relus(%in: 1x64xi8 q(1.0, 0)) -> (1x64xi8 q(1.0, 0)) {
        %a = relu(%in) : 1x64xi8 q(1.0, 0) loc(test:op 0)
        %b = relu(%a) : 1x64xi8 q(1.0, 0) loc(test:op 1)
        return %b
      }
      """)
    let plan = try planMemory(g, strategy: .best)
    #expect(plan.arenaBytes == 64)
    #expect(plan.lowerBound == 128)
    #expect(MemoryPlanChecker.problems(g, plan) == [])
    // greedy-size is TFLite Micro's planner, which has no in-place reuse.
    let greedy = try planMemory(g, strategy: .greedySize)
    #expect(greedy.arenaBytes == 128)
    #expect(greedy.tensors.allSatisfy { $0.inPlaceOf == nil })
  }

  @Test func operandReadLaterIsNotOverwritten() throws {
    let g = try Parser.parse(
      """
      graph @keep(%in: 1x32xi8 q(1.0, 0)) -> (1x32xi8 q(1.0, 0)) {
        %a = relu(%in) : 1x32xi8 q(1.0, 0) loc(test:op 0)
        %s = add(%a, %in) : 1x32xi8 q(1.0, 0) loc(test:op 1)
        return %s
      }
      """)
    let plan = try planMemory(g, strategy: .best)
    #expect(MemoryPlanChecker.problems(g, plan) == [])
    #expect(plan.tensor(Self.id(g, "a"))?.inPlaceOf == nil)
    #expect(plan.tensor(Self.id(g, "s"))?.inPlaceOf != nil)
    #expect(plan.arenaBytes == 64)
  }

  @Test func broadcastOperandAndSubByteAreNotOverwritten() throws {
    let g = try Parser.parse(
      """
      graph @bc(%x: 1x1xi8 q(1.0, 0), %y: 1x32xi8 q(1.0, 0)) -> (1x32xi8 q(1.0, 0), 1x32xi4 q(1.0, 0)) {
        %s = add(%x, %y) : 1x32xi8 q(1.0, 0) loc(test:op 0)
        %q = quantize(%s) : 1x32xi4 q(1.0, 0) loc(test:op 1)
        %r = relu(%q) : 1x32xi4 q(1.0, 0) loc(test:op 2)
        %t = quantize(%r) : 1x32xi8 q(1.0, 0) loc(test:op 3)
        return %t, %r
      }
      """)
    try Verifier.verify(g)
    let plan = try planMemory(g, strategy: .best)
    #expect(MemoryPlanChecker.problems(g, plan) == [])
    // %s may take %y's place (same shape and type), never the broadcast %x's.
    #expect(plan.tensor(Self.id(g, "s"))?.inPlaceOf == Self.id(g, "y").index)
    #expect(plan.tensor(Self.id(g, "r"))?.inPlaceOf == nil)
    #expect(plan.tensor(Self.id(g, "t"))?.inPlaceOf == nil)
  }

  @Test func checkerCatchesOverlaps() throws {
    let g = try Parser.parse(Self.chain)
    let good = try planMemory(g, strategy: .best, inPlace: false)
    #expect(MemoryPlanChecker.problems(g, good) == [])
    // Move %c onto %b, which is still being read when %c is written (not an allowed pair).
    var bad = good
    if let i = bad.tensors.firstIndex(where: { $0.name == "c" }), let b = good.tensor(Self.id(g, "b")) {
      bad.tensors[i].offset = b.offset
    }
    #expect(!MemoryPlanChecker.problems(g, bad).isEmpty)
    // A wrong arena size is caught too.
    var small = good
    small.arenaBytes -= 1
    #expect(!MemoryPlanChecker.problems(g, small).isEmpty)
    // So is scratch on top of a live tensor.
    let withScratch = try planMemory(g, strategy: .best, scratch: { i, _ in i == 2 ? 40 : 0 })
    #expect(MemoryPlanChecker.problems(g, withScratch, scratch: { i, _ in i == 2 ? 40 : 0 }) == [])
    var clash = withScratch
    if let c = withScratch.tensor(Self.id(g, "c")) { clash.scratch[2].offset = c.offset }
    #expect(!MemoryPlanChecker.problems(g, clash, scratch: { i, _ in i == 2 ? 40 : 0 }).isEmpty)
  }

  @Test func scratchBuffersArePlannedInTheArena() throws {
    let g = try Parser.parse(Self.chain)
    let scratch: (Int, Op) -> Int = { i, _ in [100, 0, 300, 20][i] }
    for s in MemoryStrategy.allCases {
      let plan = try planMemory(g, strategy: s, scratch: scratch)
      #expect(MemoryPlanChecker.problems(g, plan, scratch: scratch) == [])
      #expect(plan.scratch.map(\.size) == [100, 0, 300, 20])
      #expect(plan.scratchBytes == 300)
      // At step 2 %b (64 B, dies there) and %c (128 B) live beside the 300-byte scratch.
      #expect(plan.arenaBytes >= 64 + 128 + 300)
    }
  }

  /// Two branches joined at the end: running one branch to its end before starting the other
  /// keeps only the branch's small result alive instead of its large temporary.
  static let branches = """
    graph @branches(%in: 1x16xi8 q(1.0, 0)) -> (1x20xi8 q(1.0, 0)) {
      %w1 = const 1000x16xi8 q(1.0, 0) dense<\(String(repeating: "00", count: 16000))>
      %w2 = const 10x1000xi8 q(1.0, 0) dense<\(String(repeating: "00", count: 10000))>
      %w3 = const 500x16xi8 q(1.0, 0) dense<\(String(repeating: "00", count: 8000))>
      %w4 = const 10x500xi8 q(1.0, 0) dense<\(String(repeating: "00", count: 5000))>
      %a1 = fully_connected(%in, %w1) : 1x1000xi8 q(1.0, 0) loc(test:op 0)
      %b1 = fully_connected(%in, %w3) : 1x500xi8 q(1.0, 0) loc(test:op 1)
      %a2 = fully_connected(%a1, %w2) : 1x10xi8 q(1.0, 0) loc(test:op 2)
      %b2 = fully_connected(%b1, %w4) : 1x10xi8 q(1.0, 0) loc(test:op 3)
      %c = concat(%a2, %b2) {axis 1} : 1x20xi8 q(1.0, 0) loc(test:op 4)
      return %c
    }
    """

  @Test func bestReordersBranches() throws {
    let g = try Parser.parse(Self.branches)
    try Verifier.verify(g)
    let model = try Liveness(g)
    #expect(model.lowerBound == 16 + 1000 + 500)
    let plan = try planMemory(g, strategy: .best)
    #expect(MemoryPlanChecker.problems(g, plan) == [])
    #expect(plan.modelOrderLowerBound == 1516)
    #expect(plan.lowerBound == 16 + 1000 + 10)
    #expect(plan.arenaBytes < 1100)
    #expect(plan.order == [0, 2, 1, 3, 4])
    // greedy-size keeps the model's order, as TFLite Micro does.
    let greedy = try planMemory(g, strategy: .greedySize)
    #expect(greedy.order == [0, 1, 2, 3, 4])
    #expect(greedy.arenaBytes >= 1516)
  }

  @Test func passReordersOpsAndVerifies() throws {
    var g = try Parser.parse(Self.branches)
    try PassManager(pipeline: "plan-memory{strategy=best}", passes: memoryPasses).run(&g)
    let names = g.ops.map { g[$0.outputs[0]].name }
    #expect(names == ["a1", "a2", "b1", "b2", "c"])
    // Planning the reordered graph again keeps its order.
    #expect(try planMemory(g, strategy: .best).order == [0, 1, 2, 3, 4])

    var h = try Parser.parse(Self.branches)
    try PassManager(pipeline: "plan-memory{strategy=greedy-size}", passes: memoryPasses).run(&h)
    #expect(h == (try Parser.parse(Self.branches)))
    #expect(throws: PassError.self) { try PassManager(pipeline: "plan-memory{strategy=smallest}", passes: memoryPasses).run(&h) }
    #expect(throws: PassError.self) { try PassManager(pipeline: "plan-memory{colour=red}", passes: memoryPasses).run(&h) }
  }

  @Test func planEncodesAsJSONAndBack() throws {
    let g = try Parser.parse(Self.chain)
    let plan = try planMemory(g, strategy: .best, scratch: { i, _ in i * 8 })
    let data = try JSONEncoder().encode(plan)
    #expect(try JSONDecoder().decode(MemoryPlan.self, from: data) == plan)
  }

  // MARK: random graphs

  /// Random DAGs (fixed seed): fully-connected layers of random widths, relus, adds of equal
  /// shapes, concats, reshapes, widening and narrowing quantizes, several outputs, random
  /// scratch sizes. Both strategies must give plans the checker accepts; `best` is never worse
  /// than `greedy-size`; without in-place reuse no plan beats the lower bound.
  @Test func randomGraphs() throws {
    var rng = SplitMix64(seed: 0x7131_7c)
    var checked = 0
    for n in 0..<300 {
      let g = RandomGraph.make(&rng, name: "r\(n)", ops: 4 + Int(rng.next() % 28))
      try Verifier.verify(g)
      let salt = rng.next()
      let scratch: (Int, Op) -> Int = { i, _ in
        let h = (UInt64(i) &+ salt) &* 0x9E37_79B9_7F4A_7C15
        return h % 3 == 0 ? Int(h >> 40 % 300) : 0
      }
      for inPlace in [true, false] {
        let greedy = try planMemory(g, strategy: .greedySize, scratch: scratch, inPlace: inPlace)
        let best = try planMemory(g, strategy: .best, scratch: scratch, inPlace: inPlace)
        let p1 = MemoryPlanChecker.problems(g, greedy, scratch: scratch)
        let p2 = MemoryPlanChecker.problems(g, best, scratch: scratch)
        #expect(p1 == [], "greedy-size on \(g)")
        #expect(p2 == [], "best on \(g)")
        #expect(best.arenaBytes <= greedy.arenaBytes)
        if !inPlace {
          #expect(greedy.arenaBytes >= greedy.lowerBound)
          #expect(best.arenaBytes >= best.lowerBound)
        }
        checked += 1
      }
    }
    #expect(checked == 600)
  }
}
