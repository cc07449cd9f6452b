import Foundation
import Interpreter
import Testing
import TinyIR

/// Small graphs in the text form whose expected values follow from TFLite's integer
/// arithmetic worked by hand (rounding of averages, requantization, activation ranges).
@Suite struct KernelTests {
  static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
  }
  static func hexI8(_ v: [Int]) -> String { hex(v.map { UInt8(bitPattern: Int8($0)) }) }
  static func hexI32(_ v: [Int]) -> String {
    hex(
      v.flatMap { x -> [UInt8] in
        let u = UInt32(bitPattern: Int32(x))
        return [UInt8(u & 0xff), UInt8(u >> 8 & 0xff), UInt8(u >> 16 & 0xff), UInt8(u >> 24)]
      })
  }

  /// Parses, runs on int8 inputs, returns the first output's integers.
  static func runI8(_ text: String, _ inputs: [[Int]]) throws -> [Int] {
    let g = try Parser.parse(text)
    let arrays = zip(g.inputs, inputs).map { id, v in
      NDArray(shape: g.type(of: id).shape, int8s: v.map { Int8($0) })
    }
    return try Interpreter(g).run(arrays)[0].integers
  }

  @Test(arguments: [
    ([1, 1, 0, 0], 1), ([-1, -1, 0, 0], -1),  // exact halves round away from zero
    ([1, 2, 2, 2], 2), ([-1, -2, -2, -2], -2),  // 1.75
    ([1, 1, 1, 2], 1), ([-1, -1, -1, -2], -1),  // 1.25
    ([127, 127, 127, 126], 127), ([-128, -128, -128, -127], -128),
  ])
  func averagePoolRounding(window: [Int], expected: Int) throws {
    let text = """
      graph @p(%x: 1x2x2x1xi8 q(1.0, 0)) -> (1x1x1x1xi8 q(1.0, 0)) {
        %y = average_pool2d(%x) {filter [2, 2], stride [2, 2]} : 1x1x1x1xi8 q(1.0, 0)
        return %y
      }
      """
    #expect(try Self.runI8(text, [window]) == [expected])
  }

  @Test func averagePoolCountsOnlyValidPositions() throws {
    // 3x3 window, SAME padding on a 2x2 image: every window holds the 4 real pixels, so
    // every output is round(17 / 4) = 4 (counting the padding would give 2).
    let text = """
      graph @p(%x: 1x2x2x1xi8 q(1.0, 0)) -> (1x2x2x1xi8 q(1.0, 0)) {
        %y = average_pool2d(%x) {filter [3, 3], stride [1, 1], pad [1, 1, 1, 1]} : 1x2x2x1xi8 q(1.0, 0)
        return %y
      }
      """
    #expect(try Self.runI8(text, [[4, 4, 4, 5]]) == [4, 4, 4, 4])
  }

  @Test func requantizeRoundsAsTFLite() throws {
    // Multiplier 0.5 (2^30, shift 0): SaturatingRoundingDoublingHighMul rounds halves up,
    // so 1.5 -> 2 but -1.5 -> -1, 0.5 -> 1, -0.5 -> 0.
    let half = """
      graph @q(%x: 1x6xi8 q(1.0, 0)) -> (1x6xi8 q(2.0, 0)) {
        %y = quantize(%x) : 1x6xi8 q(2.0, 0)
        return %y
      }
      """
    #expect(try Self.runI8(half, [[3, -3, 1, -1, 5, -5]]) == [2, -1, 1, 0, 3, -2])
    // Multiplier 0.25 (2^30, shift -1): the rounding right shift rounds halves away from
    // zero after the high multiply.
    let quarter = """
      graph @q(%x: 1x4xi8 q(1.0, 0)) -> (1x4xi8 q(4.0, 0)) {
        %y = quantize(%x) : 1x4xi8 q(4.0, 0)
        return %y
      }
      """
    #expect(try Self.runI8(quarter, [[2, -2, 6, -6]]) == [1, -1, 2, -2])
    // Zero points: (13 - 10) * 0.5 -> 2, then -5.
    let offsets = """
      graph @q(%x: 1x2xi8 q(1.0, 10)) -> (1x2xi8 q(2.0, -5)) {
        %y = quantize(%x) : 1x2xi8 q(2.0, -5)
        return %y
      }
      """
    #expect(try Self.runI8(offsets, [[13, 127]]) == [-3, 54])
  }

  @Test func quantizeFloatRoundsHalfAwayAndSaturates() throws {
    let text = """
      graph @q(%x: 1x7xf32) -> (1x7xi8 q(0.5, 3)) {
        %y = quantize(%x) : 1x7xi8 q(0.5, 3)
        return %y
      }
      """
    let g = try Parser.parse(text)
    let x = NDArray(shape: [1, 7], floats: [0.25, -0.25, 0.75, -1.25, 1000, -1000, 0])
    // x / 0.5 = 0.5, -0.5, 1.5, -2.5 -> 1, -1, 2, -3; plus 3; saturated; 0 -> zero point.
    #expect(try Interpreter(g).run([x])[0].integers == [4, 2, 5, 0, 127, -128, 3])
  }

  @Test func dequantizeRoundTrip() throws {
    let text = """
      graph @d(%x: 1x3xi8 q(0.25, -2)) -> (1x3xf32) {
        %y = dequantize(%x) : 1x3xf32
        return %y
      }
      """
    let y = try Interpreter(try Parser.parse(text)).run([NDArray(shape: [1, 3], int8s: [-2, 2, -128])])[0]
    #expect(y.floats == [0, 1, -31.5])
  }

  @Test func softmaxOfEqualLogitsIsOneQuarter() throws {
    let text = """
      graph @s(%x: 1x4xi8 q(0.1, 0)) -> (1x4xi8 q(0.00390625, -128)) {
        %y = softmax(%x) {beta 1.0} : 1x4xi8 q(0.00390625, -128)
        return %y
      }
      """
    // 1/4 * 256 = 64 -> -128 + 64.
    #expect(try Self.runI8(text, [[5, 5, 5, 5]]) == [-64, -64, -64, -64])
    #expect(try Self.runI8(text.replacingOccurrences(of: "q(0.1, 0)", with: "q(1.0, 0)"), [[127, -128, 127, -128]]) == [0, -128, 0, -128])
  }

  static let convText = """
    graph @c(%x: 1x1x1x2xi8 q(1.0, 1)) -> (1x1x1x2xi8 q(1.0, 0)) {
      %w = const 2x1x1x2xWT q(axis 0, [1.0, 0.5], [0, 0]) dense<WEIGHTS>
      %b = const 2xi32 dense<\(hexI32([10, 0]))>
      %y = conv2d(%x, %w, %b) {stride [1, 1]} : 1x1x1x2xi8 q(1.0, 0)
      return %y
    }
    """

  @Test func perChannelConvolution() throws {
    // x = [3, -2] (codes [4, -1] with zero point 1); channel 0: 3·1 + (-2)·2 + 10 = 9;
    // channel 1: (3·4 + (-2)·4) · 0.5 = 2.
    let i8 = Self.convText.replacingOccurrences(of: "WT", with: "i8")
      .replacingOccurrences(of: "WEIGHTS", with: Self.hexI8([1, 2, 4, 4]))
    #expect(try Self.runI8(i8, [[4, -1]]) == [9, 2])
    // The same weights as packed int4 (low nibble first) give the same result.
    let i4 = Self.convText.replacingOccurrences(of: "WT", with: "i4")
      .replacingOccurrences(of: "WEIGHTS", with: "2144")
    #expect(try Self.runI8(i4, [[4, -1]]) == [9, 2])
  }

  @Test func depthwiseMultiplier() throws {
    let text = """
      graph @d(%x: 1x1x1x1xi8 q(1.0, 0)) -> (1x1x1x2xi8 q(1.0, 0)) {
        %w = const 1x1x1x2xi8 q(axis 3, [1.0, 1.0], [0, 0]) dense<\(Self.hexI8([2, -1]))>
        %y = depthwise_conv2d(%x, %w) {stride [1, 1], multiplier 2} : 1x1x1x2xi8 q(1.0, 0)
        return %y
      }
      """
    #expect(try Self.runI8(text, [[3]]) == [6, -3])
  }

  @Test func addWithBroadcastAndRelu() throws {
    let text = """
      graph @a(%x: 1x2x2x1xi8 q(0.5, 0), %z: 1x1x1x1xi8 q(0.5, 0)) -> (1x2x2x1xi8 q(0.5, 0)) {
        %y = add(%x, %z) {act relu} : 1x2x2x1xi8 q(0.5, 0)
        return %y
      }
      """
    #expect(try Self.runI8(text, [[10, -20, 100, 0], [5]]) == [15, 0, 105, 5])
  }

  @Test func logisticAndTanhSaturateBeyondTheRadius() throws {
    // s_in = 0.1: multiplier from frexp(0.1 · 2^27) has left shift 24, so the radius is
    // floor(15 · 2^27 / 2^24) = 120 codes.
    let logistic = """
      graph @l(%x: 1x3xi8 q(0.1, 0)) -> (1x3xi8 q(0.00390625, -128)) {
        %y = logistic(%x) : 1x3xi8 q(0.00390625, -128)
        return %y
      }
      """
    #expect(try Self.runI8(logistic, [[0, 127, -128]]) == [0, 127, -128])
    let tanh = """
      graph @t(%x: 1x3xi8 q(0.1, 0)) -> (1x3xi8 q(0.0078125, 0)) {
        %y = tanh(%x) : 1x3xi8 q(0.0078125, 0)
        return %y
      }
      """
    #expect(try Self.runI8(tanh, [[0, 127, -128]]) == [0, 127, -128])
  }

  @Test func relu6ClampsInputCodesLikeTFLM() throws {
    // TFLM's int8 RELU6 clamps to [zp_in, zp_in + round(6 / s_in)] = [-100, -40] and keeps
    // the input's codes, whatever the result's quantization.
    let text = """
      graph @r(%x: 1x5xi8 q(0.1, -100)) -> (1x5xi8 q(0.05, 0)) {
        %y = relu6(%x) : 1x5xi8 q(0.05, 0)
        return %y
      }
      """
    #expect(try Self.runI8(text, [[-128, -100, -50, 0, 127]]) == [-100, -100, -50, -40, -40])
  }

  @Test func reluRequantizes() throws {
    let text = """
      graph @r(%x: 1x4xi8 q(0.5, 0)) -> (1x4xi8 q(0.25, -128)) {
        %y = relu(%x) : 1x4xi8 q(0.25, -128)
        return %y
      }
      """
    #expect(try Self.runI8(text, [[-10, 0, 10, 100]]) == [-128, -128, -108, 72])
  }

  @Test func padUsesTheZeroPoint() throws {
    let text = """
      graph @p(%x: 1x1x1x1xi8 q(1.0, 7)) -> (1x2x2x1xi8 q(1.0, 7)) {
        %y = pad(%x) {paddings [0, 0, 1, 0, 0, 1, 0, 0]} : 1x2x2x1xi8 q(1.0, 7)
        return %y
      }
      """
    // One row before (H) and one column after (W): the value lands at (1, 0).
    #expect(try Self.runI8(text, [[5]]) == [7, 7, 5, 7])
  }

  @Test func meanRoundsLikeTFLite() throws {
    let text = """
      graph @m(%x: 1x2x2x1xi8 q(1.0, 0)) -> (1x1x1x1xi8 q(1.0, 0)) {
        %y = mean(%x) {axes [1, 2], keep_dims 1} : 1x1x1x1xi8 q(1.0, 0)
        return %y
      }
      """
    #expect(try Self.runI8(text, [[1, 2, 3, 5]]) == [3])  // 2.75
    #expect(try Self.runI8(text, [[-1, -2, -3, -5]]) == [-3])
    #expect(try Self.runI8(text, [[1, 1, 0, 0]]) == [1])  // 0.5
  }

  @Test func dataMovement() throws {
    let text = """
      graph @m(%x: 1x2x3xi8 q(1.0, 0)) -> (1x2x2xi8 q(1.0, 0)) {
        %t = transpose(%x) {perm [0, 2, 1]} : 1x3x2xi8 q(1.0, 0)
        %s = strided_slice(%t) {begin [0, 0, 0], end [1, 3, 2], strides [1, 2, 1]} : 1x2x2xi8 q(1.0, 0)
        return %s
      }
      """
    // x = [[1, 2, 3], [4, 5, 6]] -> transpose [[1, 4], [2, 5], [3, 6]] -> rows 0 and 2.
    #expect(try Self.runI8(text, [[1, 2, 3, 4, 5, 6]]) == [1, 4, 3, 6])
  }

  @Test func floatGraph() throws {
    let text = """
      graph @f(%x: 1x1x1x2xf32) -> (1x2xf32) {
        %w = const 2x2xf32 dense<\(Self.hex(NDArray(shape: [4], floats: [1, 2, -1, 0.5]).bytes))>
        %r = reshape(%x) {shape [1, 2]} : 1x2xf32
        %f = fully_connected(%r, %w) : 1x2xf32
        %s = softmax(%f) {beta 1.0} : 1x2xf32
        return %s
      }
      """
    let y = try Interpreter(try Parser.parse(text)).run([NDArray(shape: [1, 1, 1, 2], floats: [1, 1])])[0].floats
    // logits 3 and -0.5
    let e = (3.5 as Float)
    #expect(abs(y[0] - 1 / (1 + expf(-e))) < 1e-6)
    #expect(abs(y[0] + y[1] - 1) < 1e-6)
  }

  @Test func onnxFloatOps() throws {
    func f32(_ v: [Float]) -> String { Self.hex(NDArray(shape: [v.count], floats: v).bytes) }
    let text = """
      graph @o(%x: 1x2xf32) -> (1x2xf32, 1x2xf32, 1x2xf32, 1x2xf32, 1x2xf32) {
        %s = const 2xf32 dense<\(f32([2, 1]))>
        %b = const 2xf32 dense<\(f32([0.5, 0]))>
        %m = const 2xf32 dense<\(f32([1, -1]))>
        %v = const 2xf32 dense<\(f32([4, 0.25]))>
        %slope = const 2xf32 dense<\(f32([0.1, 0.1]))>
        %bn = batch_norm(%x, %s, %b, %m, %v) {epsilon 0.0} : 1x2xf32
        %p = prelu(%x, %slope) : 1x2xf32
        %h = hard_sigmoid(%x) {alpha 0.2, beta 0.5} : 1x2xf32
        %l = log_softmax(%x) : 1x2xf32
        %d = div(%x, %s) {act [-1.0, 1.0]} : 1x2xf32
        return %bn, %p, %h, %l, %d
      }
      """
    let y = try Interpreter(try Parser.parse(text)).run([NDArray(shape: [1, 2], floats: [3, -2])]).map(\.floats)
    // (x - mean) / sqrt(var) * scale + bias: (3 - 1) / 2 * 2 + 0.5, (-2 + 1) / 0.5 * 1 + 0
    let expectedBatchNorm: [Float] = [2.5, -2]
    #expect(y[0] == expectedBatchNorm)
    #expect(y[1] == [3, -0.2])
    #expect(y[2] == [1, Float(0.2) * -2 + 0.5])  // 1.1 clipped to 1; 0.1 in float arithmetic
    let lse = log(exp(Float(3)) + exp(Float(-2)))
    #expect(abs(y[3][0] - (3 - lse)) < 1e-6 && abs(y[3][1] - (-2 - lse)) < 1e-6)
    #expect(y[4] == [1, -1])  // 1.5 and -2 clipped to [-1, 1]
  }

  @Test func observeSeesEveryOp() throws {
    let text = """
      graph @m(%x: 1x2x3xi8 q(1.0, 0)) -> (1x2x2xi8 q(1.0, 0)) {
        %t = transpose(%x) {perm [0, 2, 1]} : 1x3x2xi8 q(1.0, 0) loc(tflite:op 0 "t")
        %s = strided_slice(%t) {begin [0, 0, 0], end [1, 3, 2], strides [1, 2, 1]} : 1x2x2xi8 q(1.0, 0) loc(tflite:op 1 "s")
        return %s
      }
      """
    var seen: [(Int, [Int])] = []
    let g = try Parser.parse(text)
    _ = try Interpreter(g).run([NDArray(shape: [1, 2, 3], int8s: [1, 2, 3, 4, 5, 6])]) { i, op, results in
      seen.append((op.location.index ?? -1, results[0].shape))
      #expect(i == op.location.index)
    }
    #expect(seen.map(\.0) == [0, 1])
    #expect(seen.map(\.1) == [[1, 3, 2], [1, 2, 2]])
  }

  @Test func badInputsAreErrorsNotCrashes() throws {
    let text = """
      graph @m(%x: 1x4xi8 q(1.0, 0)) -> (1x4xi8 q(1.0, 0)) {
        %y = relu(%x) : 1x4xi8 q(1.0, 0)
        return %y
      }
      """
    let interpreter = try Interpreter(try Parser.parse(text))
    #expect { try interpreter.run([]) } throws: { "\($0)".contains("takes 1 inputs, got 0") }
    #expect { try interpreter.run([NDArray(shape: [1, 5], int8s: [1, 2, 3, 4, 5])]) } throws: {
      "\($0)".contains("must have shape [1, 4]")
    }
    #expect { try interpreter.run([NDArray(shape: [1, 4], floats: [1, 2, 3, 4])]) } throws: {
      "\($0)".contains("must be i8, got f32")
    }
  }

  @Test func unsupportedOpsNameTheOp() throws {
    let text = """
      graph @m(%x: 1x4xi8 q(1.0, 0), %z: 1x4xi8 q(1.0, 0)) -> (1x4xi8 q(1.0, 0)) {
        %y = div(%x, %z) : 1x4xi8 q(1.0, 0) loc(tflite:op 7 "d")
        return %y
      }
      """
    #expect { try Interpreter(try Parser.parse(text)) } throws: { error in
      let s = "\(error)"
      return s.contains("op 0 (div, tflite:op 7 \"d\")") && s.contains("f32 only")
    }
  }
}
