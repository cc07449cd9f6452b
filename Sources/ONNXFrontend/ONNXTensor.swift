import Foundation
import TinyIR

/// A decoded ONNX tensor (an initializer, a `Constant`, a node test's `input_0.pb`): shape,
/// ONNX data type, and values, as floats for floating-point types or as integers otherwise.
public struct ONNXTensor: Sendable, Hashable {
  /// ONNX `TensorProto.DataType` values tinyc reads.
  public enum DataType: Int32, Sendable, Hashable {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, bool = 9
    case float16 = 10, double = 11, uint32 = 12, bfloat16 = 16, uint4 = 21, int4 = 22

    public var isFloat: Bool { self == .float || self == .float16 || self == .double || self == .bfloat16 }

    var name: String {
      switch self {
      case .float: return "float"
      case .uint8: return "uint8"
      case .int8: return "int8"
      case .uint16: return "uint16"
      case .int16: return "int16"
      case .int32: return "int32"
      case .int64: return "int64"
      case .bool: return "bool"
      case .float16: return "float16"
      case .double: return "double"
      case .uint32: return "uint32"
      case .bfloat16: return "bfloat16"
      case .uint4: return "uint4"
      case .int4: return "int4"
      }
    }

    /// Bits per element in `raw_data`.
    var bits: Int {
      switch self {
      case .float, .int32, .uint32: return 32
      case .uint8, .int8, .bool: return 8
      case .uint16, .int16, .float16, .bfloat16: return 16
      case .int64, .double: return 64
      case .uint4, .int4: return 4
      }
    }

    /// The range of an integer type.
    var integerRange: ClosedRange<Int> {
      switch self {
      case .uint8: return 0...255
      case .int8: return -128...127
      case .uint16: return 0...65535
      case .int16: return -32768...32767
      case .int32: return Int(Int32.min)...Int(Int32.max)
      case .uint32: return 0...Int(UInt32.max)
      case .bool: return 0...1
      case .uint4: return 0...15
      case .int4: return -8...7
      default: return Int.min...Int.max
      }
    }
  }

  public var dataType: DataType
  public var shape: [Int]
  /// Values of floating-point tensors (empty otherwise).
  public var floats: [Float]
  /// Values of integer and bool tensors (empty otherwise).
  public var ints: [Int]

  public var count: Int { shape.reduce(1, *) }

  init(dataType: DataType, shape: [Int], floats: [Float] = [], ints: [Int] = []) {
    self.dataType = dataType
    self.shape = shape
    self.floats = floats
    self.ints = ints
  }

  static func float(_ shape: [Int], _ v: [Float]) -> ONNXTensor { ONNXTensor(dataType: .float, shape: shape, floats: v) }
  static func int64(_ shape: [Int], _ v: [Int]) -> ONNXTensor { ONNXTensor(dataType: .int64, shape: shape, ints: v) }

  /// Values as Doubles (either kind).
  public var doubles: [Double] { dataType.isFloat ? floats.map(Double.init) : ints.map(Double.init) }

  /// Decodes a serialized `TensorProto` (the node tests' `.pb` files). External data is not
  /// allowed here.
  public init(serialized bytes: [UInt8], fileName: String = "tensor.pb") throws {
    let proto: Onnx_TensorProto
    do {
      proto = try Onnx_TensorProto(serializedBytes: bytes)
    } catch {
      throw ONNXError(file: fileName, reason: "not a valid TensorProto (\(error))")
    }
    do {
      self = try ONNXTensor.decode(proto, what: "tensor", resolver: nil)
    } catch {
      throw ONNXError(file: fileName, reason: error.text)
    }
  }

