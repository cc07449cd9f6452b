import TinyIR

/// Small helpers for writing C text deterministically.
struct CSource {
  var text = ""

  mutating func line(_ s: String = "") { text += s + "\n" }

  /// A C identifier from any name.
  static func identifier(_ s: String) -> String {
    var r = ""
    for u in s.unicodeScalars {
      if (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || u == "_" {
        r.unicodeScalars.append(u)
      } else {
        r += "_"
      }
    }
    if let f = r.unicodeScalars.first, f >= "0" && f <= "9" { r = "_" + r }
    return r.isEmpty ? "_" : r
  }

  /// The C element type of a tensor (sub-byte tensors are passed as packed int8 bytes).
  static func type(_ e: ElementType) -> String {
    switch e {
    case .f32: return "float"
    case .i64: return "int64_t"
    case .i32: return "int32_t"
    case .i16: return "int16_t"
    case .u8: return "uint8_t"
    case .i8, .i4, .i2: return "int8_t"
    }
  }

  /// A float literal that reads back as exactly the same float.
  static func float(_ f: Float) -> String {
    if f.isInfinite { return f < 0 ? "-INFINITY" : "INFINITY" }
    let d = f.description
    if d.contains("e") || d.contains(".") { return d + "f" }
    return d + ".0f"
  }

  /// Array initializer text, 16 values a line.
  static func values<T>(_ v: [T], _ format: (T) -> String) -> String {
    var out = ""
    var i = 0
    while i < v.count {
      let chunk = v[i..<min(i + 16, v.count)].map(format).joined(separator: ", ")
      out += "  " + chunk + (i + 16 < v.count ? ",\n" : "\n")
      i += 16
    }
    return out
  }

  static func int32(_ v: Int32) -> String { v == Int32.min ? "(-2147483647 - 1)" : String(v) }
  static func int64(_ v: Int) -> String {
    if let small = Int32(exactly: v) { return int32(small) }
    return v == Int.min ? "(-INT64_C(9223372036854775807) - 1)" : "INT64_C(\(v))"
  }
}
