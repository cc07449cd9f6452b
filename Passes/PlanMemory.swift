import TinyIR

/// How `planMemory` gives offsets to buffers.
public enum MemoryStrategy: String, Sendable, Codable, CaseIterable {
  /// TensorFlow Lite Micro's `GreedyMemoryPlanner`, in the model's own op order: buffers sorted
  /// by size, largest first (equal sizes: the one added last first, as TFLM's stable sort of a
  /// reversed list does; TFLM adds tensors by index, i.e. definition order, then scratch
  /// buffers), each at the lowest offset that overlaps no already placed buffer whose lifetime
  /// intersects its own. Like TFLM it never writes a result in place (`inPlace` is ignored).
  /// Unlike TFLM (which copies a RESHAPE's data into a buffer of its own), views share their
  /// operand's storage here, as in every plan tinyc makes.
  case greedySize = "greedy-size"
  /// Several execution orders and placement orders (first use, size, lifetime, size × lifetime;
  /// first fit and best fit; with and without in-place reuse); the smallest arena wins.
  case best
}

/// Where every activation tensor and scratch buffer of a graph lives in one arena.
///
/// Offsets are byte offsets from the start of the arena. Steps are positions in `order`: step
/// `s` runs `graph.ops[order[s]]`, and a back-end must emit the ops in that order.
public struct MemoryPlan: Sendable, Codable, Equatable {
  /// One activation value in the arena.
  public struct Tensor: Sendable, Codable, Equatable {
    /// `ValueID.index` of the value.
    public var value: Int
    public var name: String
    public var offset: Int
    /// `TensorType.byteCount` (packed for sub-byte types).
    public var size: Int
    /// Steps at which the value is defined and last read (its own lifetime; for a root, also
    /// its aliases' uses).
    public var first: Int
    public var last: Int
    /// For a view (reshape result): the value whose storage it shares (`ValueID.index`).
    public var aliasOf: Int?
    /// For a result written in place: the operand (a root's `ValueID.index`) whose storage it
    /// reuses; that operand is last read by the op that defines this value.
    public var inPlaceOf: Int?
  }

  /// The scratch buffer of one step (size 0 when the op needs none).
  public struct Scratch: Sendable, Codable, Equatable {
    public var step: Int
    /// Index of the op in `Graph.ops`.
    public var op: Int
    public var offset: Int
    public var size: Int
  }

  public var strategy: MemoryStrategy
  /// Bytes the arena needs: the largest `offset + size` of any tensor or scratch buffer.
  public var arenaBytes: Int
  /// Op indices (into `Graph.ops` of the planned graph) in execution order.
  public var order: [Int]
  /// Every activation value (graph inputs, op results, views), by value index.
  public var tensors: [Tensor]
  /// One entry per step.
  public var scratch: [Scratch]
  /// Activation lower bound (no in-place reuse, no scratch) in the chosen execution order.
  public var lowerBound: Int
  /// The same bound in the graph's own op order.
  public var modelOrderLowerBound: Int
  /// Activation bytes live at each step (no in-place reuse, scratch not included).
  public var liveBytes: [Int]
  /// Every buffer's offset is a multiple of this, and buffers are padded to it.
  public var alignment: Int
  /// Which placement won (for reports): e.g. "first-use, first-fit, in-place".
  public var method: String

  /// The planned tensor of a value, nil for constants and values not in the graph.
  public func tensor(_ v: ValueID) -> Tensor? { tensors.first { $0.value == v.index } }
  /// The arena offset of a value, nil for constants.
  public func offset(of v: ValueID) -> Int? { tensor(v)?.offset }
  /// Largest scratch buffer of any step.
  public var scratchBytes: Int { scratch.map(\.size).max() ?? 0 }
  /// The arena's end without scratch buffers: what the activations alone occupy.
  public var activationArenaBytes: Int { tensors.map { $0.offset + $0.size }.max() ?? 0 }
  /// The step with the most live bytes, activations and scratch together.
  public var peakStep: Int {
    var best = 0
    for s in liveBytes.indices {
      let a = liveBytes[s] + (s < scratch.count ? scratch[s].size : 0)
      let b = liveBytes[best] + (best < scratch.count ? scratch[best].size : 0)
      if a > b { best = s }
    }
    return best
  }
}

