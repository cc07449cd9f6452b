/// A JSON string literal for `s` (quotes, backslashes and control characters escaped): the
/// one escaping rule for every JSON file tinyc writes (reports, manifests, inspect).
public func jsonString(_ s: String) -> String {
  var r = "\""
  for u in s.unicodeScalars {
    switch u {
    case "\"": r += "\\\""
    case "\\": r += "\\\\"
    case "\n": r += "\\n"
    case "\r": r += "\\r"
    case "\t": r += "\\t"
    default:
      if u.value < 0x20 {
        let h = String(u.value, radix: 16)
        r += "\\u" + String(repeating: "0", count: 4 - h.count) + h
      } else {
        r.unicodeScalars.append(u)
      }
    }
  }
  return r + "\""
}
