import TinyIR

/// An error while preparing or running a graph: one line that names the op (index, kind,
/// location) when there is one.
public struct InterpreterError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The reference interpreter: runs a `Graph` op by op on the host. Integer ops are bit-exact
/// with TFLite Micro's reference kernels (the per-op multipliers, shifts and activation
/// ranges are computed once, in `init`, the way TFLM's Prepare computes them); float ops
/// follow TFLite's reference float kernels.
///
///     let interpreter = try Interpreter(graph)
///     let outputs = try interpreter.run([input]) { index, op, results in … }
public struct Interpreter: Sendable {
  public let graph: Graph
  private let kernels: [Kernel]
  private let constants: [Storage?]

  /// Verifies the graph and prepares every op. Throws on ops or types it cannot run.
  public init(_ graph: Graph) throws {
    do {
      try Verifier.verify(graph)
    } catch {
      throw InterpreterError("graph @\(graph.name) does not verify: \(error.message)")
    }
    self.graph = graph
    var constants = [Storage?](repeating: nil, count: graph.values.count)
    for (id, data) in graph.constants {
      constants[id.index] = try Storage.decode(
        data.bytes, as: graph.type(of: id), what: "constant %\(graph[id].name)")
    }
    self.constants = constants
    var kernels: [Kernel] = []
    kernels.reserveCapacity(graph.ops.count)
    for (i, op) in graph.ops.enumerated() {
      let context = OpContext(graph: graph, op: op, index: i, constants: constants)
      do {
        kernels.append(try prepareKernel(context))
      } catch let error as KernelError {
        throw InterpreterError("\(context.what): \(error.message)")
      }
    }
    self.kernels = kernels
  }

  /// Runs the graph on `inputs` (one per graph input, in order, with the input's exact shape
  /// and element type) and returns the graph outputs. `observe` is called after each op with
  /// the op's index, the op and its results.
  public func run(
    _ inputs: [NDArray], observe: ((Int, Op, [NDArray]) -> Void)? = nil
  ) throws -> [NDArray] {
    guard inputs.count == graph.inputs.count else {
      throw InterpreterError(
        "graph @\(graph.name) takes \(graph.inputs.count) inputs, got \(inputs.count)")
    }
    var values = constants
    for (k, (id, array)) in zip(graph.inputs, inputs).enumerated() {
      let t = graph.type(of: id)
      guard array.shape == t.shape else {
        throw InterpreterError(
          "input \(k) (%\(graph[id].name)) must have shape \(t.shape), got \(array.shape)")
      }
      guard array.elementType == t.elementType else {
        throw InterpreterError(
          "input \(k) (%\(graph[id].name)) must be \(t.elementType.rawValue), got \(array.elementType.rawValue)"
        )
      }
      values[id.index] = try Storage.decode(array.bytes, as: t, what: "input \(k) (%\(graph[id].name))")
    }
    for (i, op) in graph.ops.enumerated() {
      var operands: [Storage] = []
      operands.reserveCapacity(op.inputs.count)
      for v in op.inputs {
        guard let s = values[v.index] else {
          throw InterpreterError("op \(i) (\(op.kind.mnemonic), \(op.location)): operand %\(graph[v].name) has no value")
        }
        operands.append(s)
      }
      let results: [Storage]
      do {
        results = try kernels[i](operands)
      } catch let error as KernelError {
        throw InterpreterError("op \(i) (\(op.kind.mnemonic), \(op.location)): \(error.message)")
      }
      guard results.count == op.outputs.count else {
        throw InterpreterError("op \(i) (\(op.kind.mnemonic), \(op.location)): kernel gave \(results.count) results")
      }
      for (v, r) in zip(op.outputs, results) { values[v.index] = r }
      if let observe {
        observe(i, op, zip(op.outputs, results).map { $1.ndarray(graph.type(of: $0)) })
      }
    }
    return try graph.outputs.map { id in
      guard let s = values[id.index] else {
        throw InterpreterError("graph output %\(graph[id].name) has no value")
      }
      return s.ndarray(graph.type(of: id))
    }
  }
}

/// An error from a kernel; `Interpreter` adds the op's index, kind and location.
struct KernelError: Error {
  var message: String
  init(_ message: String) { self.message = message }
}

