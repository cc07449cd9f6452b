import Foundation
import TinyIR

/// Imports a .tflite model (schema version 3, subgraph 0) as a verified `Graph`.
///
/// Every TFLite tensor the graph uses becomes a value named `t<index>`; constant tensors
/// (a non-empty buffer) become constants; every op carries `loc(tflite:op i "<output name>")`.
/// Malformed files throw a `TFLiteError` naming the byte, operator or tensor at fault.
public func importTFLite(_ bytes: [UInt8], fileName: String) throws -> Graph {
  try importTFLiteFolding(bytes, fileName: fileName).graph
}

/// `importTFLite`, and the operators it evaluated at import (shape arithmetic, DEQUANTIZE of
/// constants), which are not in the graph: operator index → its output, for comparing with
/// a reference runtime's per-operator tensors.
public func importTFLiteFolding(_ bytes: [UInt8], fileName: String) throws -> (graph: Graph, folded: [Int: NDArray]) {
  do {
    var importer = Importer(bytes, graphName: graphName(from: fileName))
    let graph = try importer.run()
    return (graph, importer.foldedOps)
  } catch var e as TFLiteError {
    e.file = fileName
    throw e
  } catch let e as FlatBufferError {
    throw TFLiteError(file: fileName, e.message, at: .byte(e.offset))
  }
}

/// Reads the file at `path` and imports it; errors name the file as given.
public func importTFLite(path: String) throws -> Graph {
  guard let data = FileManager.default.contents(atPath: path) else {
    throw TFLiteError(file: path, "cannot read the file")
  }
  return try importTFLite([UInt8](data), fileName: path)
}