/// Plans the arena of `g`: every activation tensor (graph inputs, op results; views share their
/// operand's storage) and every op's scratch buffer gets an offset, so that no two buffers
/// whose lifetimes intersect overlap.
///
/// - Parameters:
///   - scratch: scratch-buffer bytes of each op, given its index in `g.ops` (CMSIS-NN's
///     `*_get_buffer_size`). A scratch buffer lives only during its op.
///   - inPlace: allow an op's result to be written over an operand that dies at that op (see
///     `inPlaceOperand`). `best` also tries without and keeps whatever is smaller;
///     `greedySize` never does, as TFLite Micro.
///   - alignment: every offset is a multiple of it (16, as TFLite Micro; enough for any element
///     type and for CMSIS-NN's word accesses).
public func planMemory(
  _ g: Graph, strategy: MemoryStrategy, scratch: (Int, Op) -> Int = { _, _ in 0 }, inPlace: Bool = true,
  alignment: Int = 16
) throws(PassError) -> MemoryPlan {
  guard alignment > 0 else { throw PassError("plan-memory: alignment must be positive, got \(alignment)") }
  var scratchOfOp: [Int] = []
  for (i, op) in g.ops.enumerated() {
    let s = scratch(i, op)
    guard s >= 0 else { throw PassError("plan-memory: op \(i) (\(op.kind.mnemonic)) asks for \(s) scratch bytes") }
    scratchOfOp.append(s)
  }
  let modelOrder = try Liveness(g)
  switch strategy {
  case .greedySize:
    let builder = Planner(g, modelOrder, scratchOfOp, inPlace: false, alignment: alignment)
    let offsets = builder.place(builder.sortedBySize(), bestFit: false)
    return builder.plan(offsets, strategy: strategy, method: "size, first-fit", modelBound: modelOrder.lowerBound)
  case .best:
    var best: MemoryPlan?
    for order in executionOrders(g, modelOrder) {
      let live = try Liveness(g, order: order)
      for ip in inPlace ? [true, false] : [false] {
        let builder = Planner(g, live, scratchOfOp, inPlace: ip, alignment: alignment)
        if ip && builder.inPlaceOf.isEmpty { continue }  // the same buffers as without in-place
        var tried = Set<[Int]>()
        for (name, items) in builder.candidateOrders() where tried.insert(items).inserted {
          for bestFit in [false, true] {
            let offsets = builder.place(items, bestFit: bestFit)
            let arena = builder.arena(offsets)
            if let b = best, b.arenaBytes <= arena { continue }
            var method = "\(name), \(bestFit ? "best-fit" : "first-fit")"
            if !builder.inPlaceOf.isEmpty { method += ", in-place" }
            if order != modelOrder.order { method += ", reordered" }
            best = builder.plan(offsets, strategy: strategy, method: method, modelBound: modelOrder.lowerBound)
          }
        }
      }
    }
    guard let best else { throw PassError("plan-memory: no plan") }
    return best
  }
}

