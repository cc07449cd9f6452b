import Foundation
import TinyIR

@testable import TFLiteFrontend

/// Paths the tests read: the repo's Examples and fixtures, and the shared reference models
/// (`<repo>/../shared/models`, absent on most machines: tests that need them skip).
enum Paths {
  static let repo = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent()
  static let fixtures = repo.appendingPathComponent("Tests/TFLiteFrontendTests/Fixtures")
  static let examples = repo.appendingPathComponent("Examples")
  static let sharedTFLite = repo.deletingLastPathComponent().appendingPathComponent("shared/models/tflite")

  static func bytes(_ url: URL) -> [UInt8]? {
    FileManager.default.contents(atPath: url.path).map { [UInt8]($0) }
  }

  static let mlperfModels = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
  static var exampleModels: [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []
    return names.filter { $0.hasSuffix(".tflite") }.map { String($0.dropLast(7)) }.sorted()
      .filter { hasInt64 || !needsInt64.contains($0) }
  }
  /// Examples with INT64 tensors (16x8 biases): imported once the IR has a 64-bit element type
  /// (`KerasExampleTests` checks both ways).
  static let needsInt64: Set<String> = ["keras_cnn_16x8"]
  static var hasInt64: Bool { ElementType(rawValue: "i64") != nil }
  static func model(_ stem: String) -> URL? {
    for dir in [examples, sharedTFLite] {
      let url = dir.appendingPathComponent(stem + ".tflite")
      if FileManager.default.fileExists(atPath: url.path) { return url }
    }
    return nil
  }
}

/// The description `scripts/tflite_oracle.py` writes (from the schema's generated Python classes).
struct Oracle: Decodable {
  struct Operator: Decodable {
    var index: Int
    var opcode: String
    var inputs: [Int]
    var outputs: [Int]
    /// The scalar fields of the builtin options, by their object API names (`strideH`).
    var options: [String: Scalar]

    func number(_ key: String) -> Double? {
      switch options[key] {
      case .number(let v): return v
      case .bool(let b): return b ? 1 : 0
      case nil: return nil
      }
    }
    func int(_ key: String) -> Int? { number(key).map { Int($0) } }
  }
  enum Scalar: Decodable {
    case bool(Bool)
    case number(Double)
    init(from decoder: any Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let b = try? c.decode(Bool.self) {
        self = .bool(b)
      } else {
        self = .number(try c.decode(Double.self))
      }
    }
  }
  struct Tensor: Decodable {
    var index: Int
    var name: String
    var shape: [Int]
    var type: String
    var buffer: Int
    var bytes: Int
    var fnv1a64: String
    var scale_count: Int
    var scales: [Double]
    var zero_points: [Int]
    var quantized_dimension: Int
  }
  var file: String
  var file_bytes: Int
  var file_fnv1a64: String
  var subgraphs: Int
  var inputs: [Int]
  var outputs: [Int]
  var operators: [Operator]
  var tensors: [Tensor]

  static func load(_ stem: String) throws -> Oracle? {
    let url = Paths.fixtures.appendingPathComponent("oracle/\(stem).json")
    guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
    return try JSONDecoder().decode(Oracle.self, from: data)
  }
}

/// A deterministic generator (SplitMix64) for the byte-flip tests.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// Locations of fields inside a real model, found with the importer's own reader, so that the
/// malformed-input tests can corrupt exactly one thing.
struct ModelMap {
  let fb: FlatBuffer
  let model: Table
  let subgraph: Table
  let tensors: [Table]
  let operators: [Table]
  let buffers: [Table]
  let opcodes: [Table]

  init(_ bytes: [UInt8]) throws {
    fb = FlatBuffer(bytes)
    model = try fb.root()
    subgraph = try model.tables(Schema.Model.subgraphs, "subgraph")[0]
    tensors = try subgraph.tables(Schema.SubGraph.tensors, "tensor")
    operators = try subgraph.tables(Schema.SubGraph.operators, "operator")
    buffers = try model.tables(Schema.Model.buffers, "buffer")
    opcodes = try model.tables(Schema.Model.operatorCodes, "operator code")
  }

  /// The position of the vector that field `id` of `table` points to (its length word).
  func vectorPosition(_ table: Table, _ id: Int) throws -> Int? {
    guard let f = try table.field(id, size: 4) else { return nil }
    return f + (try fb.u32(f))
  }
}

extension Array where Element == UInt8 {
  mutating func put32(_ value: Int, at pos: Int) {
    let v = UInt32(truncatingIfNeeded: value)
    for k in 0..<4 { self[pos + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
  }
  func get32(at pos: Int) -> Int {
    (0..<4).reduce(0) { $0 | Int(self[pos + $1]) << (8 * $1) }
  }
}

/// Imports and reports what happened: the graph, or the error's description. Any error that is
/// not a `TFLiteError` is a test failure in the caller.
enum Outcome {
  case graph(Graph)
  case error(TFLiteError)
  case otherError(any Error)
}

func attempt(_ bytes: [UInt8], _ name: String = "t.tflite") -> Outcome {
  do {
    return .graph(try importTFLite(bytes, fileName: name))
  } catch let e as TFLiteError {
    return .error(e)
  } catch {
    return .otherError(error)
  }
}
