import TinyIR

/// The memory plan as files a person reads: `report.json` (numbers, per op and per tensor) and
/// `memory.svg` (the arena over time: x is the op in execution order, y the arena offset, one
/// rectangle per tensor from the op that defines it to the op that reads it last).
///
/// `graph` must be the graph the plan was computed for (`plan.order` indexes its ops).
public enum MemoryReport {
  // MARK: JSON

  /// The widths of the tensors `mixed-precision` may change, and the budgets it was given.
  public struct Precision: Sendable {
    public var table: PrecisionTable
    public var flashBudget: Int?
    public var ramBudget: Int?
    public init(_ g: Graph, flashBudget: Int? = nil, ramBudget: Int? = nil) {
      table = PrecisionTable(g)
      self.flashBudget = flashBudget
      self.ramBudget = ramBudget
    }
  }

  /// `report.json`: arena and bound figures, Flash (`constant_bytes`: `FlashModel`'s total,
  /// packed constants and every parameter array the C carries; `flash` gives the target's,
  /// default the model without MVE kernel sums), then one entry per step and per tensor, and the
  /// precision table (`{"tensors": [{"name", "kind", "bits", "bytes"}], "flash_budget",
  /// "ram_budget"}`, the budgets null when none was given). Keys are written in a fixed order,
  /// so the same plan gives the same bytes.
  public static func json(_ plan: MemoryPlan, graph g: Graph, flash: FlashModel? = nil, precision: Precision? = nil)
    -> String
  {
    let flash = flash ?? FlashModel(g)
    let precision = precision ?? Precision(g)
    var j = JSONWriter()
    j.open("{")
    j.field("model", .string(g.name))
    j.field("strategy", .string(plan.strategy.rawValue))
    j.field("method", .string(plan.method))
    j.field("arena_bytes", .int(plan.arenaBytes))
    // Everything one inference needs in RAM: the model's inputs and outputs are inside the
    // arena (NAME_input / NAME_output, NAME_invoke_in_place), and nothing lives outside it
    // (weights, requantization tables and MVE kernel sums are constants in Flash).
    j.field("ram_bytes", .int(plan.arenaBytes))
    j.field("activation_arena_bytes", .int(plan.activationArenaBytes))
    j.field("activation_lower_bound_bytes", .int(plan.lowerBound))
    j.field("model_order_lower_bound_bytes", .int(plan.modelOrderLowerBound))
    j.field("gap_bytes", .int(plan.arenaBytes - plan.lowerBound))
    j.field("scratch_bytes", .int(plan.scratchBytes))
    j.field("constant_bytes", .int(flash.total))
    j.field("constant_tensor_bytes", .int(flash.constantBytes))
    j.field("parameter_array_bytes", .int(flash.parameterBytes))
    j.field("alignment", .int(plan.alignment))
    j.field("peak_step", .int(plan.peakStep))
    j.field("execution_order", .raw("[" + plan.order.map(String.init).joined(separator: ", ") + "]"))
    j.open("\"ops\": [")
    for (step, i) in plan.order.enumerated() {
      let op = g.ops[i]
      let sc = step < plan.scratch.count ? plan.scratch[step] : nil
      var fields: [(String, JSONWriter.Value)] = [
        ("step", .int(step)), ("index", .int(i)), ("kind", .string(op.kind.mnemonic)),
        ("location", .string(op.location.description)),
        ("live_bytes", .int(step < plan.liveBytes.count ? plan.liveBytes[step] : 0)),
        ("scratch_bytes", .int(sc?.size ?? 0)),
      ]
      if let sc, sc.size > 0 { fields.append(("scratch_offset", .int(sc.offset))) }
      j.inline(fields)
    }
    j.close("]")
    j.open("\"tensors\": [")
    let tensors = plan.tensors.sorted { ($0.first, $0.offset, $0.value) < ($1.first, $1.offset, $1.value) }
    for t in tensors {
      var fields: [(String, JSONWriter.Value)] = [
        ("name", .string(t.name)), ("offset", .int(t.offset)), ("size", .int(t.size)), ("first", .int(t.first)),
        ("last", .int(t.last)),
      ]
      if let a = t.aliasOf { fields.append(("alias_of", .string(g[ValueID(a)].name))) }
      if let a = t.inPlaceOf { fields.append(("in_place_of", .string(g[ValueID(a)].name))) }
      j.inline(fields)
    }
    j.close("]")
    j.open("\"precision\": {")
    j.open("\"tensors\": [")
    for r in precision.table.rows {
      j.inline([("name", .string(r.name)), ("kind", .string(r.kind.rawValue)), ("bits", .int(r.bits)), ("bytes", .int(r.bytes))])
    }
    j.close("]")
    j.field("flash_budget", precision.flashBudget.map { .int($0) } ?? .raw("null"))
    j.field("ram_budget", precision.ramBudget.map { .int($0) } ?? .raw("null"))
    j.close("}")
    j.close("}")
    return j.text
  }

