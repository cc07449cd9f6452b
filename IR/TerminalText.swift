/// `s` as it may reach a terminal: one line, with every control character (C0 including NUL,
/// CR, LF and ESC; DEL; C1) and every invisible bidirectional override shown escaped
/// (`\n`, `\x1b`, `\u{202e}`), and a backslash doubled so that the escapes stay unambiguous. The
/// one rule for every message and name tinyc prints (model names are data, not terminal
/// commands).
public func terminalText(_ s: String) -> String {
  var r = ""
  for u in s.unicodeScalars {
    switch u.value {
    case 0x0A: r += "\\n"
    case 0x0D: r += "\\r"
    case 0x09: r += "\\t"
    case 0x5C: r += "\\\\"
    case 0..<0x20, 0x7F..<0xA0:
      let h = String(u.value, radix: 16)
      r += "\\x" + (h.count < 2 ? "0" : "") + h
    case 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069:
      r += "\\u{" + String(u.value, radix: 16) + "}"
    default: r.unicodeScalars.append(u)
    }
  }
  return r
}