/// The operand an op may overwrite with its result, if any. Both cases are safe because the
/// kernels run over element index i upward and, for each i, read operand element i before they
/// write result element i; a result element never occupies bytes of an operand element with a
/// larger index that is still to be read:
/// - an element-wise unary op (`OpKind.isElementwiseUnary`: quantize, relu, clip, logistic, ...)
///   whose result element is no wider than its operand element (bytes of result i lie within
///   bytes 0..<(i+1)·width of the operand, which are all read by then);
/// - add, sub, mul, div when the operand has exactly the result's shape and element type (no
///   broadcasting on that operand, so element i of both share the same bytes); the other operand
///   may broadcast, it is a different buffer.
/// Sub-byte results are excluded, whatever the operand's width: a packed result byte holds
/// elements i…i+8/b−1 and is stored once they are all computed, and an operand element they
/// need may lie in a byte an earlier store overwrote when the widths differ (int2 result over
/// an int4 operand: result byte k covers operand bytes 2k, 2k+1) or, for a kernel reading a
/// window (conv, pool), whatever the widths. A sub-byte operand is never overwritten either:
/// both cases above require the operand at least as wide as a result of 8 bits or more.
/// Ops with several results never qualify.
/// The operand must also die at this op (checked by the planner), so nothing reads it later.
public func inPlaceOperand(of op: Op, in g: Graph) -> ValueID? {
  guard op.outputs.count == 1, let y = op.outputs.first, !op.kind.isView else { return nil }
  let ty = g.type(of: y)
  guard ty.elementType.bits >= 8 else { return nil }
  if op.kind.isElementwiseUnary {
    guard let x = op.inputs.first, !g.isConstant(x) else { return nil }
    let tx = g.type(of: x)
    guard tx.elementCount == ty.elementCount, tx.elementType.bits >= ty.elementType.bits else { return nil }
    return x
  }
  switch op.kind {
  case .add, .sub, .mul, .div:
    return op.inputs.first { x in
      let tx = g.type(of: x)
      return !g.isConstant(x) && tx.shape == ty.shape && tx.elementType == ty.elementType
    }
  default: return nil
  }
}

// MARK: - Execution orders

/// Candidate execution orders: the model's own, then (for graphs that branch) a few topological
/// orders built by heuristics that try to finish memory-heavy branches early. Bounded: at most
/// four orders, each computed in about O(ops² ) time.
func executionOrders(_ g: Graph, _ modelOrder: Liveness) -> [[Int]] {
  var orders = [modelOrder.order]
  guard g.ops.count > 2 else { return orders }
  for o in [dfsOrder(g, largerFirst: true), dfsOrder(g, largerFirst: false), memoryGreedyOrder(g)]
  where !orders.contains(o) {
    orders.append(o)
  }
  return orders
}

/// Post-order DFS from the graph outputs: before an op, run the producers of its operands, the
/// branch with the larger peak estimate first (or last), so that its big temporaries are gone
/// before the other branch's result has to be kept. Ops no output depends on come last.
private func dfsOrder(_ g: Graph, largerFirst: Bool) -> [Int] {
  let def = g.definingOps()
  var peak: [Int: Int] = [:]
  func estimate(_ i: Int) -> Int {
    if let p = peak[i] { return p }
    let op = g.ops[i]
    var here = 0
    for v in op.inputs + op.outputs where !g.isConstant(v) { here += g.type(of: v).byteCount }
    var p = here
    for v in op.inputs { if let d = def[v] { p = max(p, estimate(d)) } }
    peak[i] = p
    return p
  }
  var seen = Set<Int>()
  var order: [Int] = []
  func visit(_ i: Int) {
    guard seen.insert(i).inserted else { return }
    let producers = g.ops[i].inputs.compactMap { def[$0] }
    let sorted = producers.enumerated().sorted { a, b in
      let ea = estimate(a.element)
      let eb = estimate(b.element)
      if ea != eb { return largerFirst ? ea > eb : ea < eb }
      return a.offset < b.offset
    }
    for (_, p) in sorted { visit(p) }
    order.append(i)
  }
  for v in g.outputs { if let d = def[v] { visit(d) } }
  for i in g.ops.indices { visit(i) }
  return order
}

