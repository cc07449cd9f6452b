import Foundation
import TFLiteFrontend
import TinyIR

/// Loading a model from a file, whichever front-end its extension names.
public enum Models {
  public static func load(path: String) throws -> Graph {
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
    case "onnx":
      return try ONNXLoader.load(path: path)
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
