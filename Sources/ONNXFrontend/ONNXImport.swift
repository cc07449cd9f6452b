import Foundation
import SwiftProtobuf
import TinyIR

/// An import error: one line, `<file>: node '<name>' (<op_type>): <reason>`, or
/// `<file>: <reason>` when no node is involved.
public struct ONNXError: Error, CustomStringConvertible, Sendable {
  public var file: String
  public var node: String?
  public var opType: String?
  public var reason: String

  public init(file: String, node: String? = nil, opType: String? = nil, reason: String) {
    self.file = file
    self.node = node
    self.opType = opType
    self.reason = reason
  }

  public var description: String {
    func oneLine(_ s: String) -> String {
      String(s.map { $0.isNewline ? " " : $0 })
    }
    if let node {
      return oneLine("\(file): node '\(node)' (\(opType ?? "?")): \(reason)")
    }
    return oneLine("\(file): \(reason)")
  }
}

/// How a graph input or output of the imported `Graph` relates to the ONNX model's tensor.
public enum ONNXLayout: String, Sendable, Hashable {
  /// Same shape and element order as in the ONNX model.
  case unchanged
  /// The ONNX tensor is 4-D NCHW; the graph's value is the same data in NHWC order.
  case nchwAsNHWC
  /// The ONNX tensor is 3-D NCL (the input of a 1-D convolution or pool); the graph's value
  /// is the same data in NLC order.
  case nclAsNLC
}

/// One graph input or output and how to convert data between ONNX's form and the graph's.
public struct ONNXIO: Sendable, Hashable {
  /// The tensor's name in the ONNX model.
  public var onnxName: String
  /// The graph value's name (without `%`).
  public var valueName: String
  /// The shape in the ONNX model (NCHW for `.nchwAsNHWC`), symbolic dimensions resolved.
  public var onnxShape: [Int]
  public var layout: ONNXLayout
  /// The ONNX tensor is uint8; the graph holds it as int8 (value − 128, zero point − 128),
  /// as TFLite does, since the integer kernels are int8.
  public var uint8AsInt8: Bool
  /// The ONNX tensor is uint4; the graph holds it as int4 (value − 8). Its host form (in
  /// .npy files and `ONNXTensor.ndarray`) is uint8, one value in [0, 15] per byte.
  public var uint4AsInt4 = false

  /// Converts data in the ONNX model's layout and type into what the graph input takes:
  /// NCHW → NHWC when `layout == .nchwAsNHWC`, uint8 → int8 (−128) when `uint8AsInt8`,
  /// uint4 (held in uint8) → int4 (−8) when `uint4AsInt4`.
  public func prepare(_ a: NDArray) throws -> NDArray {
    guard a.shape == onnxShape else {
      throw ONNXError(file: onnxName, reason: "expected shape \(onnxShape), got \(a.shape)")
    }
    var r = a
    if uint8AsInt8 {
      guard a.elementType == .u8 || a.elementType == .i8 else {
        throw ONNXError(file: onnxName, reason: "expected uint8 data, got \(a.elementType.rawValue)")
      }
      if a.elementType == .u8 { r = NDArray(shape: a.shape, elementType: .i8, bytes: a.bytes.map { $0 ^ 0x80 }) }
    }
    if uint4AsInt4 && a.elementType != .i4 {
      guard a.elementType == .u8, a.bytes.allSatisfy({ $0 <= 15 }) else {
        throw ONNXError(file: onnxName, reason: "expected uint4 data (uint8 values in [0, 15]), got \(a.elementType.rawValue)")
      }
      r = NDArray.pack(a.bytes.map { Int($0) - 8 }, as: .i4, shape: a.shape)
    }
    if layout == .nchwAsNHWC { r = transpose4(r, [0, 2, 3, 1]) }
    if layout == .nclAsNLC, r.shape.count == 3 { r = r.transposed([0, 2, 1]) }
    return r
  }

  /// Converts a graph output back into the ONNX model's layout and type.
  public func restore(_ a: NDArray) -> NDArray {
    var r = a
    if layout == .nchwAsNHWC, a.shape.count == 4 { r = transpose4(r, [0, 3, 1, 2]) }
    if layout == .nclAsNLC, a.shape.count == 3 { r = r.transposed([0, 2, 1]) }
    if uint8AsInt8, r.elementType == .i8 {
      r = NDArray(shape: r.shape, elementType: .u8, bytes: r.bytes.map { $0 ^ 0x80 })
    }
    if uint4AsInt4, r.elementType == .i4 {
      r = NDArray.pack(r.integers.map { $0 + 8 }, as: .u8, shape: r.shape)
    }
    return r
  }
}

/// Permutes a 4-D array (element size a multiple of a byte): result dim i = source dim perm[i].
func transpose4(_ a: NDArray, _ perm: [Int]) -> NDArray {
  guard a.shape.count == 4 else { return a }
  return a.transposed(perm)
}

