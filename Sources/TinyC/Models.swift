import Foundation
import ONNXFrontend
import TFLiteFrontend
import TinyIR

/// A loaded model: its graph, and for ONNX models how user data maps to the graph's inputs
/// and outputs (NCHW tensors are NHWC inside tinyc; uint8 ones are int8).
public struct LoadedModel: Sendable {
  public var graph: Graph
  public var onnx: ONNXImportInfo?

  /// Converts user inputs (in the source model's layout) into the graph's.
  public func prepare(_ inputs: [NDArray]) throws -> [NDArray] {
    guard let onnx else { return inputs }
    return try zip(inputs, onnx.inputs).map { try $1.prepare($0) }
  }

  /// Converts graph outputs back into the source model's layout.
  public func restore(_ outputs: [NDArray]) -> [NDArray] {
    guard let onnx else { return outputs }
    return zip(outputs, onnx.outputs).map { $1.restore($0) }
  }
}

/// Loading a model from a file, whichever front-end its extension names.
public enum Models {
  /// The graph of a model file.
  public static func load(path: String) throws -> Graph { try loadModel(path: path).graph }

  /// The graph and, for ONNX, the input and output layouts. `inputShapes` (`--input-shape`,
  /// ONNX models only) fixes the dimensions the model leaves symbolic: "NAME=1,3,96,96", or
  /// "1,3,96,96" (also "1x3x96x96") for a model with one input.
  public static func loadModel(path: String, inputShapes: [String] = []) throws -> LoadedModel {
    if URL(fileURLWithPath: path).pathExtension.lowercased() == "onnx" {
      guard FileManager.default.fileExists(atPath: path) else { throw DriverError("\(path): no such file") }
      let options = ONNXImportOptions(inputShapes: try parseInputShapes(inputShapes))
      let (g, info) = try importONNXWithInfo(path: path, options: options)
      return LoadedModel(graph: g, onnx: info)
    }
    if !inputShapes.isEmpty {
      throw DriverError("\(path): --input-shape applies to .onnx models only (TFLite and .tir shapes are fixed)")
    }
    return LoadedModel(graph: try loadGraph(path: path), onnx: nil)
  }

  /// Parses `--input-shape` values into the importer's map ("" for an unnamed shape).
  public static func parseInputShapes(_ specs: [String]) throws -> [String: [Int]] {
    var shapes: [String: [Int]] = [:]
    for spec in specs {
      var name = ""
      var dims = Substring(spec)
      if let eq = spec.lastIndex(of: "=") {
        name = String(spec[..<eq])
        dims = spec[spec.index(after: eq)...]
      }
      let parts = dims.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "," || $0 == "x" })
      let shape = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard !parts.isEmpty, shape.count == parts.count, shape.allSatisfy({ $0 > 0 }) else {
        throw DriverError("--input-shape '\(spec)': expected NAME=D0,D1,... or D0,D1,... with positive dimensions")
      }
      guard shapes[name] == nil else { throw DriverError("--input-shape gives '\(name)' twice") }
      shapes[name] = shape
    }
    if shapes[""] != nil, shapes.count > 1 {
      throw DriverError("--input-shape: name every input when giving more than one shape")
    }
    return shapes
  }

  static func loadGraph(path: String) throws -> Graph {
    let url = URL(fileURLWithPath: path)
    guard FileManager.default.fileExists(atPath: path) else {
      throw DriverError("\(path): no such file")
    }
    switch url.pathExtension.lowercased() {
    case "tflite":
      guard let data = FileManager.default.contents(atPath: path) else {
        throw DriverError("\(path): cannot read the file")
      }
      return try importTFLite([UInt8](data), fileName: path)
    case "tir":
      guard let data = FileManager.default.contents(atPath: path) else {
        throw DriverError("\(path): cannot read the file")
      }
      do {
        let g = try Parser.parse(String(decoding: data, as: UTF8.self))
        try Verifier.verify(g)
        return g
      } catch {
        throw DriverError("\(path): \(error)")
      }
    default:
      throw DriverError("\(path): unknown model format '.\(url.pathExtension)' (expected .tflite, .onnx or .tir)")
    }
  }
}
