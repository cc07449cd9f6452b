import TinyIR

/// When an activation value occupies memory, in execution steps (positions in an execution
/// order, not op indices): from the step that defines it to the step that reads it last,
/// both inclusive. Graph inputs are defined at step 0; graph outputs live to the last step.
public struct Lifetime: Hashable, Sendable, Codable {
  public var first: Int
  public var last: Int
  public init(first: Int, last: Int) {
    self.first = first
    self.last = last
  }
  /// Two lifetimes intersect when some step lies in both.
  public func intersects(_ o: Lifetime) -> Bool { first <= o.last && o.first <= last }
  public var length: Int { last - first + 1 }
}

/// Liveness of the activation values of a graph over one execution order.
///
/// Activation values are the graph inputs and the op results; constants live in Flash and are
/// not planned. A view (`OpKind.isView`, i.e. reshape) does not get memory of its own: its
/// result is an alias of its operand's storage (its *root*), and every use of the alias extends
/// the root's lifetime. A view of a constant is a constant too and is not an activation.
///
/// `liveBytes[s]` is the sum of the sizes of the roots live at step `s`: the op's inputs, its
/// outputs, and everything produced earlier and read later. Its maximum is the activation
/// lower bound of that order without in-place reuse: no plan that keeps each tensor whole and
/// distinct can use less.
///
///     graph @g(%in: 1x4xi8 q(1.0, 0)) -> (4xi8 q(1.0, 0)) {
///       %a = relu(%in) : 1x4xi8 q(1.0, 0)              // step 0   %in 0...0, %a 0...2
///       %r = reshape(%a) {shape [4]} : 4xi8 q(1.0, 0)   // step 1   %r is %a's bytes
///       %b = relu(%r) : 4xi8 q(1.0, 0)                 // step 2   %b 2...2 (an output)
///       return %b
///     }
///
/// gives `liveBytes == [8, 4, 8]` and `lowerBound == 8`.
public struct Liveness: Sendable {
  /// Op indices (into `Graph.ops`) in execution order; step `s` runs `ops[order[s]]`.
  public let order: [Int]
  /// For every activation value (including aliases): the value that owns its storage.
  public let root: [ValueID: ValueID]
  /// Lifetime of every root (the union of its own and all its aliases' lifetimes).
  public let lifetime: [ValueID: Lifetime]
  /// Lifetime of every activation value on its own (for an alias: its definition to its last use).
  public let ownLifetime: [ValueID: Lifetime]
  /// Bytes of every root (`TensorType.byteCount`, packed for sub-byte types).
  public let size: [ValueID: Int]
  /// Roots in definition order: graph inputs, then op results step by step.
  public let roots: [ValueID]
  /// Bytes of activations live at each step, without in-place reuse.
  public let liveBytes: [Int]
  /// Roots whose storage a graph output lives in (they must survive to the last step).
  public let outputRoots: Set<ValueID>

  /// The largest sum of sizes of tensors live at one step.
  public var lowerBound: Int { liveBytes.max() ?? 0 }
  /// The first step where `liveBytes` reaches `lowerBound`.
  public var peakStep: Int { liveBytes.firstIndex(of: lowerBound) ?? 0 }
  /// Number of steps (at least one, so that a graph without ops still has a step 0).
  public var stepCount: Int { max(order.count, 1) }

  /// Liveness of `g` over `order` (default: the graph's own op order). Throws if `order` is not
  /// a permutation of the ops in which every operand is defined before it is used.
  public init(_ g: Graph, order: [Int]? = nil) throws(PassError) {
    let order = order ?? Array(g.ops.indices)
    guard order.count == g.ops.count, Set(order).count == order.count,
      order.allSatisfy({ g.ops.indices.contains($0) })
    else { throw PassError("execution order \(order) is not a permutation of the \(g.ops.count) ops") }
    self.order = order
    let lastStep = max(order.count, 1) - 1

    var root: [ValueID: ValueID] = [:]
    var own: [ValueID: Lifetime] = [:]
    var roots: [ValueID] = []
    var constantViews = Set<ValueID>()
    for v in g.inputs where root[v] == nil {
      root[v] = v
      own[v] = Lifetime(first: 0, last: 0)
      roots.append(v)
    }
    for (step, i) in order.enumerated() {
      let op = g.ops[i]
      for v in op.inputs where root[v] == nil && !g.isConstant(v) && !constantViews.contains(v) {
        throw PassError(
          "op \(i) (\(op.kind.mnemonic), \(op.location)) reads %\(Self.name(v, g)) before it is defined in this order")
      }
      for v in op.inputs where root[v] != nil { own[v]?.last = step }
      for o in op.outputs {
        guard root[o] == nil, !g.isConstant(o), !constantViews.contains(o) else {
          throw PassError("op \(i) (\(op.kind.mnemonic)) defines %\(Self.name(o, g)) a second time")
        }
        own[o] = Lifetime(first: step, last: step)
        if op.kind.isView, let x = op.inputs.first {
          // A view of an activation shares its storage; a view of a constant stays a constant.
          if let r = root[x] { root[o] = r } else { constantViews.insert(o) }
        } else {
          root[o] = o
          roots.append(o)
        }
      }
    }
    var outputRoots = Set<ValueID>()
    for v in g.outputs {
      guard let r = root[v] else { continue }
      outputRoots.insert(r)
      own[v]?.last = lastStep
    }
    // A root lives while it or any alias of it does.
    var lifetime: [ValueID: Lifetime] = [:]
    for r in roots { lifetime[r] = own[r] }
    for (v, r) in root where v != r {
      guard let a = own[v], let l = lifetime[r] else { continue }
      lifetime[r] = Lifetime(first: l.first, last: max(l.last, a.last))
    }
    var size: [ValueID: Int] = [:]
    for (v, r) in root { size[r] = max(size[r] ?? 0, g[v].type.byteCount) }
    var live = Array(repeating: 0, count: lastStep + 1)
    for r in roots {
      guard let l = lifetime[r], let s = size[r] else { continue }
      for step in l.first...l.last { live[step] += s }
    }
    self.root = root
    self.ownLifetime = own
    self.lifetime = lifetime
    self.size = size
    self.roots = roots
    self.liveBytes = live
    self.outputRoots = outputRoots
  }

  private static func name(_ v: ValueID, _ g: Graph) -> String {
    v.index >= 0 && v.index < g.values.count ? g[v].name : "\(v)"
  }

  /// The step at which each op index runs.
  public var stepOfOp: [Int: Int] {
    var m: [Int: Int] = [:]
    for (s, i) in order.enumerated() { m[i] = s }
    return m
  }
}
