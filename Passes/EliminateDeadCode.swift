import TinyIR

/// `eliminate-dead-code`: removes every op none of whose results reaches a graph output, and
/// every constant no remaining op reads (graph inputs stay: they are the interface). Values
/// are renumbered in definition order (`Graph.canonicalized()`). Before:
///
///     graph @g(%x: 1x4xf32) -> (1x4xf32) {
///       %k = const 4xf32 dense<…>
///       %unused = mul(%x, %k) : 1x4xf32 loc(onnx "m")
///       %y = relu(%x) : 1x4xf32 loc(onnx "r")
///       return %y
///     }
///
/// after:
///
///     graph @g(%x: 1x4xf32) -> (1x4xf32) {
///       %y = relu(%x) : 1x4xf32 loc(onnx "r")
///       return %y
///     }
public let eliminateDeadCode = Pass("eliminate-dead-code") { graph, options in
  try rejectOptions(options, pass: "eliminate-dead-code")
  graph.eliminateDeadCode()
}

extension Graph {
  /// Removes ops whose results nobody needs and constants nobody reads.
  mutating func eliminateDeadCode() {
    var live = Set(outputs)
    var keep = [Bool](repeating: false, count: ops.count)
    for i in ops.indices.reversed() where ops[i].outputs.contains(where: live.contains) {
      keep[i] = true
      live.formUnion(ops[i].inputs)
    }
    ops = ops.indices.filter { keep[$0] }.map { ops[$0] }
    constants = constants.filter { live.contains($0.key) }
    self = canonicalized()
  }
}
