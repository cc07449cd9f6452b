import Foundation
import ONNXFrontend
import SwiftProtobuf
import Testing
import TinyIR

/// Small ONNX models built in the test, for the error paths.
enum Build {
  static func valueInfo(_ name: String, _ shape: [Int64], type: Int32 = 1) -> Onnx_ValueInfoProto {
    var v = Onnx_ValueInfoProto()
    v.name = name
    var t = Onnx_TypeProto.Tensor()
    t.elemType = type
    var s = Onnx_TensorShapeProto()
    s.dim = shape.map {
      var d = Onnx_TensorShapeProto.Dimension()
      d.dimValue = $0
      return d
    }
    t.shape = s
    v.type.tensorType = t
    return v
  }

  static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "", attrs: [Onnx_AttributeProto] = [])
    -> Onnx_NodeProto
  {
    var n = Onnx_NodeProto()
    n.opType = op
    n.input = inputs
    n.output = outputs
    n.name = name
    n.attribute = attrs
    return n
  }

  static func floats(_ name: String, _ dims: [Int64], _ v: [Float]) -> Onnx_TensorProto {
    var t = Onnx_TensorProto()
    t.name = name
    t.dims = dims
    t.dataType = 1
    t.floatData = v
    return t
  }

  static func model(
    nodes: [Onnx_NodeProto], inits: [Onnx_TensorProto] = [], inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto]
  ) -> Onnx_ModelProto {
    var m = Onnx_ModelProto()
    m.irVersion = 8
    var os = Onnx_OperatorSetIdProto()
    os.domain = ""
    os.version = 13
    m.opsetImport = [os]
    var g = Onnx_GraphProto()
    g.name = "t"
    g.node = nodes
    g.initializer = inits
    g.input = inputs
    g.output = outputs
    m.graph = g
    return m
  }

  static func bytes(_ m: Onnx_ModelProto) throws -> [UInt8] { try m.serializedBytes() }

  /// x[1,4] → Relu → y, the smallest valid model.
  static func relu() -> Onnx_ModelProto {
    model(
      nodes: [node("Relu", ["x"], ["y"], name: "r")], inputs: [valueInfo("x", [1, 4])], outputs: [valueInfo("y", [1, 4])])
  }
}

