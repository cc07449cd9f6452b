import TinyIR
import TinyPasses

/// An independent check of a memory plan, written from the rules and not from the planner's
/// code: it recomputes every lifetime from the graph and the plan's execution order, then proves
/// that no two buffers that are live at the same step share a byte, except a result written in
/// place over an operand that the same op reads for the last time, under the element-wise
/// rules. Returns the problems found (empty when the plan is sound).
enum MemoryPlanChecker {
  static func problems(_ g: Graph, _ plan: MemoryPlan, scratch: (Int, Op) -> Int = { _, _ in 0 }) -> [String] {
    var out: [String] = []
    let n = g.ops.count
    guard plan.order.sorted() == Array(0..<n) else { return ["order \(plan.order) is not a permutation of 0..<\(n)"] }
    let last = max(n, 1) - 1

    // Storage owner of every activation value, following reshapes; lifetimes from the order.
    var owner: [ValueID: ValueID] = [:]
    var first: [ValueID: Int] = [:]
    var lastUse: [ValueID: Int] = [:]
    var defStep: [ValueID: Int] = [:]
    for v in g.inputs {
      owner[v] = v
      first[v] = 0
      lastUse[v] = 0
    }
    for (s, i) in plan.order.enumerated() {
      let op = g.ops[i]
      for v in op.inputs where !g.isConstant(v) {
        guard owner[v] != nil || isConstantView(v, g) else {
          out.append("step \(s): %\(g[v].name) is read before it is defined")
          continue
        }
        if owner[v] != nil { lastUse[v] = s }
      }
      for o in op.outputs {
        defStep[o] = s
        if case .reshape = op.kind, let x = op.inputs.first {
          if let r = owner[x] { owner[o] = r } else { continue }
        } else {
          owner[o] = o
        }
        first[o] = s
        lastUse[o] = s
      }
    }
    for v in g.outputs where owner[v] != nil { lastUse[v] = last }
    // A storage owner is live from its definition to the last use of it or any alias of it.
    var liveFrom: [ValueID: Int] = [:]
    var liveTo: [ValueID: Int] = [:]
    for (v, r) in owner {
      guard let f = first[v], let l = lastUse[v] else { continue }
      liveFrom[r] = min(liveFrom[r] ?? f, f)
      liveTo[r] = max(liveTo[r] ?? l, l)
    }
    let outputOwners = Set(g.outputs.compactMap { owner[$0] })

    // Every activation value is planned with its own size; aliases sit on their owner.
    var where_: [ValueID: (offset: Int, size: Int)] = [:]
    for (v, r) in owner {
      guard let t = plan.tensor(v) else {
        out.append("%\(g[v].name) has no offset")
        continue
      }
      if t.size != g.type(of: v).byteCount { out.append("%\(g[v].name): size \(t.size) != \(g.type(of: v).byteCount)") }
      if t.offset < 0 || t.offset % plan.alignment != 0 { out.append("%\(g[v].name): offset \(t.offset) not aligned") }
      if v == r {
        where_[v] = (t.offset, t.size)
      } else if let base = plan.tensor(r), base.offset != t.offset || t.size > base.size {
        out.append("alias %\(g[v].name) is not inside %\(g[r].name)")
      }
    }
    for t in plan.tensors where owner[ValueID(t.value)] == nil {
      out.append("plan has tensor \(t.name) that is not an activation")
    }

    func overlap(_ a: (offset: Int, size: Int), _ b: (offset: Int, size: Int)) -> Bool {
      a.offset < b.offset + b.size && b.offset < a.offset + a.size
    }
    /// True when `b` may share `a`'s bytes: `b` is the single result of the op at step
    /// liveTo[a], `a` is the owner of one of its operands, `a` is not a graph output, both
    /// start at the same offset, and the op is element-wise with a result element no wider
    /// than the operand element (at least one byte each).
    func inPlaceAllowed(_ a: ValueID, _ b: ValueID) -> Bool {
      guard let s = defStep[b], liveFrom[b] == s, liveTo[a] == s, !outputOwners.contains(a),
        let wa = where_[a], let wb = where_[b], wa.offset == wb.offset
      else { return false }
      let op = g.ops[plan.order[s]]
      guard op.outputs == [b] else { return false }
      let tb = g.type(of: b)
      guard tb.elementType.bits >= 8 else { return false }
      for x in op.inputs where owner[x] == a {
        let tx = g.type(of: x)
        switch op.kind {
        case .quantize, .logistic, .tanh, .relu, .relu6, .clip, .leakyRelu, .hardSwish, .hardSigmoid:
          if x == op.inputs[0], tx.elementCount == tb.elementCount, tx.elementType.bits >= tb.elementType.bits {
            return true
          }
        case .add, .sub, .mul, .div:
          if tx.shape == tb.shape, tx.elementType == tb.elementType { return true }
        default: break
        }
      }
      return false
    }
    let owners = where_.keys.sorted()
    for (ia, a) in owners.enumerated() {
      for b in owners[(ia + 1)...] {
        guard let fa = liveFrom[a], let ta = liveTo[a], let fb = liveFrom[b], let tb = liveTo[b],
          let wa = where_[a], let wb = where_[b]
        else { continue }
        guard fa <= tb && fb <= ta, overlap(wa, wb) else { continue }
        if inPlaceAllowed(a, b) || inPlaceAllowed(b, a) { continue }
        out.append(
          "%\(g[a].name) [\(wa.offset), +\(wa.size)) steps \(fa)...\(ta) overlaps %\(g[b].name) [\(wb.offset), +\(wb.size)) steps \(fb)...\(tb)"
        )
      }
    }
    // Scratch buffers live during their op only.
    guard plan.scratch.count == n else { return out + ["plan has \(plan.scratch.count) scratch entries for \(n) ops"] }
    var end = 0
    for (s, sc) in plan.scratch.enumerated() {
      let want = scratch(plan.order[s], g.ops[plan.order[s]])
      if sc.size != want || sc.op != plan.order[s] { out.append("step \(s): scratch \(sc.size) bytes, op wants \(want)") }
      guard sc.size > 0 else { continue }
      end = max(end, sc.offset + sc.size)
      if sc.offset < 0 || sc.offset % plan.alignment != 0 { out.append("step \(s): scratch offset \(sc.offset)") }
      for a in owners {
        guard let f = liveFrom[a], let t = liveTo[a], f <= s, s <= t, let w = where_[a] else { continue }
        if overlap(w, (sc.offset, sc.size)) { out.append("step \(s): scratch overlaps %\(g[a].name)") }
      }
    }
    for w in where_.values { end = max(end, w.offset + w.size) }
    if plan.arenaBytes != end { out.append("arena \(plan.arenaBytes) != largest end offset \(end)") }
    return out
  }

  private static func isConstantView(_ v: ValueID, _ g: Graph) -> Bool {
    var v = v
    while let op = g.ops.first(where: { $0.outputs.contains(v) }) {
      guard case .reshape = op.kind, let x = op.inputs.first else { return false }
      v = x
    }
    return g.isConstant(v)
  }
}
