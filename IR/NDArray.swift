/// A dense host tensor: shape, element type and little-endian bytes (packed for sub-byte
/// types). Interpreter inputs and outputs, .npy files and golden data meet here.
public struct NDArray: Hashable, Sendable {
  public var shape: [Int]
  public var elementType: ElementType
  public var bytes: [UInt8]

  public init(shape: [Int], elementType: ElementType, bytes: [UInt8]) {
    self.shape = shape
    self.elementType = elementType
    self.bytes = bytes
  }

  public var count: Int { shape.reduce(1, *) }

  public init(shape: [Int], int8s: [Int8]) {
    self.init(shape: shape, elementType: .i8, bytes: int8s.map { UInt8(bitPattern: $0) })
  }

  public init(shape: [Int], floats: [Float]) {
    var b: [UInt8] = []
    b.reserveCapacity(floats.count * 4)
    for f in floats {
      let u = f.bitPattern
      b += [UInt8(u & 0xff), UInt8(u >> 8 & 0xff), UInt8(u >> 16 & 0xff), UInt8(u >> 24)]
    }
    self.init(shape: shape, elementType: .f32, bytes: b)
  }

  public init(shape: [Int], int32s: [Int32]) {
    var b: [UInt8] = []
    b.reserveCapacity(int32s.count * 4)
    for v in int32s {
      let u = UInt32(bitPattern: v)
      b += [UInt8(u & 0xff), UInt8(u >> 8 & 0xff), UInt8(u >> 16 & 0xff), UInt8(u >> 24)]
    }
    self.init(shape: shape, elementType: .i32, bytes: b)
  }

  /// Elements as integers (any integer type, sub-byte unpacked and sign-extended).
  public var integers: [Int] {
    switch elementType {
    case .i8: return bytes.map { Int(Int8(bitPattern: $0)) }
    case .u8: return bytes.map { Int($0) }
    case .i16:
      return stride(from: 0, to: bytes.count - 1, by: 2).map {
        Int(Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8))
      }
    case .i32: return int32s.map { Int($0) }
    case .i64:
      return stride(from: 0, to: bytes.count - 7, by: 8).map { o in
        Int(Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * $1) }))
      }
    case .i4, .i2:
      let bits = elementType.bits
      let perByte = 8 / bits
      let mask = (1 << bits) - 1
      return (0..<count).map { i in
        let raw = Int(bytes[i / perByte]) >> ((i % perByte) * bits) & mask
        return raw >= 1 << (bits - 1) ? raw - (1 << bits) : raw
      }
    case .f32: return floats.map { Int($0) }
    }
  }

  public var int8s: [Int8] { bytes.map { Int8(bitPattern: $0) } }

  /// The 32-bit little-endian word at element `i`.
  @inline(__always) func word(_ i: Int) -> UInt32 {
    let o = 4 * i
    let lo = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8
    let hi = UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
    return lo | hi
  }

  public var int32s: [Int32] { (0..<bytes.count / 4).map { Int32(bitPattern: word($0)) } }

  public var floats: [Float] { (0..<bytes.count / 4).map { Float(bitPattern: word($0)) } }

  /// Packs integer values into the given (possibly sub-byte) type's byte layout.
  public static func pack(_ values: [Int], as type: ElementType, shape: [Int]) -> NDArray {
    var b = [UInt8](repeating: 0, count: type.byteCount(elements: values.count))
    switch type {
    case .i8, .u8:
      for (i, v) in values.enumerated() { b[i] = UInt8(truncatingIfNeeded: v) }
    case .i16:
      for (i, v) in values.enumerated() {
        let u = UInt16(truncatingIfNeeded: v)
        b[2 * i] = UInt8(u & 0xff)
        b[2 * i + 1] = UInt8(u >> 8)
      }
    case .i32:
      return NDArray(shape: shape, int32s: values.map { Int32(truncatingIfNeeded: $0) })
    case .i64:
      for (i, v) in values.enumerated() {
        for k in 0..<8 { b[8 * i + k] = UInt8(truncatingIfNeeded: UInt64(bitPattern: Int64(v)) >> (8 * k)) }
      }
    case .i4, .i2:
      let bits = type.bits
      let perByte = 8 / bits
      let mask = (1 << bits) - 1
      for (i, v) in values.enumerated() {
        b[i / perByte] |= UInt8((v & mask) << ((i % perByte) * bits))
      }
    case .f32:
      return NDArray(shape: shape, floats: values.map { Float($0) })
    }
    return NDArray(shape: shape, elementType: type, bytes: b)
  }
}

/// For a row-major tensor of `shape` permuted by `perm` (result dimension k is source dimension
/// `perm[k]`), the source element index of each result element, in result order. The one
/// transpose walk that constant folding, the ONNX importer and its layout conversions share.
public func permutationSourceIndices(shape: [Int], perm: [Int]) -> [Int] {
  let rank = shape.count
  let count = shape.reduce(1, *)
  guard rank > 0, perm.count == rank else { return Array(0..<count) }
  var strides = [Int](repeating: 1, count: rank)
  for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
  let outShape = perm.map { shape[$0] }
  let permutedStrides = perm.map { strides[$0] }
  var result: [Int] = []
  result.reserveCapacity(count)
  var index = [Int](repeating: 0, count: rank)
  for _ in 0..<count {
    var src = 0
    for k in 0..<rank { src += index[k] * permutedStrides[k] }
    result.append(src)
    var k = rank - 1
    while k >= 0 {
      index[k] += 1
      if index[k] < outShape[k] { break }
      index[k] = 0
      k -= 1
    }
  }
  return result
}

extension NDArray {
  /// The array permuted (result dimension k is dimension `perm[k]`); element types of whole
  /// bytes only (sub-byte arrays come back unchanged).
  public func transposed(_ perm: [Int]) -> NDArray {
    guard elementType.bits % 8 == 0, perm.count == shape.count else { return self }
    let width = elementType.bits / 8
    var out = [UInt8](repeating: 0, count: bytes.count)
    for (o, src) in permutationSourceIndices(shape: shape, perm: perm).enumerated() {
      for b in 0..<width { out[o * width + b] = bytes[src * width + b] }
    }
    return NDArray(shape: perm.map { shape[$0] }, elementType: elementType, bytes: out)
  }
}
