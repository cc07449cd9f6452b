/// Why a .tflite file could not be imported. Its description is one line:
///
///     kws.tflite: vector of 4000000 4-byte elements is longer than the file (at byte 812)
///     kws.tflite: fused activation TANH is not supported (operator 3 (CONV_2D))
///     kws.tflite: quantization scale 0.0 must be positive and finite (tensor 17)
public struct TFLiteError: Error, CustomStringConvertible, Sendable, Equatable {
  /// What the message is about.
  public enum Position: Sendable, Hashable {
    case none
    /// A byte offset in the file (for malformed flatbuffer data).
    case byte(Int)
    /// An operator index in subgraph 0 and its builtin name.
    case op(Int, String)
    /// A tensor index in subgraph 0.
    case tensor(Int)
  }

  public var file: String
  public var message: String
  public var position: Position

  public init(file: String = "", _ message: String, at position: Position = .none) {
    self.file = file
    self.message = message
    self.position = position
  }

  public var description: String {
    var s = "\(file): \(message)"
    switch position {
    case .none: break
    case .byte(let n): s += " (at byte \(n))"
    case .op(let i, let name): s += " (operator \(i) (\(name)))"
    case .tensor(let j): s += " (tensor \(j))"
    }
    return String(s.map { $0.isNewline ? " " : $0 })
  }
}
