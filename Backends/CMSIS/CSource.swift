import TinyIR

/// Small helpers for writing C text deterministically. Names from a model file are data:
/// they reach the C only through `identifier`/`Identifiers` (reduced to `[A-Za-z0-9_]`) and
/// `comment` (escaped), never pasted as they are.
struct CSource {
  var text = ""

  mutating func line(_ s: String = "") { text += s + "\n" }

  /// A C identifier from any name: every character outside `[A-Za-z0-9_]` becomes `_`, a
  /// leading digit gets a `_` in front, and at most `limit` characters are kept.
  static func identifier(_ s: String, limit: Int = 48) -> String {
    var r = ""
    for u in s.unicodeScalars.prefix(limit) {
      if (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || u == "_" {
        r.unicodeScalars.append(u)
      } else {
        r += "_"
      }
    }
    if let f = r.unicodeScalars.first, f >= "0" && f <= "9" { r = "_" + r }
    return r.isEmpty ? "_" : r
  }

  /// Hands out C identifiers that differ from each other and from `taken`: `identifier(name)`,
  /// or with `_2`, `_3`, … appended when that is taken (`a.b` and `a_b` both reduce to `a_b`).
  /// The same names asked for in the same order give the same identifiers.
  struct Identifiers {
    private var used: Set<String>
    init(taken: Set<String> = []) { used = taken }

    mutating func make(_ name: String) -> String {
      let base = CSource.identifier(name)
      var candidate = base
      var k = 2
      while used.contains(candidate) {
        candidate = "\(base)_\(k)"
        k += 1
      }
      used.insert(candidate)
      return candidate
    }
  }

  /// Text from a name for inside a `/* … */` comment: printable ASCII passes except `*`, `\`
  /// and `?` (so no `*/`, `/*`, backslash-newline or `??` trigraph can form) and a `/` right
  /// after another `/`; every other byte (control characters, non-ASCII UTF-8) is written
  /// `\xNN`. Names longer than `limit` bytes are cut, marked with `...`.
  static func comment(_ s: String, limit: Int = 96) -> String {
    let bytes = Array(s.utf8)
    let digits = Array("0123456789abcdef")
    var r = ""
    var previous: UInt8 = 0
    for b in bytes.prefix(limit) {
      let plain = b >= 0x20 && b < 0x7f && b != UInt8(ascii: "*") && b != UInt8(ascii: "\\") && b != UInt8(ascii: "?")
      if plain && !(b == UInt8(ascii: "/") && previous == UInt8(ascii: "/")) {
        r.unicodeScalars.append(Unicode.Scalar(b))
        previous = b
      } else {
        r += "\\x" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)])
        previous = 0
      }
    }
    return bytes.count > limit ? r + "..." : r
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