  // MARK: SVG

  /// `memory.svg`: one labelled rectangle per tensor (views are drawn by their base), scratch
  /// buffers hatched, the live bytes of each step as a line, the lower bound and arena as
  /// horizontal rules, and the peak step marked.
  public static func svg(_ plan: MemoryPlan, graph g: Graph) -> String {
    let width = 1280.0
    let height = 790.0
    let left = 96.0
    let right = 36.0
    let top = 112.0
    let bottom = 142.0
    let plotW = width - left - right
    let plotH = height - top - bottom
    let steps = max(plan.order.count, 1)
    let top_ = max(plan.arenaBytes, plan.lowerBound, plan.liveBytes.max() ?? 0, 1)
    let tick = tickStep(top_)
    let yMax = Double((top_ + tick - 1) / tick * tick)
    let col = plotW / Double(steps)
    func x(_ step: Int) -> Double { left + Double(step) * col }
    func y(_ offset: Int) -> Double { top + plotH - Double(offset) / yMax * plotH }

    var s = ""
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" "
    s += "viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
    s += "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
    s += "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#d9d9d9\"/>"
    s += "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#8c8c8c\" stroke-width=\"2\"/></pattern></defs>\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"

    // Title and subtitle.
    s += text(left, 36, "\(g.name): activation memory plan", size: 24, weight: "bold")
    var sub = "arena \(bytes(plan.arenaBytes)) · lower bound \(bytes(plan.lowerBound))"
    if plan.modelOrderLowerBound != plan.lowerBound {
      sub += " (model order \(bytes(plan.modelOrderLowerBound)))"
    }
    if plan.scratchBytes > 0 { sub += " · largest scratch \(bytes(plan.scratchBytes))" }
    sub += " · \(plan.order.count) ops · strategy \(plan.strategy.rawValue) (\(plan.method))"
    s += text(left, 62, sub, size: 15, fill: "#444444")

    // Peak step band.
    let peak = plan.peakStep
    s += rect(x(peak), top, col, plotH, fill: "#fde8e8", extra: "")

    // Grid and y ticks.
    var t = 0
    while Double(t) <= yMax {
      let yy = y(t)
      s += line(left, yy, left + plotW, yy, stroke: "#e6e6e6", width: 1)
      s += text(left - 10, yy + 4, bytesShort(t), size: 12, fill: "#333333", anchor: "end")
      t += tick
    }
    s += text(22, top + plotH / 2, "arena offset", size: 14, fill: "#333333", anchor: "middle", rotate: -90)

    // Tensors: roots only; views share their base's rectangle.
    let roots = plan.tensors.filter { $0.aliasOf == nil }.sorted { ($0.first, $0.offset) < ($1.first, $1.offset) }
    let overwritten = Set(plan.tensors.compactMap(\.inPlaceOf))
    for (i, tn) in roots.enumerated() {
      let hue = (Double(i) * 137.508).truncatingRemainder(dividingBy: 360)
      // An in-place hand-over happens inside one op: the operand's rectangle ends and the
      // result's begins in the middle of that op's column.
      let startsMid = tn.inPlaceOf != nil
      let endsMid = overwritten.contains(tn.value)
      let rx = x(tn.first) + (startsMid ? col / 2 : 0)
      let rw = Double(tn.last - tn.first + 1) * col - (startsMid ? col / 2 : 0) - (endsMid ? col / 2 : 0)
      let ry = y(tn.offset + tn.size)
      let rh = max(y(tn.offset) - ry, 2)
      let tip =
        "%\(tn.name): \(tn.size) B at \(tn.offset), ops \(tn.first)–\(tn.last)"
        + (tn.inPlaceOf.map { " (in place over %\(g[ValueID($0)].name))" } ?? "")
      s += "<g><title>\(escape(tip))</title>"
      s += rect(
        rx + 0.5, ry + 0.5, max(rw - 1, 0.5), max(rh - 1, 0.5), fill: "hsl(\(fmt(hue)), 62%, 72%)",
        extra: " stroke=\"hsl(\(fmt(hue)), 45%, 38%)\" stroke-width=\"1\"")
      s += label(rx, ry, rw, rh, name: shortName(tn.name), size: bytesShort(tn.size))
      s += "</g>\n"
    }
    for sc in plan.scratch where sc.size > 0 {
      let ry = y(sc.offset + sc.size)
      let rh = max(y(sc.offset) - ry, 0.5)
      s += "<g><title>scratch of op \(sc.op): \(sc.size) B at \(sc.offset)</title>"
      s += rect(
        x(sc.step) + 0.5, ry + 0.5, max(col - 1, 0.5), max(rh - 1, 0.5), fill: "url(#hatch)",
        extra: " stroke=\"#666666\" stroke-width=\"1\"")
      s += label(x(sc.step), ry, col, rh, name: "scratch", size: bytesShort(sc.size))
      s += "</g>\n"
    }

    // Live bytes per step (activations + scratch) as a step line.
    var path = ""
    for step in 0..<steps {
      let live =
        (step < plan.liveBytes.count ? plan.liveBytes[step] : 0)
        + (step < plan.scratch.count ? plan.scratch[step].size : 0)
      let yy = y(live)
      path += step == 0 ? "M \(fmt(x(0))) \(fmt(yy))" : " L \(fmt(x(step))) \(fmt(yy))"
      path += " L \(fmt(x(step + 1))) \(fmt(yy))"
    }
    s += "<path d=\"\(path)\" fill=\"none\" stroke=\"#222222\" stroke-width=\"2\" stroke-dasharray=\"2 3\"/>\n"

    // Lower bound and arena rules.
    let yl = y(plan.lowerBound)
    let ya = y(plan.arenaBytes)
    s += line(left, ya, left + plotW, ya, stroke: "#c0392b", width: 2)
    s += line(left, yl, left + plotW, yl, stroke: "#1f4e9c", width: 2, dash: "8 5")
    if plan.arenaBytes == plan.lowerBound {
      s += text(
        left + plotW - 4, ya - 6, "arena = lower bound = \(bytes(plan.arenaBytes))", size: 13, fill: "#c0392b",
        anchor: "end", weight: "bold", halo: true)
    } else {
      let close = abs(ya - yl) < 16
      s += text(
        left + plotW - 4, ya - 6, "arena \(bytes(plan.arenaBytes))", size: 13, fill: "#c0392b", anchor: "end",
        weight: "bold", halo: true)
      s += text(
        left + plotW - 4, close ? ya - 22 : yl - 6, "lower bound \(bytes(plan.lowerBound))", size: 13,
        fill: "#1f4e9c", anchor: "end", weight: "bold", halo: true)
    }

    // Peak marker.
    let peakLive =
      (peak < plan.liveBytes.count ? plan.liveBytes[peak] : 0)
      + (peak < plan.scratch.count ? plan.scratch[peak].size : 0)
    let peakKind = peak < plan.order.count ? g.ops[plan.order[peak]].kind.mnemonic : ""
    s += rect(
      x(peak), top, col, plotH, fill: "none", extra: " stroke=\"#c0392b\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"")
    s += "<path d=\"M \(fmt(x(peak) + col / 2 - 6)) \(fmt(top - 14)) l 12 0 l -6 10 z\" fill=\"#c0392b\"/>\n"
    let peakText = "peak: op \(peak) \(peakKind), \(bytes(peakLive)) live"
    let anchor = x(peak) + col / 2 > left + plotW * 0.7 ? "end" : (x(peak) + col / 2 < left + plotW * 0.3 ? "start" : "middle")
    s += text(x(peak) + col / 2, top - 20, peakText, size: 13, fill: "#c0392b", anchor: anchor, weight: "bold")

    // Plot frame and x axis.
    s += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotW))\" height=\"\(fmt(plotH))\" "
    s += "fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
    let every = max(1, Int((14 / col).rounded(.up)))
    for step in 0..<plan.order.count where step % every == 0 || step == peak {
      let cx = x(step) + col / 2
      s += line(cx, top + plotH, cx, top + plotH + 5, stroke: "#333333", width: 1)
      s += text(cx, top + plotH + 18, String(step), size: 11, fill: step == peak ? "#c0392b" : "#333333", anchor: "middle")
      if col >= 12 {
        let kind = abbreviation(g.ops[plan.order[step]].kind)
        s += text(cx + 3, top + plotH + 28, kind, size: 10, fill: "#666666", anchor: "end", rotate: -45)
      }
    }
    s += text(left + plotW / 2, height - 50, "operator (execution order)", size: 14, fill: "#333333", anchor: "middle")

