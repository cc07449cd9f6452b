import Foundation
import Testing
import TinyIR

@testable import TFLiteFrontend

/// Broken files must throw a `TFLiteError` (or import into a graph that verifies): never
/// crash, hang or allocate without bound. `importTFLite` is called directly.
@Suite struct MalformedInputTests {
  /// A small model that is always in the repo, and one of the largest available.
  static func smallModel() throws -> [UInt8] {
    try #require(Paths.bytes(Paths.examples.appendingPathComponent("quant_io_s.tflite")))
  }
  static func zoo() throws -> [UInt8] {
    try #require(Paths.bytes(Paths.examples.appendingPathComponent("ops_int8.tflite")))
  }
  static func realModel() throws -> [UInt8] {
    if let kws = Paths.model("kws_ref_model").flatMap(Paths.bytes) { return kws }
    return try #require(Paths.bytes(Paths.examples.appendingPathComponent("ds_cnn_s.tflite")))
  }

  /// Counts the outcomes and records an issue for anything but a graph or a `TFLiteError`.
  struct Tally {
    var imported = 0
    var rejected = 0
    mutating func add(_ o: Outcome, _ what: @autoclosure () -> String) {
      switch o {
      case .graph: imported += 1
      case .error(let e):
        rejected += 1
        if e.description.contains(where: \.isNewline) { Issue.record("\(what()): multi-line error \(e)") }
      case .otherError(let e): Issue.record("\(what()): threw \(type(of: e)): \(e)")
      }
    }
  }

  @Test(arguments: ["small", "real"])
  func truncatedFilesAreRejected(which: String) throws {
    let bytes = which == "small" ? try Self.smallModel() : try Self.realModel()
    // Every length up to 300 bytes, then every 37th.
    let cuts = Array(0..<min(300, bytes.count)) + Array(stride(from: 300, to: bytes.count, by: 37))
    var tally = Tally()
    for n in cuts { tally.add(attempt(Array(bytes[0..<n])), "truncated at \(n)") }
    // The constant data fills most of the file, so nearly every cut must fail.
    #expect(tally.rejected >= cuts.count * 9 / 10)
    print("truncation (\(which), \(bytes.count) bytes): \(cuts.count) cuts, \(tally.rejected) rejected")
  }

  @Test(arguments: ["small", "real", "zoo"])
  func flippedBytesNeverCrash(which: String) throws {
    let bytes =
      which == "small" ? try Self.smallModel() : which == "zoo" ? try Self.zoo() : try Self.realModel()
    var rng = SplitMix64(seed: 0x7f11_7e00 + UInt64(bytes.count))
    var tally = Tally()
    for variant in 0..<400 {
      var b = bytes
      let flips = 1 + Int(rng.next() % 4)
      for _ in 0..<flips {
        // Half the flips hit the first 1 KiB, where the tables and offsets usually are.
        let range = rng.next() % 2 == 0 ? min(1024, b.count) : b.count
        let at = Int(rng.next() % UInt64(range))
        b[at] ^= UInt8(1 + rng.next() % 255)
      }
      tally.add(attempt(b), "variant \(variant)")
    }
    #expect(tally.rejected > 0)
    print("byte flips (\(which)): 400 variants, \(tally.imported) imported, \(tally.rejected) rejected")
  }

