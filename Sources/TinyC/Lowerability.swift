import TinyIR

extension ModelSummary {
  /// Why the C back-end cannot take this graph, or nil when every op lowers: `compile`'s own
  /// pipeline and emitter, run once by `ModelSummary` (float ops kept as float32 C, as
  /// `run --backend c` does), so the answer is exactly compile's. The message names the first
  /// op that does not lower. The interpreter may still run the model.
  public var cBackendProblem: String? { compileError }

  public static func cBackendProblem(_ g: Graph) -> String? {
    do { return try ModelSummary(g).cBackendProblem } catch { return "\(error)" }
  }
}
