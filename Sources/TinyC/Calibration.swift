import Foundation
import TinyIR

/// Calibration data as the user has it (in the source model's layout) turned into what the
/// `quantize` pass reads (the graph's layout).
public enum Calibration {
  /// For an ONNX model whose single input tinyc stores channels-last (NHWC, or NLC for 1-D),
  /// converts the `.npy` samples at `path` (one file, or a folder of them) from the model's
  /// layout into a temporary folder and returns it;
  /// otherwise returns `path` unchanged.
  /// Every file is checked first: it must hold float32 samples of the model's input shape (one
  /// sample, or several stacked along the first axis), in the model's layout.
  public static func inGraphLayout(_ path: String, for model: LoadedModel) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw DriverError("\(path): no such calibration file or folder")
    }
    let files: [String]
    if isDirectory.boolValue {
      files = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".npy") }.sorted()
        .map { path + "/" + $0 }
      if files.isEmpty { throw DriverError("\(path): the calibration folder holds no .npy file") }
    } else {
      files = [path]
    }
    if model.graph.inputs.count == 1, let id = model.graph.inputs.first {
      let io = model.onnx?.inputs.first
      let shape = io?.onnxShape ?? model.graph[id].type.shape
      let layout = io.map(Execution.layoutName) ?? (shape.count == 4 ? "NHWC, channels last" : nil)
      for file in files {
        let given = try Npy.read(path: file).shape
        // Several samples stacked along the batch axis are fine.
        let sample = given.count == shape.count ? Array(given.dropFirst()) : []
        if sample != Array(shape.dropFirst()) || given.count != shape.count {
          try Execution.checkShape(given, shape, layout: layout, path: file, input: io?.onnxName ?? model.graph[id].name)
        }
      }
    }
    guard let onnx = model.onnx, onnx.inputs.count == 1, let io = onnx.inputs.first, io.layout != .unchanged else {
      return path
    }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("tinyc-calibration-\(getpid())").path
    try? FileManager.default.removeItem(atPath: out)
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let sample = io.onnxShape.reduce(1, *)
    for (k, file) in files.enumerated() {
      let a = try Npy.read(path: file)
      guard a.elementType == .f32, a.count % sample == 0 else {
        throw DriverError("\(file): calibration data must be float32 samples of shape \(io.onnxShape)")
      }
      // A file may hold several samples one after another.
      for s in 0..<(a.count / sample) {
        let one = NDArray(shape: io.onnxShape, elementType: .f32, bytes: Array(a.bytes[(s * sample * 4)..<((s + 1) * sample * 4)]))
        try Npy.write(try io.prepare(one), path: String(format: "%@/sample%05d_%05d.npy", out, k, s))
      }
    }
    return out
  }
}