/// List scheduling: among the ops whose operands are ready, run the one that adds the fewest
/// bytes (result bytes minus the bytes of operands it reads last); ties go to model order.
private func memoryGreedyOrder(_ g: Graph) -> [Int] {
  var remainingUses: [ValueID: Int] = [:]
  for op in g.ops { for v in Set(op.inputs) { remainingUses[v, default: 0] += 1 } }
  let outputs = Set(g.outputs)
  var done = Set<Int>()
  var ready = Set<ValueID>(g.inputs)
  var order: [Int] = []
  while order.count < g.ops.count {
    var pick: (index: Int, delta: Int)?
    for (i, op) in g.ops.enumerated() where !done.contains(i) {
      guard op.inputs.allSatisfy({ ready.contains($0) || g.isConstant($0) }) else { continue }
      var delta = 0
      for o in op.outputs where !op.kind.isView { delta += g.type(of: o).byteCount }
      for v in Set(op.inputs) where !g.isConstant(v) && !outputs.contains(v) && remainingUses[v] == 1 {
        delta -= g.type(of: v).byteCount
      }
      if pick == nil || delta < (pick?.delta ?? 0) { pick = (i, delta) }
    }
    guard let p = pick else { break }
    done.insert(p.index)
    order.append(p.index)
    for v in Set(g.ops[p.index].inputs) { remainingUses[v, default: 1] -= 1 }
    for o in g.ops[p.index].outputs { ready.insert(o) }
  }
  if order.count < g.ops.count { return Array(g.ops.indices) }
  return order
}

// MARK: - Placement

/// Buffers to place, built from one liveness and one in-place choice.
private struct Planner {
  /// A buffer: one or more segments that all start at the buffer's offset (several when
  /// results are written in place over their operands).
  struct Item {
    private(set) var segments: [Lifetime]
    private(set) var sizes: [Int]
    /// Largest segment, earliest start and latest end over all segments.
    private(set) var size: Int
    private(set) var first: Int
    private(set) var last: Int

    init(_ life: Lifetime, size: Int) {
      segments = [life]
      sizes = [size]
      self.size = size
      first = life.first
      last = life.last
    }

    mutating func add(_ life: Lifetime, size s: Int) {
      segments.append(life)
      sizes.append(s)
      size = max(size, s)
      first = min(first, life.first)
      last = max(last, life.last)
    }
  }

  let g: Graph
  let live: Liveness
  let alignment: Int
  let scratchOfStep: [Int]
  /// Buffers, numbered as TFLM adds them: roots by definition, then scratch by step.
  var items: [Item] = []
  /// Item index of every root, and of every step's scratch buffer.
  var itemOfRoot: [ValueID: Int] = [:]
  var itemOfScratch: [Int: Int] = [:]
  /// Result root → operand root it is written over.
  var inPlaceOf: [ValueID: ValueID] = [:]

  init(_ g: Graph, _ live: Liveness, _ scratchOfOp: [Int], inPlace: Bool, alignment: Int) {
    self.g = g
    self.live = live
    self.alignment = alignment
    self.scratchOfStep = live.order.map { scratchOfOp[$0] }
    func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
    for r in live.roots {
      guard let l = live.lifetime[r], let s = live.size[r] else { continue }
      let step = l.first
      let definer = step < live.order.count && live.ownLifetime[r]?.first == step ? g.ops[live.order[step]] : nil
      if inPlace, let op = definer, op.outputs == [r], let x = inPlaceOperand(of: op, in: g),
        let xr = live.root[x], live.lifetime[xr]?.last == step, !live.outputRoots.contains(xr),
        let item = itemOfRoot[xr]
      {
        items[item].add(l, size: padded(s))
        itemOfRoot[r] = item
        inPlaceOf[r] = xr
        continue
      }
      itemOfRoot[r] = items.count
      items.append(Item(l, size: padded(s)))
    }
    for (step, s) in scratchOfStep.enumerated() where s > 0 {
      itemOfScratch[step] = items.count
      items.append(Item(Lifetime(first: step, last: step), size: padded(s)))
    }
  }

