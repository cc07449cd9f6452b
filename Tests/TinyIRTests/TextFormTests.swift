import Foundation
import Testing

@testable import TinyIR

@Suite struct TextFormTests {
  static let sample = """
    graph @tiny(%in: 1x4x4x2xi8 q(0.5, -128)) -> (1x3xi8 q(0.00390625, -128)) {
      %w = const 4x3x3x2xi8 q(axis 0, [0.01, 0.02, 0.03, 0.04], [0, 0, 0, 0]) dense<\(String(repeating: "01", count: 72))>
      %b = const 4xi32 dense<01000000020000000300000004000000>
      %fw = const 3x16xi8 q(0.05, 0) dense<\(String(repeating: "ff", count: 48))>
      %c = conv2d(%in, %w, %b) {stride [2, 2], pad [1, 1, 1, 1], act relu} : 1x2x2x4xi8 q(0.25, -128) loc(tflite:op 0 "conv \\"a\\"")
      %r = reshape(%c) {shape [1, 16]} : 1x16xi8 q(0.25, -128) loc(tflite:op 1 "r")
      %f = fully_connected(%r, %fw) : 1x3xi8 q(0.125, 3) loc(tflite:op 2 "fc")
      %s = softmax(%f) {beta 1.0} : 1x3xi8 q(0.00390625, -128) loc(tflite:op 3 "out")
      return %s
    }

    """

  @Test func roundTrip() throws {
    let g = try Parser.parse(Self.sample)
    try Verifier.verify(g)
    let text = Printer().print(g)
    #expect(text == Self.sample)
    let again = try Parser.parse(text)
    #expect(again == g)
    #expect(g.ops[0].location == Location.tflite(op: 0, tensor: "conv \"a\""))
  }

  @Test func elidedConstantsDoNotParse() throws {
    let g = try Parser.parse(Self.sample)
    let short = Printer(elideOver: 16).print(g)
    #expect(short.contains("dense<elided 72 bytes fnv1a64:"))
    #expect(throws: IRError.self) { try Parser.parse(short) }
  }

  @Test(arguments: [
    ("%c = conv2d(%in, %w, %b) {stride [2, 2], act relu}", "shape rule"),
    ("%c = conv2d(%in, %nope, %b) {stride [2, 2]}", "undefined value"),
    ("%c = conv2d(%in, %w, %b) {stride [2, 2], colour red}", "unknown attribute"),
  ])
  func brokenGraphsAreRejected(line: String, expected: String) throws {
    let text = Self.sample.replacingFirst(
      #"%c = conv2d(%in, %w, %b) {stride [2, 2], pad [1, 1, 1, 1], act relu}"#, with: line)
    #expect(text != Self.sample)
    #expect {
      let g = try Parser.parse(text)
      try Verifier.verify(g)
    } throws: { error in
      "\(error)".contains(expected)
    }
  }

  @Test func verifierRejectsUseBeforeDefinition() throws {
    var g = try Parser.parse(Self.sample)
    g.ops.swapAt(0, 1)
    #expect(throws: IRError.self) { try Verifier.verify(g) }
  }

  @Test func verifierRejectsBadQuantization() throws {
    var g = try Parser.parse(Self.sample)
    g.values[0].type.quantization = Quantization(scale: -1, zeroPoint: 0)
    #expect(throws: IRError.self) { try Verifier.verify(g) }
  }

  @Test func quantizeMultiplierMatchesTFLite() {
    // 0.5 = 0.5 * 2^0 → (2^30, 0); 0.75 → 0.75 * 2^31, shift 0.
    #expect(QuantMath.quantizeMultiplier(0.5) == (1 << 30, 0))
    #expect(QuantMath.quantizeMultiplier(0.75).multiplier == 1_610_612_736)
    #expect(QuantMath.quantizeMultiplier(0.001).shift == -9)
    #expect(QuantMath.roundingDivideByPOT(-5, 1) == -3)
    #expect(QuantMath.roundingDivideByPOT(5, 1) == 3)
    #expect(QuantMath.saturatingRoundingDoublingHighMul(Int32.min, Int32.min) == Int32.max)
  }

  @Test func subBytePacking() {
    let a = NDArray.pack([-8, 7, 1, -1, 3], as: .i4, shape: [5])
    #expect(a.bytes == [0x78, 0xf1, 0x03])
    #expect(a.integers == [-8, 7, 1, -1, 3])
    let b = NDArray.pack([-2, 1, 0, -1, 1], as: .i2, shape: [5])
    #expect(b.bytes == [0b11_00_01_10, 0b01])
    #expect(b.integers == [-2, 1, 0, -1, 1])
  }
}

extension String {
  fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
    guard let r = range(of: target) else { return self }
    return replacingCharacters(in: r, with: replacement)
  }
}
