import TinyIR

/// QCDQ: `QuantizeLinear → Clip → DequantizeLinear` with a Clip narrower than the int8 /
/// uint8 container, as Brevitas (and tinyc's own QAT export) writes 4- and 2-bit tensors.
/// The clipped tensor keeps its bits: the Clip range, in the container's codes, picks the
/// narrowest IR type that holds it,
///
///     [-2, 1] → i2          [0, 3]  → i2 (codes − 2, zero point − 2)
///     [-8, 7] → i4          [0, 15] → i4 (codes − 8, zero point − 8)
///
/// and any range inside one of those too (a narrow-range [-7, 7] is i4, a ternary [-1, 1] is
/// i2, [0, 7] is i4); a range no 2- or 4-bit type holds ([0, 31], [-100, 100]) stays 8 bits.
/// - A constant (a folded QuantizeLinear of a float initializer, or an int8/uint8 initializer)
///   is clipped on the host; its DequantizeLinear then gives a constant of the narrow type.
/// - A runtime tensor gets a new `quantize` to the narrow type in place of the 8-bit one. When
///   the range is exactly the type's, saturation is the Clip; when it is narrower, a `clip` of
///   the real values `s·(lo − z) … s·(hi − z)` goes in front of the `quantize`, which is the
///   same as clipping the codes (per-tensor quantization only).
extension Importer {
  /// Handles the Clip when its input is quantized (a QuantizeLinear's result or an integer
  /// constant); false when it is an ordinary Clip.
  func clipOfQuantized() throws -> Bool {
    let xn = try requireInput(0)
    switch try entry(xn) {
    case .constant(let t) where !t.dataType.isFloat && t.dataType != .int32 && t.dataType != .int64:
      let (lo, hi) = try integerClipBounds(container: t.dataType)
      let out = try output()
      entries[out] = .constant(ONNXTensor(dataType: t.dataType, shape: t.shape, ints: t.ints.map { min(max($0, lo), hi) }))
      if let (et, shift) = Self.narrowType(lo, hi) { narrowedConstants[out] = NarrowType(type: et, shift: shift) }
      return true
    case .value(let x):
      guard let qop = g.ops.lastIndex(where: { $0.outputs.contains(x.id) }), g.ops[qop].kind == .quantize,
        let q = g.type(of: x.id).quantization
      else { return false }
      let container = onnxContainer[x.id] ?? .int8
      let (lo, hi) = try integerClipBounds(container: container)
      let out = try output()
      guard let (et, shift) = Self.narrowType(lo, hi) else {
        // Stays 8 bits: the clip of the codes as a clip of the real values before the quantize.
        guard q.axis == nil else { throw fail("a Clip of a per-axis quantized tensor is not supported") }
        let f = g.ops[qop].inputs[0]
        let containerShift = container == .uint8 ? 128 : 0
        let zp = q.zeroPoint + containerShift
        let c = try emit(.clip(min: q.scale * Float(lo - zp), max: q.scale * Float(hi - zp)), [f], .f32, nil, name: out + "_clip")
        let id = try emit(.quantize, [c], g.type(of: x.id).elementType, q, name: out)
        onnxContainer[id] = container
        define(out, RValue(id: id, shape: x.shape, layout: x.layout))
        return true
      }
      // IR zero points: the container's own minus the narrow type's offset.
      let containerShift = container == .uint8 ? 128 : 0
      var nq = q
      nq.zeroPoints = q.zeroPoints.map { $0 + containerShift - shift }
      guard nq.zeroPoints.allSatisfy({ et.integerRange.contains($0) }) else {
        throw fail("the zero point of the clipped tensor is outside the range of \(et.rawValue) codes \(lo)...\(hi)")
      }
      var f = g.ops[qop].inputs[0]
      if (lo - shift, hi - shift) != (et.integerRange.lowerBound, et.integerRange.upperBound) {
        guard q.axis == nil else { throw fail("a narrow Clip of a per-axis quantized tensor is not supported") }
        let zp = q.zeroPoint + containerShift
        f = try emit(.clip(min: q.scale * Float(lo - zp), max: q.scale * Float(hi - zp)), [f], .f32, nil, name: out + "_clip")
      }
      let id = try emit(.quantize, [f], et, nq, name: out)
      narrowedValues[id] = shift
      define(out, RValue(id: id, shape: x.shape, layout: x.layout))
      return true
    default:
      return false
    }
  }

  /// The Clip's bounds as codes of the container type: constant inputs (opset ≥ 11) or the
  /// min/max attributes (opset 6), integral and inside the container's range.
  func integerClipBounds(container: ONNXTensor.DataType) throws -> (Int, Int) {
    let r = container.integerRange
    func bound(_ index: Int, _ attribute: String, _ d: Int) throws -> Int {
      let v: Double
      if opset < 11 {
        guard let a = attr(attribute) else { return d }
        guard a.type == .float || (a.type == .undefined && a.hasF) else {
          throw fail("attribute '\(attribute)' must be a float")
        }
        v = Double(a.f)
      } else {
        guard let n = input(index) else { return d }
        let t = try requireConstant(n, attribute)
        guard t.count == 1, let x = t.doubles.first else { throw fail("\(attribute) ('\(n)') must be a single value") }
        v = x
      }
      guard v.isFinite, v == v.rounded() else {
        throw fail("Clip \(attribute) \(v) of a quantized \(container.name) tensor is not an integer")
      }
      guard v >= Double(r.lowerBound), v <= Double(r.upperBound) else {
        throw fail("Clip \(attribute) \(Int(v)) is outside the \(container.name) range \(r.lowerBound)...\(r.upperBound)")
      }
      return Int(v)
    }
    let lo = try bound(1, "min", r.lowerBound)
    let hi = try bound(2, "max", r.upperBound)
    guard lo <= hi else { throw fail("Clip min \(lo) is larger than max \(hi)") }
    return (lo, hi)
  }

  /// The narrowest sub-byte IR type that holds the codes lo...hi, and the offset subtracted
  /// from codes and zero points (0 for a signed range, 2^(bits−1) for an unsigned one); nil
  /// when only 8 bits do.
  static func narrowType(_ lo: Int, _ hi: Int) -> (ElementType, Int)? {
    for et in [ElementType.i2, .i4] {
      let half = 1 << (et.bits - 1)
      if lo >= -half && hi <= half - 1 { return (et, 0) }
      if lo >= 0 && hi <= 2 * half - 1 { return (et, half) }
    }
    return nil
  }
}