  /// TFLM's order: size descending; equal sizes, the later added first. Items are numbered in
  /// the order TFLM adds buffers: roots by definition (tensor index order in a TFLite file),
  /// then scratch buffers by step.
  func sortedBySize() -> [Int] {
    let sizes = items.map(\.size)
    return items.indices.sorted { a, b in sizes[a] != sizes[b] ? sizes[a] > sizes[b] : a > b }
  }

  func candidateOrders() -> [(String, [Int])] {
    let idx = Array(items.indices)
    func by(_ key: (Item) -> (Int, Int, Int)) -> [Int] {
      let keys = items.map(key)
      return idx.sorted { a, b in keys[a] != keys[b] ? keys[a] < keys[b] : a < b }
    }
    return [
      ("first-use", by { ($0.first, -$0.size, -$0.last) }),
      ("size", sortedBySize()),
      ("lifetime", by { (-($0.last - $0.first), -$0.size, $0.first) }),
      ("size×lifetime", by { (-$0.size * ($0.last - $0.first + 1), $0.first, 0) }),
      ("last-use", by { (-$0.last, -$0.size, 0) }),
    ]
  }

  /// Places items in the given order; each goes at the lowest (first fit) or the tightest
  /// (best fit) offset where none of its segments overlaps a placed segment whose lifetime
  /// intersects. Returns each item's offset.
  func place(_ sequence: [Int], bestFit: Bool) -> [Int] {
    var offsets = Array(repeating: 0, count: items.count)
    // Placed segments, as parallel arrays (this loop is the planner's hot spot).
    var pOffset: [Int] = []
    var pSize: [Int] = []
    var pFirst: [Int] = []
    var pLast: [Int] = []
    var forbidden: [Forbidden] = []
    for i in sequence {
      let item = items[i]
      // X is forbidden when lo < X < hi for one of these open intervals; `start` is where the
      // conflicting buffer begins.
      forbidden.removeAll(keepingCapacity: true)
      for k in item.segments.indices {
        let seg = item.segments[k]
        let size = item.sizes[k]
        for p in pOffset.indices where pFirst[p] <= seg.last && seg.first <= pLast[p] {
          forbidden.append(Forbidden(lo: pOffset[p] - size, hi: pOffset[p] + pSize[p], start: pOffset[p]))
        }
      }
      forbidden.sort { $0.lo < $1.lo }
      var x = Self.firstFit(forbidden, from: 0)
      if bestFit {
        // Among feasible offsets (0 and the ends of conflicting buffers), the one that leaves the
        // smallest gap below the next conflicting buffer above it.
        var bestGap = Int.max
        for k in -1..<forbidden.count {
          let c = k < 0 ? 0 : forbidden[k].hi
          guard c >= 0, Self.firstFit(forbidden, from: c) == c else { continue }
          var above = Int.max
          for f in forbidden where f.start >= c && f.start < above { above = f.start }
          let gap = above == Int.max ? Int.max - 1 : above - c - item.size
          if gap < bestGap || (gap == bestGap && c < x) {
            bestGap = gap
            x = c
          }
        }
      }
      offsets[i] = x
      for k in item.segments.indices {
        pOffset.append(x)
        pSize.append(item.sizes[k])
        pFirst.append(item.segments[k].first)
        pLast.append(item.segments[k].last)
      }
    }
    return offsets
  }

  struct Forbidden {
    var lo: Int
    var hi: Int
    var start: Int
  }

  /// The lowest X ≥ start outside every forbidden interval (sorted by `lo`). Intervals that
  /// begin below X push X to their end when X lies inside them, so X ends at or above the end
  /// of every interval visited; once one begins at or above X, so do all later ones, and none
  /// of them contains X. This is TFLite Micro's walk over the buffers sorted by offset.
  static func firstFit(_ forbidden: [Forbidden], from start: Int) -> Int {
    var x = start
    for f in forbidden {
      if f.lo >= x { break }
      if f.hi > x { x = f.hi }
    }
    return x
  }