  @Test func crashFixturesAreRejected() throws {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: Paths.fixtures.path)) ?? []
    for name in names.sorted() where name.hasPrefix("crash-") {
      let bytes = try #require(Paths.bytes(Paths.fixtures.appendingPathComponent(name)))
      var tally = Tally()
      tally.add(attempt(bytes), name)
    }
  }

  @Test func tinyInputs() {
    for bytes: [UInt8] in [[], [0], [0, 0, 0, 0], Array(repeating: 0, count: 8), Array(repeating: 0xff, count: 64)] {
      guard case .error = attempt(bytes) else {
        Issue.record("\(bytes.count) bytes were not rejected")
        continue
      }
    }
  }

  // MARK: One thing wrong at a time, found with the importer's own reader.

  /// Applies `change` to ops_int8 and expects an error containing `text` (at `position`).
  func expectError(
    _ text: String, at position: TFLiteError.Position? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ change: (inout [UInt8], ModelMap) throws -> Void
  ) throws {
    var bytes = try Self.zoo()
    let map = try ModelMap(bytes)
    try change(&bytes, map)
    switch attempt(bytes, "zoo.tflite") {
    case .graph: Issue.record("imported fine, expected '\(text)'", sourceLocation: sourceLocation)
    case .otherError(let e): Issue.record("threw \(e)", sourceLocation: sourceLocation)
    case .error(let e):
      #expect(e.description.contains(text), "\(e)", sourceLocation: sourceLocation)
      #expect(e.description.hasPrefix("zoo.tflite: "), sourceLocation: sourceLocation)
      if let position { #expect(e.position == position, "\(e)", sourceLocation: sourceLocation) }
    }
  }

  func opInputs(_ map: ModelMap, _ op: Int) throws -> Int {
    try #require(try map.vectorPosition(map.operators[op], Schema.Operator.inputs)) + 4
  }
  func opOutputs(_ map: ModelMap, _ op: Int) throws -> Int {
    try #require(try map.vectorPosition(map.operators[op], Schema.Operator.outputs)) + 4
  }
  func shape(_ map: ModelMap, _ tensor: Int) throws -> Int {
    try #require(try map.vectorPosition(map.tensors[tensor], Schema.Tensor.shape))
  }

  @Test func headerAndRoot() throws {
    try expectError("not a TFLite model", at: .byte(4)) { b, _ in b[4] = UInt8(ascii: "X") }
    try expectError("lies outside") { b, _ in b.put32(0x7fff_fff0, at: 0) }
    try expectError("schema version 2") { b, m in
      b.put32(2, at: try #require(try m.model.field(Schema.Model.version, size: 4)))
    }
  }

  @Test func vtablesPointingOutside() throws {
    try expectError("vtable") { b, m in b.put32(Int(Int32.min) + 8, at: m.model.pos) }
    try expectError("vtable") { b, m in b.put32(m.model.pos + 1000, at: m.model.pos) }
    try expectError("outside its table") { b, m in
      let entry = m.model.vtable + 4 + 2 * Schema.Model.subgraphs
      b[entry] = 0xf0
      b[entry + 1] = 0xff
    }
  }

  @Test func lyingLengths() throws {
    try expectError("longer than the file") { b, m in b.put32(0x7fff_ffff, at: try shape(m, 0)) }
    try expectError("longer than the file") { b, m in
      b.put32(0x3fff_ffff, at: try #require(try m.vectorPosition(m.subgraph, Schema.SubGraph.tensors)))
    }
    try expectError("longer than the file") { b, m in
      b.put32(0x7fff_fff0, at: try #require(try m.vectorPosition(m.buffers[17], Schema.Buffer.data)))
    }
  }

  @Test func absurdDimensions() throws {
    try expectError("must be positive", at: .tensor(0)) { b, m in b.put32(-3, at: try shape(m, 0) + 8) }
    try expectError("must be positive", at: .tensor(0)) { b, m in b.put32(0, at: try shape(m, 0) + 8) }
    try expectError("is too large", at: .tensor(0)) { b, m in
      b.put32(0x10000, at: try shape(m, 0) + 8)
      b.put32(0x10000, at: try shape(m, 0) + 12)
    }
    // Weights whose shape no longer matches their buffer.
    try expectError("buffer 17 has 288 bytes", at: .tensor(16)) { b, m in b.put32(2, at: try shape(m, 16) + 16) }
  }

  @Test func tensorIndicesAndCycles() throws {
    try expectError("tensor index 9999 is out of range", at: .op(0, "CONV_2D")) { b, m in
      b.put32(9999, at: try opInputs(m, 0))
    }
    try expectError("tensor index -7 is out of range", at: .op(1, "LEAKY_RELU")) { b, m in
      b.put32(-7, at: try opInputs(m, 1))
    }
    try expectError("before it is produced (by operator 1, which comes later)", at: .op(0, "CONV_2D")) { b, m in
      b.put32(18, at: try opInputs(m, 0))
    }
    try expectError("before it is produced (by the operator itself)", at: .op(1, "LEAKY_RELU")) { b, m in
      b.put32(18, at: try opInputs(m, 1))
    }
    try expectError("is produced by operator 0 and again by operator 1", at: .tensor(17)) { b, m in
      b.put32(17, at: try opOutputs(m, 1))
    }
    try expectError("buffer index 99999 is out of range", at: .tensor(16)) { b, m in
      b.put32(99999, at: try #require(try m.tensors[16].field(Schema.Tensor.buffer, size: 4)))
    }
  }

  @Test func badQuantization() throws {
    try expectError("scale 0.0 must be positive and finite", at: .tensor(0)) { b, m in
      let q = try #require(try m.tensors[0].table(Schema.Tensor.quantization, "q"))
      b.put32(0, at: try #require(try m.vectorPosition(q, Schema.Quantization.scale)) + 4)
    }
    // Depthwise weights 1x3x3x4, 4 scales along dimension 3; claim dimension 0.
    try expectError("do not match quantized dimension 0", at: .tensor(14)) { b, m in
      let q = try #require(try m.tensors[14].table(Schema.Tensor.quantization, "q"))
      b.put32(0, at: try #require(try q.field(Schema.Quantization.quantizedDimension, size: 4)))
    }
  }

  @Test func badOptions() throws {
    // MUL (operator 10) has a fused RELU6; make it TANH.
    try expectError("fused activation TANH is not supported", at: .op(10, "MUL")) { b, m in
      let o = try #require(try m.operators[10].table(Schema.Operator.builtinOptions, "o"))
      b[try #require(try o.field(Schema.Options.Arithmetic.activation, size: 1))] = 4
    }
    try expectError("stride 0x1 must be in", at: .op(0, "CONV_2D")) { b, m in
      let o = try #require(try m.operators[0].table(Schema.Operator.builtinOptions, "o"))
      b.put32(0, at: try #require(try o.field(Schema.Options.Conv2D.strideH, size: 4)))
    }
    try expectError("builtin options have union type 5, expected Conv2DOptions", at: .op(0, "CONV_2D")) { b, m in
      b[try #require(try m.operators[0].field(Schema.Operator.builtinOptionsType, size: 1))] = 5
    }
  }

  @Test func unsupportedOperatorsAreListedTogether() throws {
    let oracle = try #require(try Oracle.load("ops_int8"))
    var bytes = try Self.zoo()
    let map = try ModelMap(bytes)
    // Turn the operator code of TANH and of LOGISTIC into WHILE and CUMSUM.
    var replaced: [String: String] = [:]
    for code in map.opcodes {
      let builtin = try code.int(Schema.OperatorCode.builtinCode, size: 4)
      let deprecated = try code.int(Schema.OperatorCode.deprecatedBuiltinCode, size: 1)
      let name = Schema.operatorName(max(builtin, deprecated))
      guard name == "TANH" || name == "LOGISTIC" else { continue }
      let new = name == "TANH" ? 119 : 128
      if let f = try code.field(Schema.OperatorCode.builtinCode, size: 4) { bytes.put32(new, at: f) }
      if let f = try code.field(Schema.OperatorCode.deprecatedBuiltinCode, size: 1) { bytes[f] = UInt8(new) }
      replaced[name] = Schema.operatorName(new)
    }
    #expect(replaced.count == 2)
    let expected = oracle.operators.compactMap { o in replaced[o.opcode].map { "\(o.index) (\($0))" } }
    #expect(expected.count >= 2)
    switch attempt(bytes, "zoo.tflite") {
    case .error(let e):
      #expect(e.description == "zoo.tflite: unsupported operators: " + expected.joined(separator: ", "))
    default: Issue.record("not rejected")
    }
  }

  // MARK: The error type and small helpers.

  @Test func errorDescriptions() {
    #expect(TFLiteError(file: "m.tflite", "bad", at: .byte(12)).description == "m.tflite: bad (at byte 12)")
    #expect(
      TFLiteError(file: "m.tflite", "bad", at: .op(3, "CONV_2D")).description
        == "m.tflite: bad (operator 3 (CONV_2D))")
    #expect(TFLiteError(file: "m.tflite", "bad", at: .tensor(7)).description == "m.tflite: bad (tensor 7)")
    #expect(TFLiteError(file: "m.tflite", "two\nlines").description == "m.tflite: two lines")
  }

  @Test func graphNames() {
    #expect(graphName(from: "dir/my-model.v2.tflite") == "my_model_v2")
    #expect(graphName(from: "kws_ref_model.tflite") == "kws_ref_model")
    #expect(graphName(from: ".tflite") == "_tflite")
    #expect(graphName(from: "") == "model")
  }

  @Test func missingFile() {
    #expect(throws: TFLiteError.self) { try importTFLite(path: "/nonexistent/x.tflite") }
  }
}
