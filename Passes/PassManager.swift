import TinyIR

/// A pass: a named graph transformation with options parsed from the pipeline string
/// (`name{key=value,key2=value2}`).
public struct Pass: Sendable {
  public var name: String
  public var options: [String: String]
  public var run: @Sendable (inout Graph, [String: String]) throws -> Void

  public init(
    _ name: String, options: [String: String] = [:],
    run: @escaping @Sendable (inout Graph, [String: String]) throws -> Void
  ) {
    self.name = name
    self.options = options
    self.run = run
  }

  /// The same pass with options from a pipeline string.
  public func with(options: [String: String]) -> Pass {
    var p = self
    p.options = options
    return p
  }
}

/// An error from a pass or from a pipeline string.
public struct PassError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Runs passes in order, verifying the graph after each when asked, and optionally printing
/// the IR after every pass.
public struct PassManager: Sendable {
  public var passes: [Pass]
  public var verifyEach = true
  public var printAfterEach: (@Sendable (String, Graph) -> Void)?

  public init(_ passes: [Pass]) { self.passes = passes }

  /// Parses `a,b{k=v,k2=v2},c`, looking each name up in `passes`.
  public init(pipeline: String, passes known: [Pass]) throws {
    var byName: [String: Pass] = [:]
    for p in known where byName[p.name] == nil { byName[p.name] = p }
    var passes: [Pass] = []
    for (name, opts) in try Self.parse(pipeline) {
      guard let p = byName[name] else {
        let names = byName.keys.sorted().joined(separator: ", ")
        throw PassError("unknown pass '\(name)' in pipeline (known: \(names.isEmpty ? "none" : names))")
      }
      passes.append(p.with(options: opts))
    }
    self.init(passes)
  }

  static func parse(_ text: String) throws -> [(String, [String: String])] {
    var result: [(String, [String: String])] = []
    var i = text.startIndex
    func skip() { while i < text.endIndex, text[i] == " " { i = text.index(after: i) } }
    while true {
      skip()
      if i == text.endIndex { break }
      var name = ""
      while i < text.endIndex, text[i] != ",", text[i] != "{" {
        if text[i] != " " { name.append(text[i]) }
        i = text.index(after: i)
      }
      guard !name.isEmpty else { throw PassError("empty pass name in pipeline '\(text)'") }
      var opts: [String: String] = [:]
      if i < text.endIndex, text[i] == "{" {
        i = text.index(after: i)
        guard let close = text[i...].firstIndex(of: "}") else {
          throw PassError("missing '}' after options of '\(name)'")
        }
        for kv in text[i..<close].split(separator: ",") {
          // `key=value`, or a bare `key` (a flag, "true").
          let parts = kv.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
          let key = parts[0].trimmingCharacters(in: " ")
          guard !key.isEmpty, parts.count == 1 || !parts[1].isEmpty else {
            throw PassError("option '\(kv)' of '\(name)' is not key=value")
          }
          opts[key] = parts.count == 2 ? parts[1].trimmingCharacters(in: " ") : "true"
        }
        i = text.index(after: close)
      }
      result.append((name, opts))
      skip()
      if i < text.endIndex {
        guard text[i] == "," else { throw PassError("expected ',' in pipeline at '\(text[i...])'") }
        i = text.index(after: i)
      }
    }
    return result
  }

  public func run(_ graph: inout Graph) throws {
    for p in passes {
      do {
        try p.run(&graph, p.options)
      } catch let e as PassError {
        throw PassError("pass \(p.name): \(e.message)")
      }
      if verifyEach {
        do { try Verifier.verify(graph) } catch { throw PassError("after pass \(p.name): \(error.message)") }
      }
      printAfterEach?(p.name, graph)
    }
  }
}

extension Substring {
  fileprivate func trimmingCharacters(in set: Character) -> String {
    var s = self
    while s.first == set { s.removeFirst() }
    while s.last == set { s.removeLast() }
    return String(s)
  }
}