  /// Arena bytes: the largest end of a tensor or scratch buffer, unpadded.
  func arena(_ offsets: [Int]) -> Int {
    var end = 0
    for r in live.roots {
      guard let i = itemOfRoot[r], let s = live.size[r] else { continue }
      end = max(end, offsets[i] + s)
    }
    for (step, i) in itemOfScratch { end = max(end, offsets[i] + scratchOfStep[step]) }
    return end
  }

  func plan(_ offsets: [Int], strategy: MemoryStrategy, method: String, modelBound: Int) -> MemoryPlan {
    var tensors: [MemoryPlan.Tensor] = []
    for (v, r) in live.root.sorted(by: { $0.key < $1.key }) {
      guard let item = itemOfRoot[r], let own = live.ownLifetime[v] else { continue }
      let l = v == r ? (live.lifetime[r] ?? own) : own
      tensors.append(
        MemoryPlan.Tensor(
          value: v.index, name: g[v].name, offset: offsets[item], size: g.type(of: v).byteCount, first: l.first,
          last: l.last, aliasOf: v == r ? nil : r.index, inPlaceOf: v == r ? inPlaceOf[r]?.index : nil))
    }
    let scratch = scratchOfStep.enumerated().map { step, size in
      MemoryPlan.Scratch(
        step: step, op: live.order[step], offset: itemOfScratch[step].map { offsets[$0] } ?? 0, size: size)
    }
    return MemoryPlan(
      strategy: strategy, arenaBytes: arena(offsets), order: live.order, tensors: tensors, scratch: scratch,
      lowerBound: live.lowerBound, modelOrderLowerBound: modelBound, liveBytes: live.liveBytes,
      alignment: alignment, method: method)
  }
}

// MARK: - The pass

/// `plan-memory{strategy=best|greedy-size, inplace=1|0}`: computes the arena plan and puts the
/// ops in the execution order it chose (nothing else in the graph changes). The plan itself is
/// an analysis: back-ends call `planMemory` on the final graph (with real scratch sizes) and
/// must emit ops in `MemoryPlan.order`.
///
///     graph @g(%in: 1x8xi8 q(1.0, 0)) -> (1x8xi8 q(1.0, 0)) {       graph @g(...) {
///       %a = relu(%in) ...                                         %a = relu(%in) ...
///       %b = relu(%in) ...                      ->                 %c = relu(%a) ...
///       %c = relu(%a) ...                                          %b = relu(%in) ...
///       %d = add(%b, %c) ...                                       %d = add(%b, %c) ...
///
/// (when the second order needs less memory; for a chain the order never changes).
public func planMemory(_ strategy: MemoryStrategy = .best, inPlace: Bool = true) -> Pass {
  Pass("plan-memory", options: ["strategy": strategy.rawValue, "inplace": inPlace ? "1" : "0"]) { g, options in
    let name = options["strategy"] ?? MemoryStrategy.best.rawValue
    guard let s = MemoryStrategy(rawValue: name) else {
      let known = MemoryStrategy.allCases.map(\.rawValue).joined(separator: ", ")
      throw PassError("unknown strategy '\(name)' (known: \(known))")
    }
    let ip: Bool
    switch options["inplace"] ?? "1" {
    case "1", "true", "yes": ip = true
    case "0", "false", "no": ip = false
    case let other: throw PassError("inplace must be 1 or 0, got '\(other)'")
    }
    if let extra = options.keys.sorted().first(where: { $0 != "strategy" && $0 != "inplace" }) {
      throw PassError("unknown option '\(extra)' (known: strategy, inplace)")
    }
    let plan = try planMemory(g, strategy: s, inPlace: ip)
    g.ops = plan.order.map { g.ops[$0] }
    do { try Verifier.verify(g) } catch { throw PassError("reordered graph does not verify: \(error)") }
  }
}

/// The memory passes, for a pass catalog: `plan-memory` (strategy `best` unless the pipeline
/// says otherwise).
public let memoryPasses: [Pass] = [planMemory(.best)]
