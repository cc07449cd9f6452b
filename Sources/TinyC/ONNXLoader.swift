import TinyIR

/// Placeholder until the ONNX front-end lands: says so clearly.
enum ONNXLoader {
  static func load(path: String) throws -> Graph {
    throw DriverError("\(path): ONNX import is not available yet in this build")
  }
}