  /// The tensor as a host array: float types → f32, int8 → i8, uint8 → u8, int32 and int64 →
  /// i32 (when every value fits), int16 → i16, int4 → i4, uint4 → u8 (there is no host
  /// uint4; `ONNXIO.prepare` takes it so).
  public func ndarray() throws -> NDArray {
    switch dataType {
    case .float, .double, .float16, .bfloat16: return NDArray(shape: shape, floats: floats)
    case .int8: return NDArray.pack(ints, as: .i8, shape: shape)
    case .uint8: return NDArray.pack(ints, as: .u8, shape: shape)
    case .int16: return NDArray.pack(ints, as: .i16, shape: shape)
    case .int4: return NDArray.pack(ints, as: .i4, shape: shape)
    case .uint4: return NDArray.pack(ints, as: .u8, shape: shape)
    case .int32, .int64:
      guard ints.allSatisfy({ ElementType.i32.integerRange.contains($0) }) else {
        throw ONNXError(file: "tensor", reason: "int64 values do not fit in int32")
      }
      return NDArray.pack(ints, as: .i32, shape: shape)
    default:
      throw ONNXError(file: "tensor", reason: "\(dataType.name) tensors have no host array form")
    }
  }

  /// The tensor permuted: result dimension i is source dimension perm[i].
  func transposed(_ perm: [Int]) -> ONNXTensor {
    let n = shape.count
    guard perm.count == n, n > 1, perm != Array(0..<n) else { return self }
    let outShape = perm.map { shape[$0] }
    let src = permutationSourceIndices(shape: shape, perm: perm)
    var r = self
    r.shape = outShape
    if dataType.isFloat { r.floats = src.map { floats[$0] } } else { r.ints = src.map { ints[$0] } }
    return r
  }

  func reshaped(_ s: [Int]) -> ONNXTensor {
    var r = self
    r.shape = s
    return r
  }
}

/// Reads external data files for tensors with `data_location = EXTERNAL`.
struct ExternalDataResolver {
  var baseDirectory: String

  func read(location: String, offset: Int, length: Int?) throws(Reason) -> [UInt8] {
    guard !location.isEmpty else { throw Reason("external data has no location") }
    guard !location.hasPrefix("/"), !location.hasPrefix("\\"), !location.contains(":") else {
      throw Reason("external data location '\(location)' is absolute; it must be relative to the model's folder")
    }
    let parts = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
    guard !parts.contains("..") else {
      throw Reason("external data location '\(location)' leaves the model's folder")
    }
    let base = URL(fileURLWithPath: baseDirectory).standardizedFileURL.resolvingSymlinksInPath()
    let url = base.appendingPathComponent(location).standardizedFileURL.resolvingSymlinksInPath()
    guard url.path.hasPrefix(base.path + "/") else {
      throw Reason("external data location '\(location)' leaves the model's folder")
    }
    guard let handle = try? FileHandle(forReadingFrom: url) else {
      throw Reason("cannot open external data file '\(location)'")
    }
    defer { try? handle.close() }
    guard let size = try? handle.seekToEnd() else { throw Reason("cannot read external data file '\(location)'") }
    let fileSize = Int(clamping: size)
    guard offset >= 0, offset <= fileSize else {
      throw Reason("external data offset \(offset) is outside '\(location)' (\(fileSize) bytes)")
    }
    let len = length ?? (fileSize - offset)
    guard len >= 0, len <= fileSize - offset else {
      throw Reason("external data offset \(offset) + length \(len) is outside '\(location)' (\(fileSize) bytes)")
    }
    do {
      try handle.seek(toOffset: UInt64(offset))
      let d = try handle.read(upToCount: len) ?? Data()
      guard d.count == len else { throw Reason("short read in external data file '\(location)'") }
      return ([UInt8](d))
    } catch {
      throw Reason("cannot read external data file '\(location)'")
    }
  }
}

/// A reason without a file or node yet; the importer adds them.
struct Reason: Error {
  var text: String
  init(_ text: String) { self.text = text }
}

extension ONNXTensor {
  /// Largest element count accepted for a tensor.
  static let maxElements = Verifier.maxElements

