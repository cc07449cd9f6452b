import TinyIR

/// A small deterministic generator (SplitMix64), so random tests are the same on every run.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}

/// Random valid graphs for planner tests.
enum RandomGraph {
  static func make(_ rng: inout SplitMix64, name: String, ops: Int) -> Graph {
    var g = Graph(name: name)
    let q = Quantization(scale: 1, zeroPoint: 0)
    func t(_ shape: [Int], _ e: ElementType = .i8) -> TensorType { TensorType(shape, e, q) }
    var acts: [ValueID] = []
    for i in 0..<(1 + rng.below(2)) { acts.append(g.addInput(name: "in\(i)", type: t([1, 1 + rng.below(200)]))) }
    var consts = 0
    func const(_ shape: [Int]) -> ValueID {
      consts += 1
      let ty = t(shape)
      return g.addConstant(name: "w\(consts)", type: ty, bytes: Array(repeating: 0, count: ty.byteCount))
    }
    for k in 0..<ops {
      // Prefer recent values so that graphs are deep, but reach back sometimes (branches).
      let pickIndex = rng.below(3) == 0 ? rng.below(acts.count) : max(acts.count - 1 - rng.below(3), 0)
      let x = acts[pickIndex]
      let tx = g.type(of: x)
      let loc = Location(source: "rand", index: k)
      var result: [ValueID] = []
      switch rng.below(8) {
      case 0, 1:
        let n = tx.elementCount
        let out = 1 + rng.below(256)
        let w = const([out, n])
        result = g.addOp(.fullyConnected(.none, keepNumDims: false), inputs: [x, w], results: [("v\(k)", t([1, out]))], location: loc)
      case 2:
        result = g.addOp(.relu, inputs: [x], results: [("v\(k)", tx)], location: loc)
      case 3:
        let same = acts.filter { g.type(of: $0).shape == tx.shape && g.type(of: $0).elementType == tx.elementType }
        let y = same[rng.below(same.count)]
        result = g.addOp(.add(.none), inputs: [x, y], results: [("v\(k)", tx)], location: loc)
      case 4:
        let rank2 = acts.filter { g.type(of: $0).rank == 2 && g.type(of: $0).shape[0] == 1 && g.type(of: $0).elementType == .i8 }
        guard rank2.count >= 1 else { fallthrough }
        let a = rank2[rng.below(rank2.count)]
        let b = rank2[rng.below(rank2.count)]
        let width = g.type(of: a).shape[1] + g.type(of: b).shape[1]
        result = g.addOp(.concat(axis: 1, .none), inputs: [a, b], results: [("v\(k)", t([1, width]))], location: loc)
      case 5:
        let shape = tx.rank == 2 ? [tx.elementCount] : [1, tx.elementCount]
        result = g.addOp(.reshape(shape: shape), inputs: [x], results: [("v\(k)", tx.with(shape: shape))], location: loc)
      case 6:
        let e: ElementType = tx.elementType == .i8 ? .i16 : .i8
        result = g.addOp(.quantize, inputs: [x], results: [("v\(k)", t(tx.shape, e))], location: loc)
      default:
        result = g.addOp(.clip(min: 0, max: 6), inputs: [x], results: [("v\(k)", tx)], location: loc)
      }
      acts += result
    }
    g.outputs = [acts[acts.count - 1]]
    if rng.below(3) == 0, acts.count > 3 {
      let extra = acts[rng.below(acts.count - 1)]
      if !g.inputs.contains(extra) { g.outputs.append(extra) }
    }
    return g
  }
}
