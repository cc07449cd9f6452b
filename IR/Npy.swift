import Foundation

/// Reads and writes NumPy `.npy` files (the one reader and writer in tinyc: CLI inputs and
/// outputs, golden files, calibration data): format 1.0 and 2.0, little-endian, C order.
/// Supported dtypes: f4, i1, u1, i2, i4 (and i8 on read when every value fits in i32).
public enum Npy {
  public static func read(path: String) throws -> NDArray {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw IRError("\(path): cannot read the file")
    }
    do {
      return try parse([UInt8](data))
    } catch let e as IRError {
      throw IRError("\(path): \(e.message)")
    }
  }

  public static func parse(_ b: [UInt8]) throws -> NDArray {
    let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    guard b.count >= 10, Array(b[0..<6]) == magic else { throw IRError("not a .npy file (bad magic)") }
    let major = b[6]
    let headerLen: Int
    let start: Int
    switch major {
    case 1:
      headerLen = Int(b[8]) | Int(b[9]) << 8
      start = 10
    case 2, 3:
      guard b.count >= 12 else { throw IRError("truncated .npy header") }
      headerLen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
      start = 12
    default: throw IRError("unsupported .npy format version \(major)")
    }
    guard start + headerLen <= b.count else { throw IRError("truncated .npy header") }
    let header = String(decoding: b[start..<start + headerLen], as: UTF8.self)
    guard let descr = field(header, "descr").flatMap(stringLiteral) else {
      throw IRError("no dtype in .npy header")
    }
    let fortran = field(header, "fortran_order")?.hasPrefix("True") == true
    guard let shapeText = field(header, "shape"), let open = shapeText.firstIndex(of: "("),
      let close = shapeText.firstIndex(of: ")")
    else { throw IRError("no shape in .npy header") }
    var shape: [Int] = []
    for part in shapeText[shapeText.index(after: open)..<close].split(separator: ",") {
      let t = part.trimmingCharacters(in: .whitespaces)
      if t.isEmpty { continue }
      guard let d = Int(t), d >= 0, d < 1 << 31 else { throw IRError("bad dimension '\(t)' in .npy shape") }
      shape.append(d)
    }
    var count = 1
    for d in shape {
      let (m, o) = count.multipliedReportingOverflow(by: d)
      guard !o, m < 1 << 31 else { throw IRError(".npy shape \(shape) is too large") }
      count = m
    }
    // Fortran order holds the C-order array of the reversed shape: read that, transpose back.
    let c = try decode(descr, Array(b[(start + headerLen)...]), shape: fortran ? Array(shape.reversed()) : shape, count: count)
    return fortran ? c.transposed(Array((0..<shape.count).reversed())) : c
  }

  private static func decode(_ descr: String, _ body: [UInt8], shape: [Int], count: Int) throws -> NDArray {
    func need(_ width: Int) throws -> [UInt8] {
      guard body.count >= count * width else {
        throw IRError(".npy data is truncated: \(body.count) bytes for \(count) elements of \(width) bytes")
      }
      return Array(body[0..<count * width])
    }
    switch descr {
    case "<f4": return NDArray(shape: shape, elementType: .f32, bytes: try need(4))
    case "|i1", "<i1", "i1": return NDArray(shape: shape, elementType: .i8, bytes: try need(1))
    case "|u1", "<u1", "u1": return NDArray(shape: shape, elementType: .u8, bytes: try need(1))
    case "<i2": return NDArray(shape: shape, elementType: .i16, bytes: try need(2))
    case "<i4": return NDArray(shape: shape, elementType: .i32, bytes: try need(4))
    case "<i8":
      let raw = try need(8)
      var v: [Int32] = []
      for i in 0..<count {
        var x: UInt64 = 0
        for k in 0..<8 { x |= UInt64(raw[8 * i + k]) << (8 * k) }
        guard let y = Int32(exactly: Int64(bitPattern: x)) else {
          throw IRError("int64 value \(Int64(bitPattern: x)) does not fit in int32")
        }
        v.append(y)
      }
      return NDArray(shape: shape, int32s: v)
    default:
      throw IRError("unsupported .npy dtype '\(descr)' (use float32, int8, uint8, int16 or int32, little-endian)")
    }
  }

  public static func encode(_ a: NDArray) -> [UInt8] {
    let descr: String
    var body = a.bytes
    switch a.elementType {
    case .f32: descr = "<f4"
    case .i64: descr = "<i8"
    case .i32: descr = "<i4"
    case .i16: descr = "<i2"
    case .i8: descr = "|i1"
    case .u8: descr = "|u1"
    case .i4, .i2:
      descr = "|i1"
      body = a.integers.map { UInt8(bitPattern: Int8($0)) }
    }
    let dims = a.shape.map(String.init)
    let shape = a.shape.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
    let total = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
    let n = header.utf8.count
    return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(n & 0xff), UInt8(n >> 8)] + Array(header.utf8) + body
  }

  public static func write(_ a: NDArray, path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(encode(a))) else {
      throw IRError("\(path): cannot write the file")
    }
  }

  private static func field(_ header: String, _ key: String) -> String? {
    guard let r = header.range(of: "'\(key)':") else { return nil }
    return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
  }

  private static func stringLiteral(_ s: String) -> String? {
    guard let q = s.first, q == "'" || q == "\"" else { return nil }
    let rest = s.dropFirst()
    guard let end = rest.firstIndex(of: q) else { return nil }
    return String(rest[..<end])
  }
}
