import CMSISBackend
import TinyIR
import TinyPasses

/// The passes the driver knows, and named pipelines.
public enum PassCatalog {
  /// Every pass, with `mixed-precision` measuring RAM and Flash for a Cortex-M4.
  public static var all: [Pass] { passes(target: .cortexM4) }

  /// Every pass; `mixed-precision` measures with `target`'s CMSIS-NN scratch sizes and Flash
  /// arrays, and writes its `explain` lines to `explain` (stderr when nil).
  public static func passes(target: Target, explain: (@Sendable (String) -> Void)? = nil) -> [Pass] {
    standardPasses + memoryPasses + [
      mixedPrecision(
        scratch: { op, g in target.scratchBytes(op, g) }, kernelSums: target.fullyConnectedNeedsKernelSums,
        explain: explain)
    ]
  }

  public static var names: String {
    let n = all.map(\.name)
    return n.isEmpty ? "(none yet)" : n.joined(separator: ", ")
  }

  public static func pipeline(
    _ text: String, target: Target = .cortexM4, explain: (@Sendable (String) -> Void)? = nil
  ) throws -> PassManager {
    try PassManager(pipeline: text, passes: passes(target: target, explain: explain))
  }
}
