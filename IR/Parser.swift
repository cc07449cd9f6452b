/// Parses the text form that `Printer` writes back into a `Graph`. Errors carry the line
/// and column. Elided constants (`dense<elided …>`) cannot be parsed back: print with
/// `Printer(elideOver: nil)` for a file that is meant to be read again.
public struct Parser {
  private var s: [UInt8]
  private var p = 0
  private var graph = Graph(name: "")
  private var names: [String: ValueID] = [:]

  public static func parse(_ text: String) throws(IRError) -> Graph {
    var parser = Parser(text)
    return try parser.parseGraph()
  }

  private init(_ text: String) { s = Array(text.utf8) }

  // MARK: lexing

  private func error(_ msg: String) -> IRError {
    var line = 1
    var col = 1
    for c in s[..<min(p, s.count)] {
      if c == UInt8(ascii: "\n") {
        line += 1
        col = 1
      } else {
        col += 1
      }
    }
    return IRError("line \(line), column \(col): \(msg)")
  }

  private mutating func skipSpace() {
    while p < s.count {
      let c = s[p]
      if c == 32 || c == 9 || c == 10 || c == 13 {
        p += 1
      } else if c == UInt8(ascii: "/"), p + 1 < s.count, s[p + 1] == UInt8(ascii: "/") {
        while p < s.count, s[p] != 10 { p += 1 }
      } else {
        return
      }
    }
  }

  private mutating func peek(_ lit: String) -> Bool {
    skipSpace()
    let u = Array(lit.utf8)
    return p + u.count <= s.count && Array(s[p..<p + u.count]) == u
  }

  private mutating func accept(_ lit: String) -> Bool {
    if peek(lit) {
      p += lit.utf8.count
      return true
    }
    return false
  }

  private mutating func expect(_ lit: String) throws(IRError) {
    if !accept(lit) { throw error("expected '\(lit)'") }
  }

  /// The bytes of a name that prints without quotes (`Printer.name`).
  static func isNameByte(_ c: UInt8) -> Bool { isWord(c) || c == UInt8(ascii: "+") }

  private static func isWord(_ c: UInt8) -> Bool {
    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 46 || c == 36
      || c == 45
  }

  private mutating func word() throws(IRError) -> String {
    skipSpace()
    let start = p
    while p < s.count, Self.isWord(s[p]) || s[p] == UInt8(ascii: "+") { p += 1 }
    if p == start { throw error("expected a word") }
    return String(decoding: s[start..<p], as: UTF8.self)
  }

  private mutating func int() throws(IRError) -> Int {
    let w = try word()
    guard let v = Int(w) else { throw error("expected an integer, got '\(w)'") }
    return v
  }

  private mutating func float() throws(IRError) -> Float {
    let w = try word()
    guard let v = Float(w) else { throw error("expected a number, got '\(w)'") }
    return v
  }

  /// A string literal as `Printer.quoted` writes it: `\"`, `\\`, `\n` and `\u{hex}` escapes.
  private mutating func string() throws(IRError) -> String {
    try expect("\"")
    var out = ""
    var run: [UInt8] = []
    while p < s.count, s[p] != UInt8(ascii: "\"") {
      guard s[p] == UInt8(ascii: "\\") else {
        run.append(s[p])
        p += 1
        continue
      }
      out += String(decoding: run, as: UTF8.self)
      run = []
      p += 1
      guard p < s.count else { break }
      switch s[p] {
      case UInt8(ascii: "n"): out += "\n"
      case UInt8(ascii: "u"):
        guard p + 1 < s.count, s[p + 1] == UInt8(ascii: "{"), let close = s[p...].firstIndex(of: UInt8(ascii: "}")),
          close - p <= 10, let v = UInt32(String(decoding: s[(p + 2)..<close], as: UTF8.self), radix: 16),
          let u = Unicode.Scalar(v)
        else { throw error("bad \\u{…} escape in a string") }
        out.unicodeScalars.append(u)
        p = close
      case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.unicodeScalars.append(Unicode.Scalar(s[p]))
      default: throw error("unknown escape in a string")
      }
      p += 1
    }
    out += String(decoding: run, as: UTF8.self)
    try expect("\"")
    return out
  }

  /// A plain word or a quoted string (`Printer.name`).
  private mutating func name() throws(IRError) -> String {
    peek("\"") ? try string() : try word()
  }

  private mutating func valueName() throws(IRError) -> String {
    try expect("%")
    return try name()
  }

  private mutating func use() throws(IRError) -> ValueID {
    let n = try valueName()
    guard let id = names[n] else { throw error("use of undefined value %\(n)") }
    return id
  }

  private mutating func define(_ name: String, _ type: TensorType) throws(IRError) -> ValueID {
    if names[name] != nil { throw error("value %\(name) is defined twice") }
    let id = graph.addValue(name: name, type: type)
    names[name] = id
    return id
  }

  // MARK: grammar

