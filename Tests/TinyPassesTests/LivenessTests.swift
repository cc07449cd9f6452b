import Testing
import TinyIR
import TinyPasses

@Suite struct LivenessTests {
  /// Steps: 0 relu, 1 reshape (a view of %a), 2 fully_connected, 3 relu. %r is a graph output,
  /// so %a (its storage) lives to the end although %a itself is last read at step 2.
  static let aliasing = """
    graph @alias(%in: 1x16xi8 q(1.0, 0)) -> (4x4xi8 q(1.0, 0), 1x8xi8 q(1.0, 0)) {
      %w = const 8x16xi8 q(1.0, 0) dense<\(String(repeating: "00", count: 128))>
      %a = relu(%in) : 1x16xi8 q(1.0, 0) loc(test:op 0)
      %r = reshape(%a) {shape [4, 4]} : 4x4xi8 q(1.0, 0) loc(test:op 1)
      %f = fully_connected(%a, %w) : 1x8xi8 q(1.0, 0) loc(test:op 2)
      %g = relu(%f) : 1x8xi8 q(1.0, 0) loc(test:op 3)
      return %r, %g
    }
    """

  static func id(_ g: Graph, _ name: String) -> ValueID {
    ValueID(g.values.firstIndex { $0.name == name } ?? -1)
  }

  @Test func lifetimesAndAliases() throws {
    let g = try Parser.parse(Self.aliasing)
    try Verifier.verify(g)
    let l = try Liveness(g)
    let (inp, a, r, f, gg, w) = (
      Self.id(g, "in"), Self.id(g, "a"), Self.id(g, "r"), Self.id(g, "f"), Self.id(g, "g"), Self.id(g, "w")
    )
    #expect(l.roots == [inp, a, f, gg])
    #expect(l.root[r] == a)
    #expect(l.root[w] == nil)
    #expect(l.lifetime[inp] == Lifetime(first: 0, last: 0))
    #expect(l.lifetime[a] == Lifetime(first: 0, last: 3))
    #expect(l.ownLifetime[a] == Lifetime(first: 0, last: 2))
    #expect(l.ownLifetime[r] == Lifetime(first: 1, last: 3))
    #expect(l.lifetime[f] == Lifetime(first: 2, last: 3))
    #expect(l.lifetime[gg] == Lifetime(first: 3, last: 3))
    #expect(l.liveBytes == [32, 16, 24, 32])
    #expect(l.lowerBound == 32)
    #expect(l.outputRoots == [a, gg])
  }

  @Test func subByteSizesArePacked() throws {
    let g = try Parser.parse(
      """
      graph @packed(%in: 1x9xi8 q(1.0, 0)) -> (1x9xi8 q(1.0, 0)) {
        %q4 = quantize(%in) : 1x9xi4 q(1.0, 0) loc(test:op 0)
        %q2 = quantize(%q4) : 1x9xi2 q(1.0, 0) loc(test:op 1)
        %o = quantize(%q2) : 1x9xi8 q(1.0, 0) loc(test:op 2)
        return %o
      }
      """)
    try Verifier.verify(g)
    let l = try Liveness(g)
    // 9 int4 values take 5 bytes, 9 int2 values 3 bytes.
    #expect(l.liveBytes == [9 + 5, 5 + 3, 3 + 9])
  }

  @Test func viewOfConstantIsNotAnActivation() throws {
    let g = try Parser.parse(
      """
      graph @cv(%in: 1x4xi8 q(1.0, 0)) -> (1x4xi8 q(1.0, 0)) {
        %c = const 4xi8 q(1.0, 0) dense<01020304>
        %v = reshape(%c) {shape [1, 4]} : 1x4xi8 q(1.0, 0) loc(test:op 0)
        %s = add(%in, %v) : 1x4xi8 q(1.0, 0) loc(test:op 1)
        return %s
      }
      """)
    try Verifier.verify(g)
    let l = try Liveness(g)
    #expect(l.root[Self.id(g, "v")] == nil)
    #expect(l.liveBytes == [4, 8])
    let plan = try planMemory(g, strategy: .best)
    #expect(plan.tensor(Self.id(g, "v")) == nil)
    #expect(MemoryPlanChecker.problems(g, plan).isEmpty)
  }

  @Test func orderThatReadsBeforeDefiningIsRejected() throws {
    let g = try Parser.parse(Self.aliasing)
    #expect(throws: PassError.self) { try Liveness(g, order: [1, 0, 2, 3]) }
    #expect(throws: PassError.self) { try Liveness(g, order: [0, 1, 2]) }
    #expect(throws: PassError.self) { try Liveness(g, order: [0, 0, 2, 3]) }
  }
}
