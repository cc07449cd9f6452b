import TinyIR

/// SplitMix64: deterministic pseudo-random integers for test weights and inputs.
struct SplitMix {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }
}

/// Builds a graph in the text form whose branches each run one sub-byte op from the int8
/// input `%in` (1x5x5x3, an odd channel count so packed rows end mid-byte) and return its
/// result: every branch is an output, so one C build checks them all against the interpreter.
struct LowBitGraph {
  var lines: [String] = []
  var results: [(name: String, type: String)] = []
  var rng = SplitMix(state: 11)
  var counter = 0
  static let inputShape = [1, 5, 5, 3]
  static let inputType = "1x5x5x3xi8 q(0.05, 3)"

  static func element(_ bits: Int) -> String { elementType(bits).rawValue }
  static func elementType(_ bits: Int) -> ElementType { bits == 8 ? .i8 : bits == 4 ? .i4 : .i2 }
  static func shape(_ s: [Int]) -> String { s.map(String.init).joined(separator: "x") }
  static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
  }

  mutating func fresh(_ stem: String) -> String {
    counter += 1
    return "%\(stem)\(counter)"
  }

  /// An activation quantization of `bits` for values of about ±6: signed (zero point 0, or 3
  /// for int8) or "unsigned" (zero point -2^(bits-1), 0…6 over the whole range).
  static func activation(_ bits: Int, unsigned: Bool) -> (scale: Float, zeroPoint: Int) {
    let levels = Float(1 << bits)
    if unsigned { return (6 / (levels - 1), -(1 << (bits - 1))) }
    return (12 / levels, bits == 8 ? 3 : 0)
  }

  /// `%in` quantized to `bits` (the int8 input itself for signed int8).
  mutating func source(_ bits: Int, unsigned: Bool) -> (name: String, scale: Float, zeroPoint: Int) {
    if bits == 8 && !unsigned { return ("%in", 0.05, 3) }
    let (s, zp) = Self.activation(bits, unsigned: unsigned)
    let v = fresh("x")
    lines.append("  \(v) = quantize(%in) : 1x5x5x3x\(Self.element(bits)) q(\(s), \(zp))")
    return (v, s, zp)
  }

  mutating func result(_ name: String, _ type: String) { results.append((name, type)) }

  /// A constant of random integers over the whole range of `bits` (int8: -127…127), packed.
  mutating func weights(_ shape: [Int], bits: Int, quant: String) -> String {
    let count = shape.reduce(1, *)
    let lo = bits == 8 ? -127 : -(1 << (bits - 1))
    let values = (0..<count).map { _ in rng.int(lo...((1 << (bits - 1)) - 1)) }
    let a = NDArray.pack(values, as: Self.elementType(bits), shape: shape)
    let w = fresh("w")
    lines.append("  \(w) = const \(Self.shape(shape))x\(Self.element(bits)) \(quant) dense<\(Self.hex(a.bytes))>")
    return w
  }

  mutating func bias(_ count: Int, magnitude: Int) -> String {
    let values = (0..<count).map { _ in rng.int(-magnitude...magnitude) }
    let b = fresh("b")
    lines.append("  \(b) = const \(count)xi32 dense<\(Self.hex(NDArray.pack(values, as: .i32, shape: [count]).bytes))>")
    return b
  }

  /// Weight quantization: per tensor, or per channel along `axis` with scales around `scale`.
  mutating func weightQuant(_ scale: Float, channels: Int, perChannel: Bool, axis: Int) -> (String, [Float]) {
    guard perChannel else { return ("q(\(scale), 0)", [scale]) }
    let scales = (0..<channels).map { _ in scale * Float(rng.int(60...140)) / 100 }
    let list = scales.map { "\($0)" }.joined(separator: ", ")
    let zeros = Array(repeating: "0", count: channels).joined(separator: ", ")
    return ("q(axis \(axis), [\(list)], [\(zeros)])", scales)
  }

  /// Output quantization for an accumulator of `taps` products of `xBits` by `wBits` values.
  static func outputQuant(inScale: Float, wScale: Float, taps: Int, xBits: Int, wBits: Int, yBits: Int, unsigned: Bool)
    -> (scale: Float, zeroPoint: Int)
  {
    let typical = Float(taps).squareRoot() * Float(1 << (xBits - 1)) / 2 * Float(1 << (wBits - 1)) / 2
    let scale = inScale * wScale * typical / (Float(1 << (yBits - 1)) * (unsigned ? 1.2 : 0.6))
    return (scale, unsigned ? -(1 << (yBits - 1)) : 0)
  }

  enum ConvKind { case conv, depthwise(Int) }

  mutating func conv(
    _ kind: ConvKind, xBits: Int, wBits: Int, yBits: Int, unsigned: Bool, perChannel: Bool, kernel: (Int, Int),
    stride: Int, pad: [Int], relu: Bool
  ) {
    let x = source(xBits, unsigned: unsigned)
    let (kh, kw) = kernel
    let (inC, outC): (Int, Int)
    switch kind {
    case .conv: (inC, outC) = (3, 5)
    case .depthwise(let m): (inC, outC) = (3, 3 * m)
    }
    let wShape: [Int]
    switch kind {
    case .conv: wShape = [outC, kh, kw, inC]
    case .depthwise: wShape = [1, kh, kw, outC]
    }
    let wScale: Float = 0.02
    let (wq, _) = weightQuant(wScale, channels: outC, perChannel: perChannel, axis: wShape.count == 4 && outC == wShape[0] ? 0 : 3)
    let w = weights(wShape, bits: wBits, quant: wq)
    let taps: Int
    if case .conv = kind { taps = kh * kw * inC } else { taps = kh * kw }
    let typical = Int(Float(taps).squareRoot()) * (1 << (xBits - 1)) * (1 << (wBits - 1)) / 4
    let b = bias(outC, magnitude: max(typical, 1))
    let oh = (5 + pad[0] + pad[2] - kh) / stride + 1
    let ow = (5 + pad[1] + pad[3] - kw) / stride + 1
    let (ys, yz) = Self.outputQuant(
      inScale: x.scale, wScale: wScale, taps: taps, xBits: xBits, wBits: wBits, yBits: yBits, unsigned: unsigned)
    let y = fresh("y")
    let type = "1x\(oh)x\(ow)x\(outC)x\(Self.element(yBits)) q(\(ys), \(yz))"
    var attrs = "stride [\(stride), \(stride)], pad [\(pad.map(String.init).joined(separator: ", "))]"
    if case .depthwise(let m) = kind { attrs += ", multiplier \(m)" }
    if relu { attrs += ", act relu" }
    let op: String
    if case .conv = kind { op = "conv2d" } else { op = "depthwise_conv2d" }
    lines.append("  \(y) = \(op)(\(x.name), \(w), \(b)) {\(attrs)} : \(type)")
    result(y, type)
  }

  mutating func fullyConnected(xBits: Int, wBits: Int, yBits: Int, unsigned: Bool, perChannel: Bool, relu: Bool) {
    let x = source(xBits, unsigned: unsigned)
    let r = fresh("flat")
    let xq = xBits == 8 && !unsigned ? "q(0.05, 3)" : "q(\(x.scale), \(x.zeroPoint))"
    lines.append("  \(r) = reshape(\(x.name)) {shape [1, 75]} : 1x75x\(Self.element(xBits)) \(xq)")
    let units = 7
    let wScale: Float = 0.01
    let (wq, _) = weightQuant(wScale, channels: units, perChannel: perChannel, axis: 0)
    let w = weights([units, 75], bits: wBits, quant: wq)
    let b = bias(units, magnitude: 8 * (1 << (xBits - 1)) * (1 << (wBits - 1)) / 4)
    let (ys, yz) = Self.outputQuant(
      inScale: x.scale, wScale: wScale, taps: 75, xBits: xBits, wBits: wBits, yBits: yBits, unsigned: unsigned)
    let y = fresh("y")
    let type = "1x\(units)x\(Self.element(yBits)) q(\(ys), \(yz))"
    lines.append("  \(y) = fully_connected(\(r), \(w), \(b))\(relu ? " {act relu}" : "") : \(type)")
    result(y, type)
  }

  mutating func pool(max: Bool, xBits: Int, yBits: Int, unsigned: Bool, filter: Int, stride: Int, pad: Int) {
    let x = source(xBits, unsigned: unsigned)
    let o = (5 + 2 * pad - filter) / stride + 1
    let y = fresh("y")
    let type = "1x\(o)x\(o)x3x\(Self.element(yBits)) q(\(x.scale), \(x.zeroPoint))"
    lines.append(
      "  \(y) = \(max ? "max_pool2d" : "average_pool2d")(\(x.name)) {filter [\(filter), \(filter)], stride [\(stride), \(stride)], pad [\(pad), \(pad), \(pad), \(pad)]} : \(type)"
    )
    result(y, type)
  }

  mutating func add(aBits: Int, bBits: Int, yBits: Int, unsigned: Bool, relu: Bool) {
    let a = source(aBits, unsigned: false)
    let b = source(bBits, unsigned: unsigned)
    let (s, zp) = Self.activation(yBits, unsigned: unsigned)
    let y = fresh("y")
    let type = "1x5x5x3x\(Self.element(yBits)) q(\(s * 1.5), \(zp))"
    lines.append("  \(y) = add(\(a.name), \(b.name))\(relu ? " {act relu}" : "") : \(type)")
    result(y, type)
  }

  mutating func concat(_ parts: [(bits: Int, unsigned: Bool)], yBits: Int, unsigned: Bool) {
    let xs = parts.map { source($0.bits, unsigned: $0.unsigned) }
    let (s, zp) = Self.activation(yBits, unsigned: unsigned)
    let y = fresh("y")
    let type = "1x5x5x\(3 * parts.count)x\(Self.element(yBits)) q(\(s), \(zp))"
    lines.append("  \(y) = concat(\(xs.map(\.name).joined(separator: ", "))) {axis 3} : \(type)")
    result(y, type)
  }

  mutating func requantize(xBits: Int, xUnsigned: Bool, yBits: Int, yUnsigned: Bool) {
    let x = source(xBits, unsigned: xUnsigned)
    let (s, zp) = Self.activation(yBits, unsigned: yUnsigned)
    let y = fresh("y")
    let type = "1x5x5x3x\(Self.element(yBits)) q(\(s), \(zp))"
    lines.append("  \(y) = quantize(\(x.name)) : \(type)")
    result(y, type)
  }

  /// Dequantizes a sub-byte tensor to f32 (a result) and quantizes that f32 to `yBits`.
  mutating func throughFloat(xBits: Int, yBits: Int, unsigned: Bool) {
    let x = source(xBits, unsigned: unsigned)
    let f = fresh("f")
    lines.append("  \(f) = dequantize(\(x.name)) : 1x5x5x3xf32")
    result(f, "1x5x5x3xf32")
    let (s, zp) = Self.activation(yBits, unsigned: false)
    let y = fresh("y")
    let type = "1x5x5x3x\(Self.element(yBits)) q(\(s), \(zp))"
    lines.append("  \(y) = quantize(\(f)) : \(type)")
    result(y, type)
  }

  /// Elements of a result type ("1x5x5x3xi4 q(…)").
  static func count(_ type: String) -> Int {
    let dims = type.split(separator: " ")[0].split(separator: "x").dropLast()
    return dims.compactMap { Int($0) }.reduce(1, *)
  }

  /// The packed results returned as they are (the harness takes up to four outputs): the first
  /// i4 one with an odd element count and the first i2 one whose count is not a multiple of 4,
  /// so a last byte ends mid-way.
  var packedResults: [Int] {
    let odd4 = results.firstIndex { $0.type.contains("xi4 ") && Self.count($0.type) % 2 == 1 }
    let odd2 = results.firstIndex { $0.type.contains("xi2 ") && Self.count($0.type) % 4 != 0 }
    return [odd4, odd2].compactMap { $0 }
  }

  /// The graph: output 0 is every result dequantized to f32 (exact: distinct integers give
  /// distinct floats, computed by the same formula on both sides), flattened and concatenated;
  /// then the `packedResults` as they are, so their packed bytes are compared too.
  var text: String {
    var body = lines
    var flat: [String] = []
    var total = 0
    for (k, r) in results.enumerated() {
      let n = Self.count(r.type)
      var f = r.name
      if !r.type.contains("xf32") {
        f = "%all_deq\(k)"
        body.append("  \(f) = dequantize(\(r.name)) : \(r.type.split(separator: " ")[0].dropLast(2))f32")
      }
      body.append("  %all_\(k) = reshape(\(f)) {shape [1, \(n)]} : 1x\(n)xf32")
      flat.append("%all_\(k)")
      total += n
    }
    body.append("  %all = concat(\(flat.joined(separator: ", "))) {axis 1} : 1x\(total)xf32")
    let packed = packedResults.map { results[$0] }
    let outs = (["1x\(total)xf32"] + packed.map(\.type)).joined(separator: ", ")
    return "graph @lowbit(%in: \(Self.inputType)) -> (\(outs)) {\n" + body.joined(separator: "\n") + "\n  return "
      + (["%all"] + packed.map(\.name)).joined(separator: ", ") + "\n}\n"
  }

  /// Every op of the sub-byte set at every width: conv, depthwise and fully connected over all
  /// 27 (input, weights, output) width triples; pools, add, concat, requantization and the
  /// float round trip over the widths and both zero-point conventions.
  static func everything() -> LowBitGraph {
    var b = LowBitGraph()
    let widths = [8, 4, 2]
    var k = 0
    for x in widths {
      for w in widths {
        for y in widths {
          k += 1
          let geometry: [((Int, Int), Int, [Int])] = [
            ((3, 3), 1, [1, 1, 1, 1]), ((3, 3), 2, [0, 0, 1, 1]), ((1, 1), 1, [0, 0, 0, 0]), ((2, 3), 1, [0, 1, 1, 1]),
          ]
          let (kernel, stride, pad) = geometry[k % geometry.count]
          b.conv(
            .conv, xBits: x, wBits: w, yBits: y, unsigned: k % 3 == 1, perChannel: k % 2 == 0, kernel: kernel,
            stride: stride, pad: pad, relu: k % 3 == 1)
          b.conv(
            .depthwise(k % 2 + 1), xBits: x, wBits: w, yBits: y, unsigned: k % 3 == 2, perChannel: k % 2 == 1,
            kernel: kernel, stride: stride, pad: pad, relu: k % 3 == 2)
          b.fullyConnected(
            xBits: x, wBits: w, yBits: y, unsigned: k % 3 == 0 && y != 2, perChannel: k % 2 == 0, relu: k % 3 == 0 && y != 2)
        }
      }
    }
    for (x, y) in [(8, 8), (4, 4), (2, 2), (4, 8), (8, 4)] {
      b.pool(max: true, xBits: x, yBits: y, unsigned: x == 4, filter: 3, stride: 2, pad: 1)
      b.pool(max: false, xBits: x, yBits: y, unsigned: x == 2, filter: 2, stride: 1, pad: 0)
    }
    for (p, q, y) in [(4, 4, 4), (2, 8, 4), (8, 2, 2), (4, 2, 8)] {
      b.add(aBits: p, bBits: q, yBits: y, unsigned: y == 4, relu: y == 4)
    }
    b.concat([(4, false), (2, true), (8, false)], yBits: 4, unsigned: false)
    b.concat([(2, true), (2, true)], yBits: 2, unsigned: true)
    b.concat([(8, false), (4, true)], yBits: 8, unsigned: false)
    for x in widths {
      for y in widths where x != y || x == 4 {
        b.requantize(xBits: x, xUnsigned: x == 2, yBits: y, yUnsigned: y == 4)
      }
    }
    b.throughFloat(xBits: 4, yBits: 2, unsigned: true)
    b.throughFloat(xBits: 2, yBits: 4, unsigned: false)
    return b
  }
}
