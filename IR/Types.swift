/// Element types of tensors. Sub-byte types (`i4`, `i2`) are first class: constants of those
/// types are stored packed (two or four per byte, lowest bits first). `i64` holds the biases
/// of 16x8 quantized layers (int16 activations, int8 weights).
public enum ElementType: String, CaseIterable, Sendable, Hashable {
  case f32, i64, i32, i16, i8, u8, i4, i2

  /// Bits per element.
  public var bits: Int {
    switch self {
    case .i64: return 64
    case .f32, .i32: return 32
    case .i16: return 16
    case .i8, .u8: return 8
    case .i4: return 4
    case .i2: return 2
    }
  }

  public var isFloat: Bool { self == .f32 }
  public var isInteger: Bool { !isFloat }

  /// Smallest and largest representable integer value (for integer types).
  public var integerRange: ClosedRange<Int> {
    switch self {
    case .f32: return Int(Int32.min)...Int(Int32.max)
    case .i64: return Int(Int64.min)...Int(Int64.max)
    case .i32: return Int(Int32.min)...Int(Int32.max)
    case .i16: return -32768...32767
    case .i8: return -128...127
    case .u8: return 0...255
    case .i4: return -8...7
    case .i2: return -2...1
    }
  }

  /// Bytes needed to store `count` elements of this type (packed for sub-byte types).
  public func byteCount(elements count: Int) -> Int {
    (count * bits + 7) / 8
  }
}

/// Quantization parameters: `real = scale * (q - zeroPoint)`. Per-tensor when `axis` is nil
/// (one scale and one zero point), per-axis otherwise (one of each along `axis`).
public struct Quantization: Sendable, Hashable {
  public var scales: [Float]
  public var zeroPoints: [Int]
  public var axis: Int?

  public init(scale: Float, zeroPoint: Int) {
    self.scales = [scale]
    self.zeroPoints = [zeroPoint]
    self.axis = nil
  }

  public init(scales: [Float], zeroPoints: [Int], axis: Int?) {
    self.scales = scales
    self.zeroPoints = zeroPoints
    self.axis = axis
  }

  public var isPerAxis: Bool { axis != nil }
  /// The per-tensor scale (the first one for per-axis quantization).
  public var scale: Float { scales.first ?? 1 }
  /// The per-tensor zero point (the first one for per-axis quantization).
  public var zeroPoint: Int { zeroPoints.first ?? 0 }
}

/// The type of an SSA value: a static shape, an element type and optional quantization.
public struct TensorType: Sendable, Hashable {
  public var shape: [Int]
  public var elementType: ElementType
  public var quantization: Quantization?

  public init(_ shape: [Int], _ elementType: ElementType, _ quantization: Quantization? = nil) {
    self.shape = shape
    self.elementType = elementType
    self.quantization = quantization
  }

  public var rank: Int { shape.count }
  public var elementCount: Int { shape.reduce(1, *) }
  public var byteCount: Int { elementType.byteCount(elements: elementCount) }

  /// The same type with another shape.
  public func with(shape: [Int]) -> TensorType {
    TensorType(shape, elementType, quantization)
  }
}