/// The graph name: the file's stem with everything outside [A-Za-z0-9_] replaced by `_`.
func graphName(from fileName: String) -> String {
  var stem = Substring(fileName)
  if let slash = stem.lastIndex(of: "/") { stem = stem[stem.index(after: slash)...] }
  if let dot = stem.lastIndex(of: "."), dot != stem.startIndex { stem = stem[..<dot] }
  let name = String(stem.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
  return name.isEmpty ? "model" : name
}

/// One TFLite tensor as the file describes it.
struct TensorInfo {
  var index: Int
  var shape: [Int]
  var type: Int
  var buffer: Int
  var name: String
  var data: [UInt8]?
  var min: [Float] = [], max: [Float] = []
  var scales: [Float] = []
  var zeroPoints: [Int] = []
  var quantizedDimension = 0
  var detailsType = 0
  var isVariable = false
  var isSparse = false
  var shapeSignature: [Int] = []
}

/// One operator of subgraph 0.
struct OpInfo {
  var index: Int
  var code: Int
  var name: String
  var inputs: [Int]
  var outputs: [Int]
  var table: Table
}

/// A builtin options table, or the schema defaults when it is absent.
struct Options {
  var table: Table?
  func int(_ id: Int, size: Int = 4, default d: Int = 0) throws(FlatBufferError) -> Int {
    try table?.int(id, size: size, default: d) ?? d
  }
  func bool(_ id: Int) throws(FlatBufferError) -> Bool { try table?.bool(id) ?? false }
  func float(_ id: Int) throws(FlatBufferError) -> Float { try table?.float(id) ?? 0 }
}

struct Importer {
  static let maxRank = 8
  /// Largest stride, dilation or pooling window accepted (bounds the window arithmetic).
  static let maxWindow = 1 << 20

  let fb: FlatBuffer
  let graphName: String
  var graph: Graph
  var tensorTables: [Table] = []
  var bufferTables: [Table] = []
  var tensors: [Int: TensorInfo] = [:]
  var bufferData: [Int: [UInt8]?] = [:]
  /// The IR value of each TFLite tensor defined so far.
  var values: [Int: ValueID] = [:]
  /// The operator that produces each tensor.
  var producer: [Int: Int] = [:]
  /// Tensors computed at import (shape arithmetic, dequantized constants), by tensor index;
  /// they become graph constants only if an operator that stays in the graph reads them.
  var folded: [Int: NDArray] = [:]
  /// The value each folded operator computed, by operator index.
  var foldedOps: [Int: NDArray] = [:]
  var description = ""

  init(_ bytes: [UInt8], graphName: String) {
    fb = FlatBuffer(bytes)
    self.graphName = graphName
    graph = Graph(name: graphName)
  }

  mutating func run() throws -> Graph {
    let bytes = fb.bytes
    try fb.check(0, 8, "the file header")
    guard Array(bytes[4..<8]) == Schema.fileIdentifier else {
      let id = bytes[4..<8].map { $0 >= 32 && $0 < 127 ? String(UnicodeScalar($0)) : "\\x\(hex($0))" }
      throw TFLiteError(
        "not a TFLite model: the file identifier is \"\(id.joined())\", not \"TFL3\"", at: .byte(4))
    }
    let model = try fb.root()
    let version = try model.int(Schema.Model.version, size: 4)
    guard version == Schema.version else {
      throw TFLiteError("schema version \(version) is not supported (expected 3)", at: .byte(model.pos))
    }
    let codes = try model.tables(Schema.Model.operatorCodes, "operator code").map { t throws in
      let deprecated = try t.int(Schema.OperatorCode.deprecatedBuiltinCode, size: 1)
      let code = try t.int(Schema.OperatorCode.builtinCode, size: 4)
      return (code: max(deprecated, code), custom: try t.string(Schema.OperatorCode.customCode) ?? "")
    }
    let subgraphs = try model.tables(Schema.Model.subgraphs, "subgraph")
    description = try model.string(Schema.Model.description) ?? ""
    bufferTables = try model.tables(Schema.Model.buffers, "buffer")
    guard let sg = subgraphs.first else { throw TFLiteError("the model has no subgraphs", at: .byte(model.pos)) }
    tensorTables = try sg.tables(Schema.SubGraph.tensors, "tensor")
    let inputs = try sg.ints(Schema.SubGraph.inputs, size: 4) ?? []
    let outputs = try sg.ints(Schema.SubGraph.outputs, size: 4) ?? []
    var ops: [OpInfo] = []
    var unsupported: [String] = []
    for (i, t) in try sg.tables(Schema.SubGraph.operators, "operator").enumerated() {
      let k = try t.int(Schema.Operator.opcodeIndex, size: 4)
      guard codes.indices.contains(k) else {
        throw TFLiteError(
          "operator code index \(k) is out of range (the model has \(codes.count))", at: .op(i, "?"))
      }
      var name = Schema.operatorName(codes[k].code)
      if codes[k].code == Schema.Op.custom { name += " '\(codes[k].custom)'" }
      if !Self.supported.contains(codes[k].code) { unsupported.append("\(i) (\(name))") }
      ops.append(
        OpInfo(
          index: i, code: codes[k].code, name: name,
          inputs: try t.ints(Schema.Operator.inputs, size: 4) ?? [],
          outputs: try t.ints(Schema.Operator.outputs, size: 4) ?? [], table: t))
    }
    if !unsupported.isEmpty {
      var msg = "unsupported operators: " + unsupported.joined(separator: ", ")
      if subgraphs.count > 1 {
        msg += "; the model has \(subgraphs.count) subgraphs and only subgraph 0 can be imported"
      }
      throw TFLiteError(msg)
    }
    for op in ops {
      for j in op.outputs {
        try checkIndex(j, of: op)
        if let p = producer[j] {
          throw TFLiteError("is produced by operator \(p) and again by operator \(op.index)", at: .tensor(j))
        }
        producer[j] = op.index
      }
    }
    for j in inputs {
      guard tensorTables.indices.contains(j) else {
        throw TFLiteError("graph input \(j) is not a tensor (the subgraph has \(tensorTables.count))")
      }
      guard values[j] == nil else { throw TFLiteError("is a graph input twice", at: .tensor(j)) }
      if let p = producer[j] {
        throw TFLiteError("is a graph input but operator \(p) produces it", at: .tensor(j))
      }
      let t = try tensor(j)
      guard t.data == nil else { throw TFLiteError("is a graph input but has constant data", at: .tensor(j)) }
      values[j] = graph.addInput(name: "t\(j)", type: try irType(t))
    }
    for op in ops { try map(op) }
    for j in outputs {
      guard tensorTables.indices.contains(j) else {
        throw TFLiteError("graph output \(j) is not a tensor (the subgraph has \(tensorTables.count))")
      }
      if values[j] == nil, try tensor(j).data != nil { _ = try constant(j) }
      guard let v = values[j] else { throw TFLiteError("is a graph output but nothing produces it", at: .tensor(j)) }
      graph.outputs.append(v)
    }
    do {
      try Verifier.verify(graph)
    } catch {
      throw TFLiteError("the imported graph does not verify: \(error.message)")
    }
    return graph
  }

  static let supported: Set<Int> = {
    let o = Schema.Op.self
    return [
      o.add, o.averagePool2D, o.concatenation, o.conv2D, o.depthwiseConv2D, o.dequantize, o.fullyConnected,
      o.logistic, o.maxPool2D, o.mul, o.relu, o.reluN1To1, o.relu6, o.reshape, o.softmax, o.tanh, o.pad,
      o.transpose, o.mean, o.sub, o.squeeze, o.stridedSlice, o.padV2, o.leakyRelu, o.quantize, o.hardSwish,
      o.expandDims, o.shape, o.pack,
    ]
  }()

  // MARK: Tensors

  func checkIndex(_ j: Int, of op: OpInfo) throws {
    guard tensorTables.indices.contains(j) else {
      throw TFLiteError(
        "tensor index \(j) is out of range (the subgraph has \(tensorTables.count) tensors)",
        at: .op(op.index, op.name))
    }
  }

  /// Reads tensor `j` (once) with its shape checked and its constant data, if any.
  mutating func tensor(_ j: Int) throws -> TensorInfo {
    if let t = tensors[j] { return t }
    let table = tensorTables[j]
    let T = Schema.Tensor.self
    let shape = try table.ints(T.shape, size: 4) ?? []
    guard shape.count <= Self.maxRank else {
      throw TFLiteError("rank \(shape.count) is larger than \(Self.maxRank)", at: .tensor(j))
    }
    var n = 1
    for d in shape {
      guard d > 0 else { throw TFLiteError("dimension \(d) in shape \(shape) must be positive", at: .tensor(j)) }
      let (m, o) = n.multipliedReportingOverflow(by: d)
      guard !o, m <= Verifier.maxElements else { throw TFLiteError("shape \(shape) is too large", at: .tensor(j)) }
      n = m
    }
    var t = TensorInfo(
      index: j, shape: shape, type: try table.int(T.type, size: 1),
      buffer: Int(try table.uint(T.buffer, size: 4)), name: try table.string(T.name) ?? "",
      data: nil)
    if let q = try table.table(T.quantization, "the quantization of tensor \(j)") {
      let Q = Schema.Quantization.self
      t.min = try q.floats(Q.min) ?? []
      t.max = try q.floats(Q.max) ?? []
      t.scales = try q.floats(Q.scale) ?? []
      t.zeroPoints = try q.ints(Q.zeroPoint, size: 8) ?? []
      t.detailsType = try q.int(Q.detailsType, size: 1) & 0xff
      t.quantizedDimension = try q.int(Q.quantizedDimension, size: 4)
    }
    t.isVariable = try table.bool(T.isVariable)
    t.isSparse = try table.table(T.sparsity, "the sparsity of tensor \(j)") != nil
    t.shapeSignature = try table.ints(T.shapeSignature, size: 4) ?? []
    t.data = try buffer(t.buffer, tensor: j)
    tensors[j] = t
    return t
  }

  /// The contents of buffer `b`, nil when it is empty (buffer 0 always is).
  mutating func buffer(_ b: Int, tensor j: Int) throws -> [UInt8]? {
    if b == 0 { return nil }
    if let d = bufferData[b] { return d }
    guard bufferTables.indices.contains(b) else {
      throw TFLiteError("buffer index \(b) is out of range (the model has \(bufferTables.count))", at: .tensor(j))
    }
    let t = bufferTables[b]
    var data = try t.bytes(Schema.Buffer.data)
    if data?.isEmpty ?? true {
      data = nil
      let offset = try t.uint(Schema.Buffer.offset, size: 8)
      let size = try t.uint(Schema.Buffer.size, size: 8)
      if offset > 1 {
        let count = UInt64(fb.bytes.count)
        guard offset <= count, size <= count - offset else {
          throw TFLiteError(
            "buffer \(b) has \(size) bytes at offset \(offset), outside the \(count)-byte file "
              + "(models with data outside the flatbuffer must be complete files)", at: .tensor(j))
        }
        try fb.charge(Int(size), at: Int(offset))
        if size > 0 { data = Array(fb.bytes[Int(offset)..<Int(offset + size)]) }
      }
    }
    bufferData[b] = .some(data)
    return data
  }

  /// The IR type of a tensor: element type, shape and quantization, all checked.
  func irType(_ t: TensorInfo) throws -> TensorType {
    let j = t.index
    let T = Schema.TensorType.self
    let et: ElementType
    switch t.type {
    case T.float32: et = .f32
    case T.int64:
      // 16x8 layers carry int64 biases; no kernel reads or writes int64 activations.
      guard t.data != nil else {
        throw TFLiteError("element type INT64 is not supported except for constants (16x8 biases)", at: .tensor(j))
      }
      et = .i64
    case T.int32: et = .i32
    case T.int16: et = .i16
    case T.int8: et = .i8
    case T.uint8: et = .u8
    case T.int4:
      // TFLite Micro runs INT4 only as constant filters (int8 activations); packed, low nibble first.
      guard t.data != nil else {
        throw TFLiteError(
          "INT4 is supported only for constant weights (TFLite Micro runs int4 filters with int8 activations)",
          at: .tensor(j))
      }
      et = .i4
    default: throw TFLiteError("element type \(T.name(t.type)) is not supported", at: .tensor(j))
    }
    guard !t.isVariable else { throw TFLiteError("variable tensors are not supported", at: .tensor(j)) }
    guard !t.isSparse else { throw TFLiteError("sparse tensors are not supported", at: .tensor(j)) }
    guard et != .f32, !t.scales.isEmpty else { return TensorType(t.shape, et) }
    guard t.detailsType == 0 else {
      throw TFLiteError("custom quantization details are not supported", at: .tensor(j))
    }
    guard t.zeroPoints.isEmpty || t.zeroPoints.count == t.scales.count else {
      throw TFLiteError(
        "quantization has \(t.scales.count) scales but \(t.zeroPoints.count) zero points", at: .tensor(j))
    }
    if let s = t.scales.first(where: { !($0 > 0 && $0.isFinite) }) {
      throw TFLiteError("quantization scale \(s) must be positive and finite", at: .tensor(j))
    }
    let zps = t.zeroPoints.isEmpty ? Array(repeating: 0, count: t.scales.count) : t.zeroPoints
    if let z = zps.first(where: { !et.integerRange.contains($0) }) {
      throw TFLiteError("zero point \(z) is outside the range of \(T.name(t.type))", at: .tensor(j))
    }
    if t.scales.count == 1 {
      return TensorType(t.shape, et, Quantization(scale: t.scales[0], zeroPoint: zps[0]))
    }
    var axis = t.quantizedDimension
    if t.shape.count == 1, !t.shape.indices.contains(axis) {
      // Older converters wrote quantized_dimension 3 on 1-D biases. TFLite Micro copies the field
      // unchecked and its kernels never read a bias's scales by axis: the only axis is meant.
      axis = 0
    }
    guard t.shape.indices.contains(axis), t.shape[axis] == t.scales.count else {
      throw TFLiteError(
        "\(t.scales.count) quantization scales do not match quantized dimension \(axis) of shape \(t.shape)",
        at: .tensor(j))
    }
    return TensorType(t.shape, et, Quantization(scales: t.scales, zeroPoints: zps, axis: axis))
  }

  /// Adds constant tensor `j` to the graph.
  mutating func constant(_ j: Int) throws -> ValueID {
    let t = try tensor(j)
    let type = try irType(t)
    guard let data = t.data, data.count == type.byteCount else {
      let packing = type.elementType == .i4 ? " (two 4-bit values per byte, the last one padded)" : ""
      throw TFLiteError(
        "buffer \(t.buffer) has \(t.data?.count ?? 0) bytes, but shape \(t.shape) of "
          + "\(Schema.TensorType.name(t.type)) needs \(type.byteCount)\(packing)", at: .tensor(j))
    }
    let v = graph.addConstant(name: "t\(j)", type: type, bytes: data)
    values[j] = v
    return v
  }

  /// The value operator `op` reads as tensor `j`: already defined, or a constant.
  mutating func operand(_ j: Int, of op: OpInfo) throws -> ValueID {
    if let v = values[j] { return v }
    try checkIndex(j, of: op)
    if let a = folded[j] {
      let v = graph.addConstant(name: "t\(j)", type: TensorType(a.shape, a.elementType), bytes: a.bytes)
      values[j] = v
      return v
    }
    if let p = producer[j] {
      let who = p == op.index ? "the operator itself" : "operator \(p), which comes later"
      throw TFLiteError("reads tensor \(j) before it is produced (by \(who))", at: .op(op.index, op.name))
    }
    guard try tensor(j).data != nil else {
      throw TFLiteError(
        "reads tensor \(j), which is no graph input, constant or operator output", at: .op(op.index, op.name))
    }
    return try constant(j)
  }

  /// The integers in constant tensor `j` (INT32 or INT64), for operands such as paddings and axes.
  mutating func constantInts(_ j: Int, of op: OpInfo, _ what: String) throws -> [Int] {
    try checkIndex(j, of: op)
    if let a = folded[j], a.elementType == .i32 { return a.integers }
    let t = try tensor(j)
    let size: Int
    switch t.type {
    case Schema.TensorType.int32: size = 4
    case Schema.TensorType.int64: size = 8
    default:
      throw TFLiteError(
        "\(what) (tensor \(j)) must be INT32 or INT64, not \(Schema.TensorType.name(t.type))",
        at: .op(op.index, op.name))
    }
    guard let data = t.data else {
      throw TFLiteError("\(what) (tensor \(j)) must be a constant", at: .op(op.index, op.name))
    }
    let n = t.shape.reduce(1, *)
    guard data.count == n * size else {
      throw TFLiteError("buffer \(t.buffer) has \(data.count) bytes, its shape needs \(n * size)", at: .tensor(j))
    }
    return (0..<n).map { k in
      var v: UInt64 = 0
      for b in (0..<size).reversed() { v = v << 8 | UInt64(data[k * size + b]) }
      let shift = UInt64(64 - 8 * size)
      return Int(Int64(bitPattern: v << shift) >> Int64(shift))
    }
  }
}

func hex(_ b: UInt8) -> String {
  let d = Array("0123456789abcdef")
  return String([d[Int(b >> 4)], d[Int(b & 15)]])
}