/// Where output `output` of ONNX node `node` (its index in the file) lives in the graph.
public struct ONNXNodeOutput: Sendable, Hashable {
  public var node: Int
  public var output: Int
  /// The value and its layout (`uint8AsInt8` is false: uint8 tensors are held as int8 − 128).
  public var io: ONNXIO
}

/// What the import did to the model's inputs and outputs, in graph order.
public struct ONNXImportInfo: Sendable, Hashable {
  public var inputs: [ONNXIO] = []
  public var outputs: [ONNXIO] = []
  /// Every node output the graph computes (not those folded into constants), for comparing
  /// layer by layer with a reference runtime's per-node outputs.
  public var nodeOutputs: [ONNXNodeOutput] = []
  /// The default-domain opset the model imports.
  public var opset: Int = 0
}

/// Options for `importONNXWithInfo`.
public struct ONNXImportOptions: Sendable {
  /// Shapes for graph inputs (ONNX layout), replacing the model's (symbolic) dimensions;
  /// they must agree with its fixed ones. The key "" stands for the only input.
  public var inputShapes: [String: [Int]] = [:]
  /// Graph inputs to treat as constants with this data (ONNX's node tests pass weights as
  /// graph inputs).
  public var constantInputs: [String: ONNXTensor] = [:]
  /// Verify the result with `Verifier.verify` (on by default).
  public var verify = true
  public init(inputShapes: [String: [Int]] = [:], constantInputs: [String: ONNXTensor] = [:]) {
    self.inputShapes = inputShapes
    self.constantInputs = constantInputs
  }
}

/// Imports an ONNX model file as a TinyIR graph (NHWC; see `importONNXWithInfo` for what
/// happened to the inputs and outputs). Symbolic dimensions in position 0 become 1 unless
/// `inputShapes` gives the input's shape.
public func importONNX(path: String, inputShapes: [String: [Int]] = [:]) throws -> Graph {
  try importONNXWithInfo(path: path, options: ONNXImportOptions(inputShapes: inputShapes)).graph
}

/// Imports an ONNX model from bytes. `fileName` names it in errors; external tensor data is
/// refused unless `baseDirectory` is given.
public func importONNX(
  bytes: [UInt8], fileName: String = "model.onnx", baseDirectory: String? = nil, inputShapes: [String: [Int]] = [:]
) throws -> Graph {
  try importONNXWithInfo(
    bytes: bytes, fileName: fileName, baseDirectory: baseDirectory, options: ONNXImportOptions(inputShapes: inputShapes)
  ).graph
}

/// Imports an ONNX model file and says how its inputs and outputs map to the graph's:
/// a 4-D NCHW input that feeds convolutions becomes NHWC (`ONNXLayout.nchwAsNHWC`), and
/// uint8 tensors become int8 (`uint8AsInt8`). `ONNXIO.prepare` / `restore` convert data.
public func importONNXWithInfo(path: String, options: ONNXImportOptions = ONNXImportOptions()) throws -> (
  graph: Graph, info: ONNXImportInfo
) {
  let url = URL(fileURLWithPath: path)
  let data: Data
  do {
    data = try Data(contentsOf: url)
  } catch {
    throw ONNXError(file: path, reason: "cannot read the file (\(error.localizedDescription))")
  }
  return try importONNXWithInfo(
    bytes: [UInt8](data), fileName: path, baseDirectory: url.deletingLastPathComponent().path, options: options)
}

/// Bytes variant of `importONNXWithInfo(path:options:)`.
public func importONNXWithInfo(
  bytes: [UInt8], fileName: String = "model.onnx", baseDirectory: String? = nil,
  options: ONNXImportOptions = ONNXImportOptions()
) throws -> (graph: Graph, info: ONNXImportInfo) {
  let model: Onnx_ModelProto
  do {
    var opts = BinaryDecodingOptions()
    opts.messageDepthLimit = 64
    do {
      model = try Onnx_ModelProto(serializedBytes: bytes, options: opts)
    } catch BinaryDecodingError.invalidUTF8 {
      // Names are data: a name that is not UTF-8 is read with its bad bytes written \xNN.
      model = try Onnx_ModelProto(serializedBytes: WireUTF8.withValidUTF8(bytes) ?? bytes, options: opts)
    }
  } catch {
    throw ONNXError(file: fileName, reason: "not a valid ONNX protobuf (\(error))")
  }
  let importer = Importer(file: fileName, baseDirectory: baseDirectory, options: options)
  return try importer.run(model)
}

/// The names of a model's graph inputs that have no initializer, in order (for test
/// harnesses that decide which inputs to feed as constants).
public func onnxGraphInputNames(bytes: [UInt8], fileName: String = "model.onnx") throws -> [String] {
  let model: Onnx_ModelProto
  do {
    model = try Onnx_ModelProto(serializedBytes: bytes)
  } catch {
    throw ONNXError(file: fileName, reason: "not a valid ONNX protobuf (\(error))")
  }
  let inits = Set(model.graph.initializer.map(\.name))
  return model.graph.input.map(\.name).filter { !inits.contains($0) }
}