/// A prepared op: operand storages in, result storages out. Shapes and parameters are
/// captured when the op is prepared.
typealias Kernel = @Sendable ([Storage]) throws -> [Storage]

/// Element storage inside the interpreter. Integer tensors of 8 bits or fewer (i8, i4, i2)
/// live unpacked as `Int8` values.
enum Storage: Sendable {
  case i8([Int8])
  case i16([Int16])
  case i32([Int32])
  case i64([Int64])
  case f32([Float])

  var count: Int {
    switch self {
    case .i8(let a): return a.count
    case .i16(let a): return a.count
    case .i32(let a): return a.count
    case .i64(let a): return a.count
    case .f32(let a): return a.count
    }
  }

  func int8s() throws -> [Int8] {
    if case .i8(let a) = self { return a }
    throw KernelError("expected an 8-bit (or narrower) integer operand")
  }

  func int32s() throws -> [Int32] {
    if case .i32(let a) = self { return a }
    throw KernelError("expected an i32 operand")
  }

  func floats() throws -> [Float] {
    if case .f32(let a) = self { return a }
    throw KernelError("expected an f32 operand")
  }

  /// Decodes little-endian bytes of a tensor type (sub-byte types unpacked).
  static func decode(_ bytes: [UInt8], as t: TensorType, what: String) throws -> Storage {
    guard bytes.count == t.byteCount else {
      throw InterpreterError("\(what) has \(bytes.count) bytes, its type needs \(t.byteCount)")
    }
    let n = t.elementCount
    switch t.elementType {
    case .i8:
      return .i8(bytes.map { Int8(bitPattern: $0) })
    case .i4, .i2:
      let a = NDArray(shape: t.shape, elementType: t.elementType, bytes: bytes)
      return .i8(a.integers.map { Int8(truncatingIfNeeded: $0) })
    case .i32:
      var out = [Int32](repeating: 0, count: n)
      for i in 0..<n {
        let o = 4 * i
        let u = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        out[i] = Int32(bitPattern: u)
      }
      return .i32(out)
    case .f32:
      var out = [Float](repeating: 0, count: n)
      for i in 0..<n {
        let o = 4 * i
        let u = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        out[i] = Float(bitPattern: u)
      }
      return .f32(out)
    case .i16, .i64:
      return decodeWide(bytes, as: t.elementType)
    case .u8:
      throw InterpreterError("\(what): element type \(t.elementType.rawValue) is not supported by the interpreter")
    }
  }

  /// The values as an `NDArray` of type `t` (packed for sub-byte types).
  func ndarray(_ t: TensorType) -> NDArray {
    switch self {
    case .i8(let a):
      switch t.elementType {
      case .i4, .i2: return NDArray.pack(a.map { Int($0) }, as: t.elementType, shape: t.shape)
      default: return NDArray(shape: t.shape, int8s: a)
      }
    case .i32(let a): return NDArray(shape: t.shape, int32s: a)
    case .i16(let a): return NDArray.pack(a.map { Int($0) }, as: .i16, shape: t.shape)
    case .i64(let a): return NDArray.pack(a.map { Int($0) }, as: .i64, shape: t.shape)
    case .f32(let a): return NDArray(shape: t.shape, floats: a)
    }
  }
}

/// What a kernel factory sees of its op.
struct OpContext {
  let graph: Graph
  let op: Op
  let index: Int
  let constants: [Storage?]

  var what: String { "op \(index) (\(op.kind.mnemonic), \(op.location))" }
  var inputTypes: [TensorType] { op.inputs.map { graph.type(of: $0) } }
  var outputTypes: [TensorType] { op.outputs.map { graph.type(of: $0) } }
  /// The first operand's type.
  var x: TensorType { graph.type(of: op.inputs[0]) }
  /// The first result's type.
  var y: TensorType { graph.type(of: op.outputs[0]) }
  func input(_ i: Int) -> TensorType { graph.type(of: op.inputs[i]) }
  /// The decoded constant behind operand `i`, if it is a constant.
  func constant(_ i: Int) -> Storage? { constants[op.inputs[i].index] }
}