    // Legend.
    let lx = left + 70
    let ly = height - 16.0
    s += line(lx - 70, ly - 4, lx - 46, ly - 4, stroke: "#c0392b", width: 2)
    s += text(lx - 40, ly, "arena", size: 12, fill: "#333333")
    s += line(lx, ly - 4, lx + 24, ly - 4, stroke: "#222222", width: 2, dash: "2 3")
    s += text(lx + 30, ly, "live bytes per op", size: 12, fill: "#333333")
    s += line(lx + 150, ly - 4, lx + 174, ly - 4, stroke: "#1f4e9c", width: 2, dash: "8 5")
    s += text(lx + 180, ly, "lower bound", size: 12, fill: "#333333")
    s += rect(lx + 270, ly - 12, 20, 12, fill: "url(#hatch)", extra: " stroke=\"#666666\"")
    s += text(lx + 296, ly, "scratch", size: 12, fill: "#333333")
    s += rect(lx + 356, ly - 12, 20, 12, fill: "#fde8e8", extra: "")
    s += text(lx + 382, ly, "peak op", size: 12, fill: "#333333")
    s += "</svg>\n"
    return s
  }

  // MARK: helpers

  /// The label inside a tensor's rectangle: name and size on two lines, or on one, or written
  /// upward in a tall narrow rectangle, or the size alone; nothing when even that does not fit.
  private static func label(_ x: Double, _ y: Double, _ w: Double, _ h: Double, name: String, size: String)
    -> String
  {
    let font = 11.0
    let charW = font * 0.56
    func width(_ s: String) -> Double { Double(s.count) * charW + 4 }
    let cx = x + w / 2
    let cy = y + h / 2
    let both = name + " · " + size
    if h >= 2 * font + 6, width(name) <= w, width(size) <= w {
      return text(cx, cy - 2, name, size: font, fill: "#111111", anchor: "middle", weight: "bold")
        + text(cx, cy + font, size, size: font, fill: "#222222", anchor: "middle")
    }
    if h >= font + 3, width(both) <= w {
      return text(cx, cy + font / 2 - 1, both, size: font, fill: "#111111", anchor: "middle")
    }
    if w >= font + 4, width(both) <= h {
      return text(cx + font / 2 - 1, cy, both, size: font, fill: "#111111", anchor: "middle", rotate: -90)
    }
    if h >= font + 3, width(size) <= w {
      return text(cx, cy + font / 2 - 1, size, size: font, fill: "#111111", anchor: "middle")
    }
    if w >= font + 4, width(size) <= h {
      return text(cx + font / 2 - 1, cy, size, size: font, fill: "#111111", anchor: "middle", rotate: -90)
    }
    return ""
  }

  /// A readable short form of a value name: the part before the first `;`, its last two path
  /// components (TFLite names look like `model/activation_2/Relu;model/batch_norm...`).
  static func shortName(_ name: String) -> String {
    let head = name.split(separator: ";").first.map(String.init) ?? name
    let parts = head.split(separator: "/")
    return parts.count > 2 ? parts.suffix(2).joined(separator: "/") : head
  }

  private static func abbreviation(_ k: OpKind) -> String {
    switch k {
    case .depthwiseConv2d: return "dw_conv"
    case .fullyConnected: return "fc"
    case .averagePool2d: return "avg_pool"
    case .maxPool2d: return "max_pool"
    default: return k.mnemonic
    }
  }

  /// Tick spacing: a power of two bytes (or 3 × one) giving at most 8 intervals.
  static func tickStep(_ maxValue: Int) -> Int {
    var step = 1
    while true {
      for m in [1, 2, 3] where maxValue <= step * m * 8 && (m != 3 || step >= 1024) { return step * m }
      step *= 4
    }
  }

  /// "55,296 B (54 KB)" style.
  static func bytes(_ n: Int) -> String {
    let grouped = groupThousands(n)
    if n < 1024 { return "\(grouped) B" }
    return "\(grouped) B (\(kb(n)))"
  }

  private static func bytesShort(_ n: Int) -> String { n < 1024 ? "\(n) B" : kb(n) }

  private static func kb(_ n: Int) -> String {
    let k = Double(n) / 1024
    if k == k.rounded() { return "\(Int(k)) KB" }
    return "\(fmt((k * 10).rounded() / 10)) KB"
  }

  private static func groupThousands(_ n: Int) -> String {
    let digits = String(abs(n))
    var out = ""
    for (i, c) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(c)
    }
    return (n < 0 ? "-" : "") + out
  }

  private static func fmt(_ v: Double) -> String {
    let r = (v * 100).rounded() / 100
    if r == r.rounded() { return String(Int(r)) }
    return String(r)
  }

  /// Text for an SVG (XML) element or attribute: `& < > " '` as entities; the characters XML
  /// 1.0 cannot hold at all (C0 controls but tab, LF and CR; U+FFFE, U+FFFF) and the C1 controls
  /// written out as `\xNN` text, tab, LF and CR as character references.
  static func escape(_ s: String) -> String {
    var r = ""
    for u in s.unicodeScalars {
      switch u {
      case "&": r += "&amp;"
      case "<": r += "&lt;"
      case ">": r += "&gt;"
      case "\"": r += "&quot;"
      case "'": r += "&apos;"
      case "\t", "\n", "\r": r += "&#\(u.value);"
      default:
        if u.value < 0x20 || (u.value >= 0x7f && u.value < 0xa0) || u.value == 0xfffe || u.value == 0xffff {
          let h = String(u.value, radix: 16)
          r += "\\x" + String(repeating: "0", count: max(0, 2 - h.count)) + h
        } else {
          r.unicodeScalars.append(u)
        }
      }
    }
    return r
  }

  private static func text(
    _ x: Double, _ y: Double, _ s: String, size: Double, fill: String = "#000000", anchor: String = "start",
    weight: String = "normal", rotate: Double? = nil, halo: Bool = false
  ) -> String {
    var r = "<text x=\"\(fmt(x))\" y=\"\(fmt(y))\" font-size=\"\(fmt(size))\" fill=\"\(fill)\""
    if anchor != "start" { r += " text-anchor=\"\(anchor)\"" }
    if weight != "normal" { r += " font-weight=\"\(weight)\"" }
    if let rotate { r += " transform=\"rotate(\(fmt(rotate)) \(fmt(x)) \(fmt(y)))\"" }
    if halo { r += " stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\"" }
    return r + ">\(escape(s))</text>\n"
  }

  private static func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, extra: String) -> String {
    "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(w))\" height=\"\(fmt(h))\" fill=\"\(fill)\"\(extra)/>"
  }

  private static func line(
    _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double, dash: String? = nil
  ) -> String {
    var r = "<line x1=\"\(fmt(x1))\" y1=\"\(fmt(y1))\" x2=\"\(fmt(x2))\" y2=\"\(fmt(y2))\" stroke=\"\(stroke)\""
    r += " stroke-width=\"\(fmt(width))\""
    if let dash { r += " stroke-dasharray=\"\(dash)\"" }
    return r + "/>\n"
  }
}

