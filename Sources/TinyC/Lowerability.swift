import TinyIR

extension ModelSummary {
  /// Why the C back-end cannot take this graph, or nil when every op lowers: `compile`'s own
  /// pipeline and emitter run once (float ops kept as float32 C, as `run --backend c` does,
  /// the plan by the quick greedy-size strategy), so the answer is exactly compile's. The
  /// message names the first op that does not lower. The interpreter may still run the model.
  public static func cBackendProblem(_ g: Graph) -> String? {
    var options = Compiler.Options()
    options.keepFloat = true
    options.strategy = .greedySize
    do {
      _ = try Compiler.compile(g, options: options)
      return nil
    } catch {
      return "\(error)"
    }
  }
}