  private mutating func parseGraph() throws(IRError) -> Graph {
    try expect("graph")
    try expect("@")
    graph.name = try name()
    try expect("(")
    if !accept(")") {
      repeat {
        let n = try valueName()
        try expect(":")
        graph.inputs.append(try define(n, try type()))
      } while accept(",")
      try expect(")")
    }
    try expect("->")
    try expect("(")
    var outTypes: [TensorType] = []
    if !accept(")") {
      repeat { outTypes.append(try type()) } while accept(",")
      try expect(")")
    }
    try expect("{")
    while !accept("return") {
      try statement()
    }
    if !peek("}") {
      repeat { graph.outputs.append(try use()) } while accept(",")
    }
    try expect("}")
    skipSpace()
    if p != s.count { throw error("text after the graph") }
    guard outTypes == graph.outputs.map({ graph.type(of: $0) }) else {
      throw error("result types in the header differ from the returned values' types")
    }
    return graph
  }

  private mutating func statement() throws(IRError) {
    var results: [String] = []
    repeat { results.append(try valueName()) } while accept(",")
    try expect("=")
    let mnemonic = try word()
    if mnemonic == "const" {
      guard results.count == 1 else { throw error("a constant defines one value") }
      let t = try type()
      let bytes = try dense()
      guard bytes.count == t.byteCount else {
        throw error("constant %\(results[0]) has \(bytes.count) bytes, its type needs \(t.byteCount)")
      }
      let id = try define(results[0], t)
      graph.constants[id] = ConstantData(bytes)
      return
    }
    try expect("(")
    var operands: [ValueID] = []
    if !accept(")") {
      repeat { operands.append(try use()) } while accept(",")
      try expect(")")
    }
    var attrs: [String: AttrValue] = [:]
    if accept("{") {
      repeat {
        let key = try word()
        if attrs[key] != nil { throw error("attribute '\(key)' given twice") }
        attrs[key] = try attrValue()
      } while accept(",")
      try expect("}")
    }
    let kind: OpKind
    do { kind = try OpKind(mnemonic: mnemonic, attributes: attrs) } catch { throw self.error(error.message) }
    try expect(":")
    var types: [TensorType] = []
    repeat { types.append(try type()) } while accept(",")
    guard types.count == results.count else { throw error("\(results.count) results but \(types.count) types") }
    var loc = Location.unknown
    if accept("loc") {
      try expect("(")
      loc = Location(source: try name())
      if accept(":op") { loc.index = try int() }
      if peek("\"") { loc.name = try string() }
      try expect(")")
    }
    var outs: [ValueID] = []
    for (n, t) in zip(results, types) { outs.append(try define(n, t)) }
    graph.ops.append(Op(kind, inputs: operands, outputs: outs, location: loc))
  }

  private mutating func attrValue() throws(IRError) -> AttrValue {
    if accept("[") {
      var words: [String] = []
      if !accept("]") {
        repeat { words.append(try word()) } while accept(",")
        try expect("]")
      }
      let ints = words.compactMap { Int($0) }
      if ints.count == words.count { return .ints(ints) }
      let floats = words.compactMap { Float($0) }
      if floats.count == words.count { return .floats(floats) }
      throw error("bad list attribute")
    }
    let w = try word()
    if let i = Int(w) { return .int(i) }
    if let f = Float(w) { return .float(f) }
    return .ident(w)
  }

  private mutating func type() throws(IRError) -> TensorType {
    let w = try word()
    let parts = w.split(separator: "x", omittingEmptySubsequences: false)
    guard let last = parts.last, let et = ElementType(rawValue: String(last)) else {
      throw error("bad tensor type '\(w)'")
    }
    var shape: [Int] = []
    for d in parts.dropLast() {
      guard let v = Int(d), v >= 0 else { throw error("bad dimension in '\(w)'") }
      shape.append(v)
    }
    var t = TensorType(shape, et)
    if accept("q(") {
      if accept("axis") {
        let axis = try int()
        try expect(",")
        try expect("[")
        var scales: [Float] = []
        repeat { scales.append(try float()) } while accept(",")
        try expect("]")
        try expect(",")
        try expect("[")
        var zps: [Int] = []
        repeat { zps.append(try int()) } while accept(",")
        try expect("]")
        t.quantization = Quantization(scales: scales, zeroPoints: zps, axis: axis)
      } else {
        let sc = try float()
        try expect(",")
        t.quantization = Quantization(scale: sc, zeroPoint: try int())
      }
      try expect(")")
    }
    return t
  }

  private mutating func dense() throws(IRError) -> [UInt8] {
    try expect("dense<")
    if peek("elided") { throw error("constant data was elided when printed; print with full constants") }
    var out: [UInt8] = []
    func nib(_ c: UInt8) -> UInt8? {
      switch c {
      case 48...57: return c - 48
      case 97...102: return c - 87
      case 65...70: return c - 55
      default: return nil
      }
    }
    while p + 1 < s.count, let hi = nib(s[p]), let lo = nib(s[p + 1]) {
      out.append(hi << 4 | lo)
      p += 2
    }
    try expect(">")
    return out
  }
}