/// Expects an import error that is one line, names the file, and (when given) the node.
func expectImportError(
  _ bytes: [UInt8], node: String? = nil, contains: String? = nil, baseDirectory: String? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  do {
    _ = try importONNX(bytes: bytes, fileName: "bad.onnx", baseDirectory: baseDirectory)
    Issue.record("import succeeded, expected an error", sourceLocation: sourceLocation)
  } catch let e as ONNXError {
    let d = e.description
    #expect(!d.contains("\n"), "error is not one line: \(d)", sourceLocation: sourceLocation)
    #expect(d.hasPrefix("bad.onnx: "), "\(d)", sourceLocation: sourceLocation)
    if let node { #expect(d.contains("node '\(node)'"), "\(d)", sourceLocation: sourceLocation) }
    if let contains { #expect(d.contains(contains), "\(d)", sourceLocation: sourceLocation) }
  } catch {
    Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
  }
}

/// Imports without crashing: either an `ONNXError` or a graph that verifies.
func importSurvives(_ bytes: [UInt8]) -> Bool {
  do {
    let g = try importONNX(bytes: bytes, fileName: "fuzz.onnx")
    try Verifier.verify(g)
    return true
  } catch let e as ONNXError {
    return !e.description.contains("\n")
  } catch {
    return false
  }
}

@Suite struct MalformedTests {
  @Test func validSmallModelImports() throws {
    let g = try importONNX(bytes: try Build.bytes(Build.relu()))
    try Verifier.verify(g)
    #expect(g.ops.map(\.kind) == [.relu])
  }

  @Test func errorDescriptionFormat() {
    #expect(ONNXError(file: "m.onnx", node: "c1", opType: "Conv", reason: "bad\nthing").description == "m.onnx: node 'c1' (Conv): bad thing")
    #expect(ONNXError(file: "m.onnx", reason: "no graph").description == "m.onnx: no graph")
    // Any newline character (vertical tab, form feed, U+2028...), e.g. in a tensor name.
    let odd = ONNXError(file: "m.onnx", node: "a\u{0B}b", opType: "X\u{0C}", reason: "c\u{2028}d\u{85}e\r\n").description
    let hasNewline = odd.contains { $0.isNewline }
    #expect(!hasNewline, "\(odd)")
  }

  @Test func truncatedFilesAreErrors() throws {
    let data = [UInt8](try Data(contentsOf: Paths.examples.appendingPathComponent("cnn_float.onnx")))
    var cuts = Array(stride(from: 0, to: data.count, by: max(1, data.count / 300)))
    cuts += [1, 2, 3, data.count - 1, data.count - 2]
    for n in cuts {
      #expect(importSurvives(Array(data[..<n])), "truncated at \(n)")
    }
  }

  @Test func byteFlipsNeverCrash() throws {
    let data = [UInt8](try Data(contentsOf: Paths.examples.appendingPathComponent("cnn_qdq.onnx")))
    var seed: UInt64 = 0x1234_5678
    func next() -> Int {
      seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(seed >> 33)
    }
    for _ in 0..<400 {
      var b = data
      for _ in 0..<(1 + next() % 4) { b[next() % b.count] ^= UInt8(truncatingIfNeeded: 1 + next() % 255) }
      #expect(importSurvives(b))
    }
  }

  @Test func wrongWireTypesAndGarbage() throws {
    // Field 7 (graph, a message) written as a varint; field 1 (ir_version) as a string:
    // swift-protobuf keeps a field with the wrong wire type as an unknown field, so the
    // model has no graph.
    expectImportError([0x38, 0x01], contains: "no graph")
    expectImportError([0x0A, 0x03, 0x61, 0x62, 0x63], contains: "no graph")
    // Inside the graph: a node whose op_type (field 4) is a varint.
    var m = Build.relu()
    m.graph.node[0].opType = ""
    var b = try Build.bytes(m)
    b += [0x3A, 0x04, 0x0A, 0x02, 0x20, 0x07]  // graph.node += NodeProto{ field 4 as varint 7 }
    expectImportError(b, contains: "unsupported operator")
    // A length that runs past the end.
    expectImportError([0x3A, 0x7F, 0x00], contains: "protobuf")
    expectImportError([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
    // Empty input parses as an empty model: no graph.
    expectImportError([], contains: "no graph")
  }

  @Test func hugeDimensionsAreErrors() throws {
    var m = Build.relu()
    m.graph.input = [Build.valueInfo("x", [1 << 40, 1 << 40])]
    expectImportError(try Build.bytes(m), contains: "too large")
    m.graph.input = [Build.valueInfo("x", [-3, 4])]
    expectImportError(try Build.bytes(m), contains: "not positive")
    // An initializer that claims 2^60 elements with no data.
    var m2 = Build.model(
      nodes: [Build.node("Add", ["x", "w"], ["y"], name: "add")], inits: [Build.floats("w", [1 << 30, 1 << 30], [])],
      inputs: [Build.valueInfo("x", [1, 4])], outputs: [Build.valueInfo("y", [1, 4])])
    expectImportError(try Build.bytes(m2), contains: "too many elements")
    // Data that does not match the shape.
    m2.graph.initializer = [Build.floats("w", [4], [1, 2])]
    expectImportError(try Build.bytes(m2), contains: "needs 4")
    // A reshape to an absurd shape.
    var shape = Onnx_TensorProto()
    shape.name = "s"
    shape.dims = [2]
    shape.dataType = 7
    shape.int64Data = [1 << 40, 1 << 40]
    let m3 = Build.model(
      nodes: [Build.node("Reshape", ["x", "s"], ["y"], name: "rs")], inits: [shape], inputs: [Build.valueInfo("x", [1, 4])],
      outputs: [Build.valueInfo("y", [1, 4])])
    expectImportError(try Build.bytes(m3), node: "rs")
  }

  @Test func cyclesAreErrors() throws {
    let m = Build.model(
      nodes: [Build.node("Add", ["x", "b"], ["a"], name: "n1"), Build.node("Relu", ["a"], ["b"], name: "n2")],
      inputs: [Build.valueInfo("x", [1, 4])], outputs: [Build.valueInfo("b", [1, 4])])
    expectImportError(try Build.bytes(m), contains: "cycle")
    // A node reading its own output.
    let m2 = Build.model(
      nodes: [Build.node("Add", ["x", "y"], ["y"], name: "self")], inputs: [Build.valueInfo("x", [1, 4])],
      outputs: [Build.valueInfo("y", [1, 4])])
    expectImportError(try Build.bytes(m2), node: "self", contains: "cycle")
  }

  @Test func tensorsDefinedTwiceAreErrors() throws {
    let m = Build.model(
      nodes: [Build.node("Relu", ["x"], ["x"], name: "again")], inputs: [Build.valueInfo("x", [1, 4])],
      outputs: [Build.valueInfo("x", [1, 4])])
    expectImportError(try Build.bytes(m), node: "again", contains: "more than once")
    let m2 = Build.model(
      nodes: [Build.node("Relu", ["x"], ["y"], name: "a"), Build.node("Sigmoid", ["x"], ["y"], name: "b")],
      inputs: [Build.valueInfo("x", [1, 4])], outputs: [Build.valueInfo("y", [1, 4])])
    expectImportError(try Build.bytes(m2), node: "b", contains: "more than once")
  }

  @Test func unsortedNodesAreSorted() throws {
    let m = Build.model(
      nodes: [Build.node("Relu", ["a"], ["y"], name: "second"), Build.node("Sigmoid", ["x"], ["a"], name: "first")],
      inputs: [Build.valueInfo("x", [1, 4])], outputs: [Build.valueInfo("y", [1, 4])])
    let g = try importONNX(bytes: try Build.bytes(m))
    #expect(g.ops.map(\.kind) == [.logistic, .relu])
  }

  @Test func missingInitializerNamesTheNode() throws {
    let m = Build.model(
      nodes: [Build.node("Conv", ["x", "w"], ["y"], name: "conv1")], inputs: [Build.valueInfo("x", [1, 3, 8, 8])],
      outputs: [Build.valueInfo("y", [1, 4, 6, 6])])
    expectImportError(try Build.bytes(m), node: "conv1", contains: "'w' is not defined")
  }

  @Test func outputNobodyComputes() throws {
    var m = Build.relu()
    m.graph.output.append(Build.valueInfo("nowhere", [1]))
    expectImportError(try Build.bytes(m), contains: "'nowhere' is computed by no node")
  }

  @Test func unknownDataTypesAndOps() throws {
    var t = Build.floats("w", [4], [1, 2, 3, 4])
    t.dataType = 999
    let m = Build.model(
      nodes: [Build.node("Add", ["x", "w"], ["y"], name: "add")], inits: [t], inputs: [Build.valueInfo("x", [1, 4])],
      outputs: [Build.valueInfo("y", [1, 4])])
    expectImportError(try Build.bytes(m), contains: "unsupported data type 999")
    var m2 = Build.relu()
    m2.graph.input = [Build.valueInfo("x", [1, 4], type: 8)]
    expectImportError(try Build.bytes(m2), contains: "unsupported element type")
    var m3 = Build.relu()
    m3.graph.node[0].opType = "FancyOp"
    expectImportError(try Build.bytes(m3), node: "r", contains: "unsupported operator")
    var m4 = Build.relu()
    m4.graph.node[0].domain = "com.microsoft"
    expectImportError(try Build.bytes(m4), node: "r", contains: "domain")
    var m5 = Build.relu()
    m5.opsetImport = []
    expectImportError(try Build.bytes(m5), contains: "opset")
  }

  @Test func badAttributesAreErrors() throws {
    var a = Onnx_AttributeProto()
    a.name = "strides"
    a.type = .ints
    a.ints = [1 << 40, 1]
    var k = Onnx_AttributeProto()
    k.name = "kernel_shape"
    k.type = .ints
    k.ints = [2, 2]
    let m = Build.model(
      nodes: [Build.node("MaxPool", ["x"], ["y"], name: "mp", attrs: [a, k])], inputs: [Build.valueInfo("x", [1, 3, 8, 8])],
      outputs: [Build.valueInfo("y", [1, 3, 4, 4])])
    expectImportError(try Build.bytes(m), node: "mp", contains: "strides")
    k.ints = [100, 100]
    a.ints = [1, 1]
    let m2 = Build.model(
      nodes: [Build.node("MaxPool", ["x"], ["y"], name: "mp", attrs: [a, k])], inputs: [Build.valueInfo("x", [1, 3, 8, 8])],
      outputs: [Build.valueInfo("y", [1, 3, 4, 4])])
    expectImportError(try Build.bytes(m2), node: "mp", contains: "larger than")
    var wrongType = Onnx_AttributeProto()
    wrongType.name = "alpha"
    wrongType.type = .string
    wrongType.s = Data("x".utf8)
    let m3 = Build.model(
      nodes: [Build.node("LeakyRelu", ["x"], ["y"], name: "lr", attrs: [wrongType])], inputs: [Build.valueInfo("x", [1, 4])],
      outputs: [Build.valueInfo("y", [1, 4])])
    expectImportError(try Build.bytes(m3), node: "lr", contains: "alpha")
  }

  @Test func externalData() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-ext-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var raw: [UInt8] = [0, 0, 0, 0]
    for f: Float in [1, 2, 3, 4] { withUnsafeBytes(of: f.bitPattern.littleEndian) { raw += $0 } }
    try Data(raw).write(to: dir.appendingPathComponent("weights.bin"))
    func model(location: String, offset: String = "4", length: String? = "16") throws -> [UInt8] {
      var t = Onnx_TensorProto()
      t.name = "w"
      t.dims = [4]
      t.dataType = 1
      t.dataLocation = .external
      var entries: [(String, String)] = [("location", location), ("offset", offset)]
      if let length { entries.append(("length", length)) }
      t.externalData = entries.map {
        var e = Onnx_StringStringEntryProto()
        e.key = $0.0
        e.value = $0.1
        return e
      }
      return try Build.bytes(
        Build.model(
          nodes: [Build.node("Add", ["x", "w"], ["y"], name: "add")], inits: [t], inputs: [Build.valueInfo("x", [1, 4])],
          outputs: [Build.valueInfo("y", [1, 4])]))
    }
    let g = try importONNX(bytes: try model(location: "weights.bin"), baseDirectory: dir.path)
    let w = g.constants.first { g.type(of: $0.key).shape == [4] }
    #expect(w.map { NDArray(shape: [4], elementType: .f32, bytes: $0.value.bytes).floats } == [1, 2, 3, 4])
    expectImportError(try model(location: "/etc/passwd"), contains: "absolute", baseDirectory: dir.path)
    expectImportError(try model(location: "../weights.bin"), contains: "leaves", baseDirectory: dir.path)
    expectImportError(try model(location: "sub/../../x.bin"), contains: "leaves", baseDirectory: dir.path)
    expectImportError(try model(location: "weights.bin", offset: "100"), contains: "outside", baseDirectory: dir.path)
    expectImportError(try model(location: "weights.bin", length: "400"), contains: "outside", baseDirectory: dir.path)
    expectImportError(try model(location: "weights.bin", offset: "0", length: "8"), contains: "needs 16", baseDirectory: dir.path)
    expectImportError(try model(location: "missing.bin"), contains: "cannot open", baseDirectory: dir.path)
    expectImportError(try model(location: "weights.bin"), contains: "external data")
  }
}