/// A tiny JSON writer: objects one field per line, arrays of objects one object per line.
private struct JSONWriter {
  enum Value {
    case int(Int)
    case string(String)
    case raw(String)
  }
  var text = ""
  private var depth = 0
  private var needComma = [false]

  private mutating func startItem() {
    if needComma[needComma.count - 1] { text += ",\n" } else if depth > 0 { text += "\n" }
    needComma[needComma.count - 1] = true
    text += String(repeating: "  ", count: depth)
  }

  mutating func open(_ head: String) {
    if depth > 0 { startItem() }
    text += head
    depth += 1
    needComma.append(false)
  }

  mutating func close(_ tail: String) {
    depth -= 1
    needComma.removeLast()
    text += "\n" + String(repeating: "  ", count: depth) + tail
    if depth == 0 { text += "\n" }
  }

  mutating func field(_ key: String, _ value: Value) {
    startItem()
    text += Self.quote(key) + ": " + Self.render(value)
  }

  mutating func inline(_ fields: [(String, Value)]) {
    startItem()
    text += "{" + fields.map { Self.quote($0.0) + ": " + Self.render($0.1) }.joined(separator: ", ") + "}"
  }

  static func render(_ v: Value) -> String {
    switch v {
    case .int(let i): return String(i)
    case .string(let s): return quote(s)
    case .raw(let r): return r
    }
  }

  static func quote(_ s: String) -> String { jsonString(s) }
}
