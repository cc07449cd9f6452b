/// ONNX declares names as protobuf `string`s, which must be UTF-8, but neither the format's
/// C++ reader nor ONNX Runtime checks that, so model files with other bytes in a name exist
/// (and hostile ones are easy to write); swift-protobuf refuses them outright. A name is data:
/// `withValidUTF8` rewrites every `string` field of tinyc's subset (scripts/onnx/onnx_subset.proto)
/// whose bytes are not UTF-8, writing each byte that is not part of a valid sequence as the text
/// `\xNN`, and leaves every other byte of the file as it is. Returns nil when the bytes are not
/// protobuf wire format.
enum WireUTF8 {
  /// For each message of the subset: its `string` fields, and its message fields with their type.
  private struct Schema {
    var strings: Set<UInt64>
    var messages: [UInt64: Kind]
  }
  enum Kind { case model, opset, entry, graph, node, attribute, valueInfo, type, typeTensor, shape, dim, tensor }

  private static func schema(_ k: Kind) -> Schema {
    switch k {
    case .model: return Schema(strings: [2, 3, 4, 6], messages: [7: .graph, 8: .opset, 14: .entry])
    case .opset: return Schema(strings: [1], messages: [:])
    case .entry: return Schema(strings: [1, 2], messages: [:])
    case .graph:
      return Schema(
        strings: [2, 10], messages: [1: .node, 5: .tensor, 11: .valueInfo, 12: .valueInfo, 13: .valueInfo, 16: .entry])
    case .node: return Schema(strings: [1, 2, 3, 4, 6, 7], messages: [5: .attribute])
    case .attribute: return Schema(strings: [1, 13, 21], messages: [5: .tensor, 6: .graph, 10: .tensor, 11: .graph])
    case .valueInfo: return Schema(strings: [1, 3], messages: [2: .type])
    case .type: return Schema(strings: [6], messages: [1: .typeTensor])
    case .typeTensor: return Schema(strings: [], messages: [2: .shape])
    case .shape: return Schema(strings: [], messages: [1: .dim])
    case .dim: return Schema(strings: [2, 3], messages: [:])
    case .tensor: return Schema(strings: [8, 12], messages: [13: .entry])
    }
  }

  static func withValidUTF8(_ bytes: [UInt8]) -> [UInt8]? {
    rewrite(bytes[...], .model, depth: 0)
  }

  private static func rewrite(_ b: ArraySlice<UInt8>, _ kind: Kind, depth: Int) -> [UInt8]? {
    guard depth < 64 else { return nil }
    let s = schema(kind)
    var out: [UInt8] = []
    out.reserveCapacity(b.count)
    var p = b.startIndex
    while p < b.endIndex {
      let start = p
      guard let key = varint(b, &p) else { return nil }
      let field = key >> 3
      switch key & 7 {
      case 0: guard varint(b, &p) != nil else { return nil }
      case 1: p += 8
      case 5: p += 4
      case 2:
        guard let n = varint(b, &p), n <= UInt64(b.endIndex - p) else { return nil }
        let body = b[p..<(p + Int(n))]
        p += Int(n)
        if s.strings.contains(field), String(validating: body, as: UTF8.self) == nil {
          out += encodeVarint(key)
          let text = Array(repaired(body).utf8)
          out += encodeVarint(UInt64(text.count)) + text
          continue
        } else if let sub = s.messages[field] {
          guard let inner = rewrite(body, sub, depth: depth + 1) else { return nil }
          out += encodeVarint(key) + encodeVarint(UInt64(inner.count)) + inner
          continue
        }
      default: return nil
      }
      guard p <= b.endIndex else { return nil }
      out += b[start..<p]
    }
    return out
  }

  /// Valid UTF-8 sequences as they are, each other byte as `\xNN`.
  private static func repaired(_ body: ArraySlice<UInt8>) -> String {
    var r = ""
    var i = body.startIndex
    while i < body.endIndex {
      var rest = body[i...].makeIterator()
      var decoder = UTF8()
      if case .scalarValue(let u) = decoder.decode(&rest) {
        r.unicodeScalars.append(u)
        i += UTF8.width(u)
      } else {
        let h = String(body[i], radix: 16)
        r += "\\x" + (h.count < 2 ? "0" : "") + h
        i += 1
      }
    }
    return r
  }

  private static func varint(_ b: ArraySlice<UInt8>, _ p: inout Int) -> UInt64? {
    var v: UInt64 = 0
    var shift: UInt64 = 0
    while p < b.endIndex, shift < 64 {
      let c = b[p]
      p += 1
      v |= UInt64(c & 0x7f) << shift
      if c < 0x80 { return v }
      shift += 7
    }
    return nil
  }

  private static func encodeVarint(_ v: UInt64) -> [UInt8] {
    var v = v
    var r: [UInt8] = []
    while v >= 0x80 {
      r.append(UInt8(v & 0x7f) | 0x80)
      v >>= 7
    }
    r.append(UInt8(v))
    return r
  }
}
