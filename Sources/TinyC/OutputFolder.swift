import Foundation
import Interpreter
import TinyIR

/// The folder `tinyc compile -o DIR` writes: it must be new, empty, or one tinyc wrote before
/// (it holds the marker file), so that a project's own files are never overwritten.
public enum OutputFolder {
  public static let marker = ".tinyc-output"

  /// Throws unless tinyc may write into `dir` (`force` allows any folder but `/`).
  public static func check(_ dir: String, force: Bool) throws {
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: dir, isDirectory: &isDirectory) else { return }
    guard isDirectory.boolValue else { throw DriverError("\(dir): exists and is not a folder") }
    if URL(fileURLWithPath: dir).resolvingSymlinksInPath().path == "/" {
      throw DriverError("\(dir): refusing to write into the root folder; give a folder of its own")
    }
    let entries = try fm.contentsOfDirectory(atPath: dir).sorted()
    if entries.isEmpty || entries.contains(marker) || force { return }
    let shown = entries.prefix(5).joined(separator: ", ") + (entries.count > 5 ? ", …" : "")
    throw DriverError(
      "\(dir): not empty and not written by tinyc (it holds \(shown)); give a new or empty folder, "
        + "or --force to write into it anyway")
  }

  /// Marks `dir` as written by tinyc.
  public static func mark(_ dir: String) throws {
    try Data("Written by tinyc compile; tinyc may overwrite the files in this folder.\n".utf8)
      .write(to: URL(fileURLWithPath: dir).appendingPathComponent(marker))
  }

  /// Writes `check/input<k>.bin` (fixed pseudo-random data) and `check/expected<k>.bin` (what
  /// tinyc's interpreter computes from them on the compiled graph), which `make check` compares
  /// the host build's outputs with.
  public static func writeCheckData(_ g: Graph, to dir: String) throws {
    var state: UInt32 = 0x1234_5678
    func next() -> UInt32 {
      state = state &* 1_664_525 &+ 1_013_904_223
      return state >> 8
    }
    let inputs = g.inputs.map { id -> NDArray in
      let t = g[id].type
      if t.elementType == .f32 {
        return NDArray(shape: t.shape, floats: (0..<t.elementCount).map { _ in Float(next() % 2001) / 1000 - 1 })
      }
      return NDArray(shape: t.shape, elementType: t.elementType, bytes: (0..<t.byteCount).map { _ in UInt8(truncatingIfNeeded: next()) })
    }
    let outputs = try Interpreter(g).run(inputs)
    let check = URL(fileURLWithPath: dir).appendingPathComponent("check")
    try FileManager.default.createDirectory(at: check, withIntermediateDirectories: true)
    for (k, a) in inputs.enumerated() { try Data(a.bytes).write(to: check.appendingPathComponent("input\(k).bin")) }
    for (k, a) in outputs.enumerated() { try Data(a.bytes).write(to: check.appendingPathComponent("expected\(k).bin")) }
  }
}
