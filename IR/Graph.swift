/// Identifies an SSA value inside one `Graph`.
public struct ValueID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public var index: Int
  public init(_ index: Int) { self.index = index }
  public static func < (a: ValueID, b: ValueID) -> Bool { a.index < b.index }
  public var description: String { "v\(index)" }
}

/// A value: its name in the text form (unique in the graph, without `%`) and its type.
public struct Value: Hashable, Sendable {
  public var name: String
  public var type: TensorType
  public init(name: String, type: TensorType) {
    self.name = name
    self.type = type
  }
}

/// Where an op came from: a front-end position (`tflite:op 12`, `onnx:conv1`) plus the name of
/// the tensor it produced there. Passes keep it when they rewrite an op from another.
public struct Location: Hashable, Sendable, CustomStringConvertible {
  /// "tflite", "onnx", or a pass name for ops a pass made up.
  public var source: String
  /// The operator index in the source model, when it has one.
  public var index: Int?
  /// The source tensor or node name.
  public var name: String

  public init(source: String, index: Int? = nil, name: String = "") {
    self.source = source
    self.index = index
    self.name = name
  }

  public static let unknown = Location(source: "unknown")
  public static func tflite(op: Int, tensor: String) -> Location {
    Location(source: "tflite", index: op, name: tensor)
  }

  public var description: String {
    var s = source
    if let index { s += ":op \(index)" }
    if !name.isEmpty { s += " \"\(name)\"" }
    return s
  }
}

/// A constant tensor's contents: raw little-endian bytes, packed for sub-byte types.
public struct ConstantData: Hashable, Sendable {
  public var bytes: [UInt8]
  public init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// One operation: a kind with typed attributes, operand values, result values, a location.
public struct Op: Hashable, Sendable {
  public var kind: OpKind
  public var inputs: [ValueID]
  public var outputs: [ValueID]
  public var location: Location

  public init(_ kind: OpKind, inputs: [ValueID], outputs: [ValueID], location: Location) {
    self.kind = kind
    self.inputs = inputs
    self.outputs = outputs
    self.location = location
  }
}

/// A whole model: graph inputs, constants, ops in execution order, outputs. Every value is
/// defined once: as a graph input, a constant, or an op result.
public struct Graph: Hashable, Sendable {
  public var name: String
  public var values: [Value] = []
  public var inputs: [ValueID] = []
  public var outputs: [ValueID] = []
  public var constants: [ValueID: ConstantData] = [:]
  public var ops: [Op] = []

  public init(name: String) { self.name = name }

  public subscript(_ id: ValueID) -> Value {
    get { values[id.index] }
    set { values[id.index] = newValue }
  }

  public func type(of id: ValueID) -> TensorType { values[id.index].type }

  /// Adds a value with a fresh name derived from `name` and returns its id.
  @discardableResult
  public mutating func addValue(name: String, type: TensorType) -> ValueID {
    let id = ValueID(values.count)
    values.append(Value(name: name, type: type))
    return id
  }

  @discardableResult
  public mutating func addInput(name: String, type: TensorType) -> ValueID {
    let id = addValue(name: name, type: type)
    inputs.append(id)
    return id
  }

  @discardableResult
  public mutating func addConstant(name: String, type: TensorType, bytes: [UInt8]) -> ValueID {
    let id = addValue(name: name, type: type)
    constants[id] = ConstantData(bytes)
    return id
  }

  /// Appends an op whose results get the given names and types; returns the result ids.
  @discardableResult
  public mutating func addOp(
    _ kind: OpKind, inputs: [ValueID], results: [(name: String, type: TensorType)],
    location: Location
  ) -> [ValueID] {
    let outs = results.map { addValue(name: $0.name, type: $0.type) }
    ops.append(Op(kind, inputs: inputs, outputs: outs, location: location))
    return outs
  }

  public func isConstant(_ id: ValueID) -> Bool { constants[id] != nil }

  /// Index of the op that defines each value (nil for inputs and constants).
  public func definingOps() -> [ValueID: Int] {
    var d: [ValueID: Int] = [:]
    for (i, op) in ops.enumerated() { for o in op.outputs { d[o] = i } }
    return d
  }

  /// For each value, the indices of the ops that read it, in order.
  public func users() -> [ValueID: [Int]] {
    var u: [ValueID: [Int]] = [:]
    for (i, op) in ops.enumerated() { for v in op.inputs { u[v, default: []].append(i) } }
    return u
  }

  /// Sum of constant bytes.
  public var constantBytes: Int { constants.values.reduce(0) { $0 + $1.bytes.count } }

  /// Renumbers values in definition order (inputs, constants by id, op results) and drops
  /// values nothing defines. Two graphs that print the same text are equal once canonical.
  public func canonicalized() -> Graph {
    var order: [ValueID] = inputs
    order += constants.keys.sorted().filter { !inputs.contains($0) }
    for op in ops { order += op.outputs }
    var map: [ValueID: ValueID] = [:]
    var g = Graph(name: name)
    for old in order where map[old] == nil {
      map[old] = g.addValue(name: self[old].name, type: self[old].type)
    }
    func m(_ v: ValueID) -> ValueID { map[v] ?? v }
    g.inputs = inputs.map(m)
    g.outputs = outputs.map(m)
    for (k, c) in constants { if let nk = map[k] { g.constants[nk] = c } }
    g.ops = ops.map { Op($0.kind, inputs: $0.inputs.map(m), outputs: $0.outputs.map(m), location: $0.location) }
    return g
  }
}