  /// Checks dims and returns the element count.
  static func elementCount(_ dims: [Int64], what: String) throws(Reason) -> Int {
    var n = 1
    for d in dims {
      guard d >= 0 else { throw Reason("\(what) has a negative dimension \(d)") }
      guard d <= Int64(maxElements) else { throw Reason("\(what) has a huge dimension \(d)") }
      let (m, o) = n.multipliedReportingOverflow(by: Int(d))
      guard !o, m <= maxElements else { throw Reason("\(what) has too many elements (dims \(dims))") }
      n = m
    }
    return (n)
  }

  static func decode(_ p: Onnx_TensorProto, what: String, resolver: ExternalDataResolver?) throws(Reason) -> ONNXTensor {
    guard let dt = DataType(rawValue: p.dataType) else {
      throw Reason("\(what) has unsupported data type \(p.dataType)")
    }
    let count = try elementCount(p.dims, what: what)
    let shape = p.dims.map { Int($0) }
    var raw: [UInt8]? = p.hasRawData ? [UInt8](p.rawData) : nil
    if p.dataLocation == .external {
      guard let resolver else { throw Reason("\(what) uses external data, which is not available here") }
      var location = ""
      var offset = 0
      var length: Int?
      for e in p.externalData {
        switch e.key {
        case "location": location = e.value
        case "offset":
          guard let v = Int(e.value) else { throw Reason("\(what): bad external data offset '\(e.value)'") }
          offset = v
        case "length":
          guard let v = Int(e.value) else { throw Reason("\(what): bad external data length '\(e.value)'") }
          length = v
        default: break
        }
      }
      do {
        raw = try resolver.read(location: location, offset: offset, length: length)
      } catch {
        throw Reason("\(what): \(error.text)")
      }
    }
    if let raw {
      let need = (count * dt.bits + 7) / 8
      guard raw.count == need else {
        throw Reason("\(what) has \(raw.count) bytes of data, its shape \(shape) of \(dt.name) needs \(need)")
      }
      return (fromRaw(raw, dt, shape, count))
    }
    // Typed fields.
    func wrong(_ have: Int) -> Reason {
      Reason("\(what) has \(have) values, its shape \(shape) needs \(count)")
    }
    switch dt {
    case .float:
      guard p.floatData.count == count else { throw wrong(p.floatData.count) }
      return (ONNXTensor(dataType: dt, shape: shape, floats: p.floatData))
    case .double:
      guard p.doubleData.count == count else { throw wrong(p.doubleData.count) }
      return (ONNXTensor(dataType: dt, shape: shape, floats: p.doubleData.map { Float($0) }))
    case .float16, .bfloat16:
      guard p.int32Data.count == count else { throw wrong(p.int32Data.count) }
      let f = p.int32Data.map { v -> Float in
        let u = UInt16(truncatingIfNeeded: v)
        return dt == .float16 ? halfToFloat(u) : Float(bitPattern: UInt32(u) << 16)
      }
      return (ONNXTensor(dataType: dt, shape: shape, floats: f))
    case .int64:
      guard p.int64Data.count == count else { throw wrong(p.int64Data.count) }
      return (ONNXTensor(dataType: dt, shape: shape, ints: p.int64Data.map { Int($0) }))
    case .uint32:
      guard p.uint64Data.count == count else { throw wrong(p.uint64Data.count) }
      return (ONNXTensor(dataType: dt, shape: shape, ints: p.uint64Data.map { Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: $0)) }))
    case .int4, .uint4:
      // Packed two per int32_data entry (one byte each), low nibble first.
      guard p.int32Data.count == (count + 1) / 2 else { throw wrong(p.int32Data.count * 2) }
      let bytes = p.int32Data.map { UInt8(truncatingIfNeeded: $0) }
      return (fromRaw(bytes, dt, shape, count))
    default:
      guard p.int32Data.count == count else { throw wrong(p.int32Data.count) }
      let r = dt.integerRange
      let v = p.int32Data.map { Int($0) }
      // Out-of-range values are reduced to the type's width, as a C cast would.
      let fixed = v.map { r.contains($0) ? $0 : wrapInt($0, dt) }
      return (ONNXTensor(dataType: dt, shape: shape, ints: fixed))
    }
  }

  static func wrapInt(_ v: Int, _ dt: DataType) -> Int {
    switch dt {
    case .uint8: return Int(UInt8(truncatingIfNeeded: v))
    case .int8: return Int(Int8(truncatingIfNeeded: v))
    case .uint16: return Int(UInt16(truncatingIfNeeded: v))
    case .int16: return Int(Int16(truncatingIfNeeded: v))
    case .bool: return v != 0 ? 1 : 0
    default: return v
    }
  }

  static func fromRaw(_ b: [UInt8], _ dt: DataType, _ shape: [Int], _ count: Int) -> ONNXTensor {
    func u16(_ i: Int) -> UInt16 { UInt16(b[2 * i]) | UInt16(b[2 * i + 1]) << 8 }
    func u32(_ i: Int) -> UInt32 {
      UInt32(b[4 * i]) | UInt32(b[4 * i + 1]) << 8 | UInt32(b[4 * i + 2]) << 16 | UInt32(b[4 * i + 3]) << 24
    }
    func u64(_ i: Int) -> UInt64 {
      var v: UInt64 = 0
      for k in 0..<8 { v |= UInt64(b[8 * i + k]) << (8 * k) }
      return v
    }
    switch dt {
    case .float: return ONNXTensor(dataType: dt, shape: shape, floats: (0..<count).map { Float(bitPattern: u32($0)) })
    case .double: return ONNXTensor(dataType: dt, shape: shape, floats: (0..<count).map { Float(Double(bitPattern: u64($0))) })
    case .float16: return ONNXTensor(dataType: dt, shape: shape, floats: (0..<count).map { halfToFloat(u16($0)) })
    case .bfloat16:
      return ONNXTensor(dataType: dt, shape: shape, floats: (0..<count).map { Float(bitPattern: UInt32(u16($0)) << 16) })
    case .uint8: return ONNXTensor(dataType: dt, shape: shape, ints: b.map { Int($0) })
    case .int8: return ONNXTensor(dataType: dt, shape: shape, ints: b.map { Int(Int8(bitPattern: $0)) })
    case .bool: return ONNXTensor(dataType: dt, shape: shape, ints: b.map { $0 != 0 ? 1 : 0 })
    case .uint16: return ONNXTensor(dataType: dt, shape: shape, ints: (0..<count).map { Int(u16($0)) })
    case .int16: return ONNXTensor(dataType: dt, shape: shape, ints: (0..<count).map { Int(Int16(bitPattern: u16($0))) })
    case .int32: return ONNXTensor(dataType: dt, shape: shape, ints: (0..<count).map { Int(Int32(bitPattern: u32($0))) })
    case .uint32: return ONNXTensor(dataType: dt, shape: shape, ints: (0..<count).map { Int(u32($0)) })
    case .int64: return ONNXTensor(dataType: dt, shape: shape, ints: (0..<count).map { Int(Int64(bitPattern: u64($0))) })
    case .int4, .uint4:
      let v = (0..<count).map { i -> Int in
        let nib = Int(b[i / 2] >> ((i % 2) * 4) & 0xf)
        return dt == .int4 && nib >= 8 ? nib - 16 : nib
      }
      return ONNXTensor(dataType: dt, shape: shape, ints: v)
    }
  }

  static func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exp = Int(h >> 10 & 0x1f)
    let man = UInt32(h & 0x3ff)
    if exp == 0 {
      let v = Float(man) * Float(sign: .plus, exponent: -24, significand: 1)
      return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | man << 13) }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | man << 13)
  }
}
