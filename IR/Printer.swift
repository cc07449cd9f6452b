/// Prints a graph in the text form (`.tir`):
///
///     graph @kws(%in: 1x49x10x1xi8 q(0.5, -128)) -> (1x12xi8 q(0.0039, -128)) {
///       %w0 = const 64x10x4x1xi8 q(axis 0, [0.01, ...], [0, ...]) dense<elided 2560 bytes fnv1a64:…>
///       %0 = conv2d(%in, %w0, %b0) {stride [2, 2], pad [4, 1, 5, 1], act relu} : 1x25x5x64xi8 q(0.02, -128) loc(tflite:op 0 "conv")
///       return %9
///     }
///
/// Constants larger than `elideOver` bytes print as a digest; `nil` prints every byte, which
/// is what a file meant to be parsed again needs.
public struct Printer: Sendable {
  public var elideOver: Int?
  public init(elideOver: Int? = nil) { self.elideOver = elideOver }

  public func print(_ g: Graph) -> String {
    var out = "graph @\(Self.name(g.name))("
    out += g.inputs.map { "\(value(g, $0)): \(Self.type(g[$0].type))" }.joined(separator: ", ")
    out += ") -> ("
    out += g.outputs.map { Self.type(g[$0].type) }.joined(separator: ", ")
    out += ") {\n"
    for id in g.constants.keys.sorted() {
      guard let c = g.constants[id] else { continue }
      out += "  \(value(g, id)) = const \(Self.type(g[id].type)) \(dense(c.bytes))\n"
    }
    for op in g.ops {
      out += "  " + op.outputs.map { value(g, $0) }.joined(separator: ", ")
      out += " = \(op.kind.mnemonic)("
      out += op.inputs.map { value(g, $0) }.joined(separator: ", ") + ")"
      let attrs = op.kind.attributes
      if !attrs.isEmpty {
        out += " {" + attrs.map { "\($0.0) \(Self.attr($0.1))" }.joined(separator: ", ") + "}"
      }
      out += " : " + op.outputs.map { Self.type(g[$0].type) }.joined(separator: ", ")
      out += " loc(\(Self.location(op.location)))\n"
    }
    out += "  return " + g.outputs.map { value(g, $0) }.joined(separator: ", ") + "\n}\n"
    return out
  }

  private func value(_ g: Graph, _ id: ValueID) -> String { "%" + Self.name(g[id].name) }

  /// A value, graph or location-source name: as it is when it is a plain word
  /// (`[A-Za-z0-9_.$+-]+`), quoted otherwise, so that any name prints and parses back.
  static func name(_ s: String) -> String {
    let plain = !s.isEmpty && s.utf8.allSatisfy { Parser.isNameByte($0) }
    return plain ? s : quoted(s)
  }

  private func dense(_ bytes: [UInt8]) -> String {
    if let elideOver, bytes.count > elideOver {
      return "dense<elided \(bytes.count) bytes fnv1a64:\(hex64(fnv1a64(bytes)))>"
    }
    let digits = Array("0123456789abcdef".utf8)
    var s: [UInt8] = []
    s.reserveCapacity(bytes.count * 2)
    for b in bytes {
      s.append(digits[Int(b >> 4)])
      s.append(digits[Int(b & 15)])
    }
    return "dense<" + String(decoding: s, as: UTF8.self) + ">"
  }

  public static func type(_ t: TensorType) -> String {
    var s = t.shape.map(String.init).joined(separator: "x")
    s += t.shape.isEmpty ? t.elementType.rawValue : "x" + t.elementType.rawValue
    if let q = t.quantization { s += " " + quantization(q) }
    return s
  }

  public static func quantization(_ q: Quantization) -> String {
    if let axis = q.axis {
      let sc = q.scales.map { $0.description }.joined(separator: ", ")
      let zp = q.zeroPoints.map(String.init).joined(separator: ", ")
      return "q(axis \(axis), [\(sc)], [\(zp)])"
    }
    return "q(\(q.scale.description), \(q.zeroPoint))"
  }

  static func attr(_ v: AttrValue) -> String {
    switch v {
    case .int(let i): return String(i)
    case .float(let f): return f.description
    case .ints(let a): return "[" + a.map(String.init).joined(separator: ", ") + "]"
    case .floats(let a): return "[" + a.map { $0.description }.joined(separator: ", ") + "]"
    case .ident(let s): return s
    }
  }

  static func location(_ l: Location) -> String {
    var s = name(l.source)
    if let i = l.index { s += ":op \(i)" }
    if !l.name.isEmpty { s += " " + quoted(l.name) }
    return s
  }

  /// A string literal of the text form: printable ASCII as it is (`"` and `\` escaped), every
  /// other character as `\u{hex}`, so a printed graph is plain ASCII on one line per op
  /// whatever its names hold.
  static func quoted(_ s: String) -> String {
    var r = "\""
    for ch in s.unicodeScalars {
      switch ch {
      case "\"": r += "\\\""
      case "\\": r += "\\\\"
      case " "..."~": r.unicodeScalars.append(ch)
      default: r += "\\u{" + String(ch.value, radix: 16) + "}"
      }
    }
    return r + "\""
  }
}

/// FNV-1a, 64 bit: the digest of an elided constant (enough to tell two constants apart by eye).
public func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
  var h: UInt64 = 0xcbf2_9ce4_8422_2325
  for b in bytes {
    h ^= UInt64(b)
    h = h &* 0x100_0000_01b3
  }
  return h
}

func hex64(_ v: UInt64) -> String {
  let s = String(v, radix: 16)
  return String(repeating: "0", count: 16 - s.count) + s
}

extension Graph: CustomStringConvertible {
  /// The text form with large constants elided.
  public var description: String { Printer(elideOver: 64).print(self) }
}
