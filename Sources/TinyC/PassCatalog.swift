import TinyIR
import TinyPasses

/// The passes the driver knows, and named pipelines.
public enum PassCatalog {
  public static var all: [Pass] { standardPasses + memoryPasses }

  public static var names: String {
    let n = all.map(\.name)
    return n.isEmpty ? "(none yet)" : n.joined(separator: ", ")
  }

  public static func pipeline(_ text: String) throws -> PassManager {
    try PassManager(pipeline: text, passes: all)
  }
}
