import Foundation
import TinyIR

/// A small reader for NumPy's .npy format (version 1/2/3, little-endian i1/u1/i4/f4, C
/// order), enough for the golden files.
enum Npy {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  static func read(_ path: String) throws -> NDArray {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw Failure(description: "cannot read \(path)")
    }
    return try parse([UInt8](data), name: path)
  }

  static func parse(_ b: [UInt8], name: String) throws -> NDArray {
    guard b.count >= 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8) else {
      throw Failure(description: "\(name): not an .npy file")
    }
    let major = b[6]
    var headerLength: Int
    var start: Int
    if major == 1 {
      headerLength = Int(b[8]) | Int(b[9]) << 8
      start = 10
    } else {
      guard b.count >= 12 else { throw Failure(description: "\(name): truncated header") }
      headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
      start = 12
    }
    guard start + headerLength <= b.count else { throw Failure(description: "\(name): truncated header") }
    let header = String(decoding: b[start..<start + headerLength], as: UTF8.self)
    func field(_ key: String) throws -> String {
      guard let r = header.range(of: "'\(key)':") else { throw Failure(description: "\(name): no \(key)") }
      return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
    }
    let descr = try field("descr")
    let fortran = try field("fortran_order")
    guard fortran.hasPrefix("False") else { throw Failure(description: "\(name): Fortran order") }
    let shapeText = try field("shape")
    guard let open = shapeText.firstIndex(of: "("), let close = shapeText.firstIndex(of: ")") else {
      throw Failure(description: "\(name): bad shape")
    }
    let shape = try shapeText[shapeText.index(after: open)..<close].split(separator: ",").map { part -> Int in
      guard let v = Int(part.trimmingCharacters(in: .whitespaces)) else {
        throw Failure(description: "\(name): bad shape")
      }
      return v
    }
    let type: ElementType
    if descr.hasPrefix("'|i1'") || descr.hasPrefix("'<i1'") {
      type = .i8
    } else if descr.hasPrefix("'|u1'") {
      type = .u8
    } else if descr.hasPrefix("'<i4'") {
      type = .i32
    } else if descr.hasPrefix("'<f4'") {
      type = .f32
    } else {
      throw Failure(description: "\(name): unsupported dtype \(descr.prefix(8))")
    }
    let count = shape.reduce(1, *)
    let bytes = Array(b[(start + headerLength)...])
    guard bytes.count == type.byteCount(elements: count) else {
      throw Failure(description: "\(name): \(bytes.count) data bytes for \(count) elements")
    }
    return NDArray(shape: shape, elementType: type, bytes: bytes)
  }
}
