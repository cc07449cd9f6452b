import Foundation
import Interpreter
import Testing
import TinyIR

@testable import TinyPasses

@Suite struct LowerQDQTests {
  typealias R = Rewrite

  static let sIn: Float = 0.5
  static let sW: [Float] = [0.01, 0.02, 0.03, 0.04]
  static let sB = sW.map { Float(Double(sIn) * Double($0)) }
  static let weights = R.hex(int8: [10, -20, 30, -40, 50, -60, 70, -80])
  static let bias = R.hex(int32: [100, -200, 300, -400])
  static var scales: String { sW.map { "\($0)" }.joined(separator: ", ") }
  static var biasScales: String { sB.map { "\($0)" }.joined(separator: ", ") }

  /// A QDQ conv → max pool → softmax, as an ONNX QDQ model imports.
  static var qdq: String {
    """
    graph @q(%x: 1x4x4x2xf32) -> (1x2x2x4xf32) {
      %w = const 4x1x1x2xi8 q(axis 0, [\(scales)], [0, 0, 0, 0]) dense<\(weights)>
      %b = const 4xi32 q(axis 0, [\(biasScales)], [0, 0, 0, 0]) dense<\(bias)>
      %xq = quantize(%x) : 1x4x4x2xi8 q(0.5, -3) loc(onnx "q_x")
      %xd = dequantize(%xq) : 1x4x4x2xf32 loc(onnx "dq_x")
      %wd = dequantize(%w) : 4x1x1x2xf32 loc(onnx "dq_w")
      %bd = dequantize(%b) : 4xf32 loc(onnx "dq_b")
      %c = conv2d(%xd, %wd, %bd) {stride [1, 1]} : 1x4x4x4xf32 loc(onnx "conv")
      %cq = quantize(%c) : 1x4x4x4xi8 q(0.05, -10) loc(onnx "q_c")
      %cd = dequantize(%cq) : 1x4x4x4xf32 loc(onnx "dq_c")
      %p = max_pool2d(%cd) {filter [2, 2], stride [2, 2]} : 1x2x2x4xf32 loc(onnx "pool")
      %pq = quantize(%p) : 1x2x2x4xi8 q(0.05, -10) loc(onnx "q_p")
      %pd = dequantize(%pq) : 1x2x2x4xf32 loc(onnx "dq_p")
      %s = softmax(%pd) {beta 1.0} : 1x2x2x4xf32 loc(onnx "softmax")
      return %s
    }

    """
  }

  @Test func convAndPoolRunOnIntegers() throws {
    // The conv takes the int8 input, weights and int32 bias directly and produces the
    // quantization of the quantize that followed it; the pool keeps it; the softmax has no
    // quantized follower and stays float after a dequantize.
    let after = """
      graph @q(%x: 1x4x4x2xf32) -> (1x2x2x4xf32) {
        %w = const 4x1x1x2xi8 q(axis 0, [\(Self.scales)], [0, 0, 0, 0]) dense<\(Self.weights)>
        %b = const 4xi32 q(axis 0, [\(Self.biasScales)], [0, 0, 0, 0]) dense<\(Self.bias)>
        %xq = quantize(%x) : 1x4x4x2xi8 q(0.5, -3) loc(onnx "q_x")
        %c = conv2d(%xq, %w, %b) {stride [1, 1]} : 1x4x4x4xi8 q(0.05, -10) loc(onnx "conv")
        %p = max_pool2d(%c) {filter [2, 2], stride [2, 2]} : 1x2x2x4xi8 q(0.05, -10) loc(onnx "pool")
        %pd = dequantize(%p) : 1x2x2x4xf32 loc(onnx "dq_p")
        %s = softmax(%pd) {beta 1.0} : 1x2x2x4xf32 loc(onnx "softmax")
        return %s
      }

      """
    #expect(try R.run(lowerQDQ, on: Self.qdq) == after)
    // With io=int8 the input quantize becomes the interface.
    let int8IO =
      after
      .replacingOccurrences(of: "@q(%x: 1x4x4x2xf32)", with: "@q(%x: 1x4x4x2xi8 q(0.5, -3))")
      .replacingOccurrences(of: "  %xq = quantize(%x) : 1x4x4x2xi8 q(0.5, -3) loc(onnx \"q_x\")\n", with: "")
      .replacingOccurrences(of: "conv2d(%xq,", with: "conv2d(%x,")
    #expect(try R.run(lowerQDQ, options: ["io": "int8"], on: Self.qdq) == int8IO)
  }

  @Test func loweredGraphMatchesTheQDQGraph() throws {
    // The QDQ graph run in float (fake quantization: float conv, then rounding) and the integer
    // graph (int32 accumulation, fixed-point requantization) may differ by one step in the
    // conv's output codes, so the softmax input (%pd) within one step (0.05); the softmax
    // probabilities then within 0.05 / 2.
    let qdq = try Parser.parse(Self.qdq)
    var lowered = qdq
    try PassManager([lowerQDQ]).run(&lowered)
    var rng = R.Numbers(seed: 9)
    var exact = 0
    for _ in 0..<20 {
      let x = R.randomInputs(qdq, &rng, -60, 60)
      var logits: [[Float]] = []
      for g in [qdq, lowered] {
        _ = try Interpreter(g).run(x) { _, op, results in
          if g[op.outputs[0]].name == "pd" { logits.append(results[0].floats) }
        }
      }
      #expect(logits.count == 2)
      let d = zip(logits[0], logits[1]).map { abs($0 - $1) }.max() ?? 0
      #expect(d <= 0.05 + 1e-6, "largest softmax input difference \(d)")
      if d == 0 { exact += 1 }
      let p = R.maxDifference(try Interpreter(qdq).run(x)[0], try Interpreter(lowered).run(x)[0])
      #expect(p <= 0.025, "largest probability difference \(p)")
    }
    print("lower-qdq conv/pool: softmax inputs identical on \(exact) of 20 random inputs")
  }

  @Test func differentFollowerParametersBecomeRequantizes() throws {
    // The pool must keep its input's quantization (TFLite Micro's int8 pool does not
    // requantize): the quantize after it stays, now int8 → int8. The concat's operands are
    // requantized to its result's quantization in front of it.
    let before = """
      graph @q(%x: 1x4x4x2xi8 q(0.5, -3), %y: 1x2x2x2xi8 q(0.25, 0)) -> (1x2x2x4xi8 q(0.1, -5)) {
        %xd = dequantize(%x) : 1x4x4x2xf32 loc(onnx "dq_x")
        %p = max_pool2d(%xd) {filter [2, 2], stride [2, 2]} : 1x2x2x2xf32 loc(onnx "pool")
        %pq = quantize(%p) : 1x2x2x2xi8 q(0.1, -5) loc(onnx "q_p")
        %pd = dequantize(%pq) : 1x2x2x2xf32 loc(onnx "dq_p")
        %yd = dequantize(%y) : 1x2x2x2xf32 loc(onnx "dq_y")
        %c = concat(%pd, %yd) {axis 3} : 1x2x2x4xf32 loc(onnx "cat")
        %cq = quantize(%c) : 1x2x2x4xi8 q(0.1, -5) loc(onnx "q_c")
        return %cq
      }

      """
    let after = """
      graph @q(%x: 1x4x4x2xi8 q(0.5, -3), %y: 1x2x2x2xi8 q(0.25, 0)) -> (1x2x2x4xi8 q(0.1, -5)) {
        %p = max_pool2d(%x) {filter [2, 2], stride [2, 2]} : 1x2x2x2xi8 q(0.5, -3) loc(onnx "pool")
        %pq = quantize(%p) : 1x2x2x2xi8 q(0.1, -5) loc(onnx "q_p")
        %y_requant = quantize(%y) : 1x2x2x2xi8 q(0.1, -5) loc(lower-qdq "y")
        %c = concat(%pq, %y_requant) {axis 3} : 1x2x2x4xi8 q(0.1, -5) loc(onnx "cat")
        return %c
      }

      """
    #expect(try R.run(lowerQDQ, on: before) == after)
  }

  /// A global average pool whose quantize differs from its input becomes `mean` over H and W
  /// with the quantize's parameters (one rounding, as TFLite's MEAN); with the same
  /// parameters it stays an average pool; a pool over part of the input keeps its input's
  /// parameters and a requantize.
  @Test func globalAveragePoolBecomesMean() throws {
    let before = """
      graph @q(%x: 1x4x4x2xi8 q(0.5, -3)) -> (1x1x1x2xi8 q(0.1, -5), 1x1x1x2xi8 q(0.5, -3), 1x2x2x2xi8 q(0.1, -5)) {
        %xd = dequantize(%x) : 1x4x4x2xf32 loc(onnx "dq_x")
        %g = average_pool2d(%xd) {filter [4, 4], stride [1, 1]} : 1x1x1x2xf32 loc(onnx "gap")
        %gq = quantize(%g) : 1x1x1x2xi8 q(0.1, -5) loc(onnx "q_g")
        %h = average_pool2d(%xd) {filter [4, 4], stride [1, 1]} : 1x1x1x2xf32 loc(onnx "gap_same")
        %hq = quantize(%h) : 1x1x1x2xi8 q(0.5, -3) loc(onnx "q_h")
        %p = average_pool2d(%xd) {filter [2, 2], stride [2, 2]} : 1x2x2x2xf32 loc(onnx "pool")
        %pq = quantize(%p) : 1x2x2x2xi8 q(0.1, -5) loc(onnx "q_p")
        return %gq, %hq, %pq
      }

      """
    let after = """
      graph @q(%x: 1x4x4x2xi8 q(0.5, -3)) -> (1x1x1x2xi8 q(0.1, -5), 1x1x1x2xi8 q(0.5, -3), 1x2x2x2xi8 q(0.1, -5)) {
        %g = mean(%x) {axes [1, 2], keep_dims 1} : 1x1x1x2xi8 q(0.1, -5) loc(onnx "gap")
        %h = average_pool2d(%x) {filter [4, 4], stride [1, 1]} : 1x1x1x2xi8 q(0.5, -3) loc(onnx "gap_same")
        %p = average_pool2d(%x) {filter [2, 2], stride [2, 2]} : 1x2x2x2xi8 q(0.5, -3) loc(onnx "pool")
        %pq = quantize(%p) : 1x2x2x2xi8 q(0.1, -5) loc(onnx "q_p")
        return %g, %h, %pq
      }

      """
    #expect(try R.run(lowerQDQ, on: before) == after)
  }

  @Test func opsWithoutAnIntegerFormStayFloat() throws {
    // div has no int8 kernel; a float bias is quantized with s_in · s_w; a per-tensor weight
    // scale becomes per channel.
    let before = """
      graph @q(%x: 1x2xi8 q(0.5, 0)) -> (1x2xi8 q(0.25, 1)) {
        %w = const 2x2xi8 q(0.125, 0) dense<\(R.hex(int8: [8, -8, 16, 4]))>
        %b = const 2xf32 dense<\(R.hex([1, -0.5]))>
        %k = const 2xf32 dense<\(R.hex([2, 4]))>
        %xd = dequantize(%x) : 1x2xf32 loc(onnx "dq_x")
        %wd = dequantize(%w) : 2x2xf32 loc(onnx "dq_w")
        %f = fully_connected(%xd, %wd, %b) : 1x2xf32 loc(onnx "fc")
        %fq = quantize(%f) : 1x2xi8 q(0.25, 1) loc(onnx "q_f")
        %fd = dequantize(%fq) : 1x2xf32 loc(onnx "dq_f")
        %d = div(%fd, %k) : 1x2xf32 loc(onnx "div")
        %dq = quantize(%d) : 1x2xi8 q(0.25, 1) loc(onnx "q_d")
        return %dq
      }

      """
    // Bias scale 0.5 · 0.125 = 0.0625: codes 1/0.0625 = 16, −0.5/0.0625 = −8.
    let after = """
      graph @q(%x: 1x2xi8 q(0.5, 0)) -> (1x2xi8 q(0.25, 1)) {
        %k = const 2xf32 dense<\(R.hex([2, 4]))>
        %w_per_channel = const 2x2xi8 q(axis 0, [0.125, 0.125], [0, 0]) dense<\(R.hex(int8: [8, -8, 16, 4]))>
        %b_q = const 2xi32 q(axis 0, [0.0625, 0.0625], [0, 0]) dense<\(R.hex(int32: [16, -8]))>
        %f = fully_connected(%x, %w_per_channel, %b_q) : 1x2xi8 q(0.25, 1) loc(onnx "fc")
        %fd = dequantize(%f) : 1x2xf32 loc(onnx "dq_f")
        %d = div(%fd, %k) : 1x2xf32 loc(onnx "div")
        %dq = quantize(%d) : 1x2xi8 q(0.25, 1) loc(onnx "q_d")
        return %dq
      }

      """
    #expect(try R.run(lowerQDQ, on: before) == after)
  }

  @Test func layoutOpsOfADequantizedValueRunOnIntegers() throws {
    // A flatten of NHWC data as the ONNX importer writes it (transpose to NCHW, reshape): the
    // transpose's reader is not a quantize, but moving values is exact, so it runs on int8
    // with a dequantize after it, which then cancels against the reshape's quantize.
    let before = """
      graph @t(%x: 1x2x2x3xi8 q(0.1, -5)) -> (1x12xi8 q(0.1, -5)) {
        %xd = dequantize(%x) : 1x2x2x3xf32 loc(onnx "dq_x")
        %t = transpose(%xd) {perm [0, 3, 1, 2]} : 1x3x2x2xf32 loc(onnx "t")
        %r = reshape(%t) {shape [1, 12]} : 1x12xf32 loc(onnx "r")
        %rq = quantize(%r) : 1x12xi8 q(0.1, -5) loc(onnx "q_r")
        return %rq
      }

      """
    let after = """
      graph @t(%x: 1x2x2x3xi8 q(0.1, -5)) -> (1x12xi8 q(0.1, -5)) {
        %t = transpose(%x) {perm [0, 3, 1, 2]} : 1x3x2x2xi8 q(0.1, -5) loc(onnx "t")
        %r = reshape(%t) {shape [1, 12]} : 1x12xi8 q(0.1, -5) loc(onnx "r")
        return %r
      }

      """
    #expect(try R.run(lowerQDQ, on: before) == after)
  }

  static let batchNorm = """
    graph @b(%x: 1x1x2x2xi8 q(0.1, 0)) -> (1x1x2x2xi8 q(0.05, 1)) {
      %gamma = const 2xf32 dense<\(R.hex([2, 1]))>
      %beta = const 2xf32 dense<\(R.hex([0.5, -0.5]))>
      %mean = const 2xf32 dense<\(R.hex([0, 1]))>
      %var = const 2xf32 dense<\(R.hex([3, 0]))>
      %xd = dequantize(%x) : 1x1x2x2xf32 loc(onnx "dq_x")
      %n = batch_norm(%xd, %gamma, %beta, %mean, %var) {epsilon 1.0} : 1x1x2x2xf32 loc(onnx "bn")
      %nq = quantize(%n) : 1x1x2x2xi8 q(0.05, 1) loc(onnx "q_n")
      return %nq
    }

    """

  @Test func batchNormBetweenDequantizeAndQuantizeBecomesDepthwise() throws {
    // s = gamma / sqrt(var + eps) = [1, 1]: weights 127 with scales 1/127; bias
    // beta − mean·s = [0.5, −1.5] with scales 0.1 · (1/127): codes 635, −1905.
    let sW = Float(1.0 / 127)
    let sB = Float(Double(Float(0.1)) * Double(sW))
    let after = """
      graph @b(%x: 1x1x2x2xi8 q(0.1, 0)) -> (1x1x2x2xi8 q(0.05, 1)) {
        %gamma_dw = const 1x1x1x2xi8 q(axis 3, [\(sW), \(sW)], [0, 0]) dense<\(R.hex(int8: [127, 127]))>
        %beta_dw = const 2xi32 q(axis 0, [\(sB), \(sB)], [0, 0]) dense<\(R.hex(int32: [635, -1905]))>
        %n = depthwise_conv2d(%x, %gamma_dw, %beta_dw) {stride [1, 1], multiplier 1} : 1x1x2x2xi8 q(0.05, 1) loc(onnx "bn")
        return %n
      }

      """
    #expect(try R.run(lowerQDQ, on: Self.batchNorm) == after)
    // Against the QDQ graph in float, on every input code: within one output step.
    let qdq = try Parser.parse(Self.batchNorm)
    let lowered = try Parser.parse(after)
    for k in stride(from: -128, to: 128, by: 8) {
      let x = NDArray(shape: [1, 1, 2, 2], int8s: [Int8(k), Int8(-k - 1), Int8(k / 2), 17])
      let a = try Interpreter(qdq).run([x])[0].integers
      let b = try Interpreter(lowered).run([x])[0].integers
      #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1 }, "input \(k): \(a) vs \(b)")
    }
  }

  /// The TFLite path and the QDQ path meet: `quantize{io=float}` of a float graph, written back
  /// as QDQ (every integer op between dequantizes and a quantize), lowers to the same graph.
  @Test func qdqFormOfAQuantizedGraphLowersBackToIt() throws {
    var rng = R.Numbers(seed: 11)
    let float = try Parser.parse(QuantizeTests.smallCNN(&rng))
    var quantized = float
    try quantizeGraph(&quantized, samples: (0..<8).map { _ in R.randomInputs(float, &rng) }, io: .float)
    let qdq = Self.fakeQuantized(quantized)
    try Verifier.verify(qdq)
    #expect(qdq.ops.count > quantized.ops.count)
    var lowered = qdq
    try PassManager([lowerQDQ]).run(&lowered)
    #expect(Printer().print(lowered) == Printer().print(quantized.canonicalized()))
  }

  /// Rewrites every int8 op of `g` as dequantize → float op → quantize.
  static func fakeQuantized(_ g: Graph) -> Graph {
    var q = g
    q.ops = []
    var dequantized: [ValueID: ValueID] = [:]
    func float(_ v: ValueID) -> ValueID {
      guard g.type(of: v).quantization != nil else { return v }
      if let d = dequantized[v] { return d }
      let d = q.addValue(name: g[v].name + "_dq", type: TensorType(g.type(of: v).shape, .f32))
      q.ops.append(Op(.dequantize, inputs: [v], outputs: [d], location: Location(source: "test")))
      dequantized[v] = d
      return d
    }
    for op in g.ops {
      switch op.kind {
      case .quantize, .dequantize:
        q.ops.append(op)
      default:
        let inputs = op.inputs.map(float)
        let out = op.outputs[0]
        // The float op keeps the value name; the quantize after it gets a new one (as in ONNX,
        // where Q's output is another tensor).
        let f = q.addValue(name: g[out].name, type: TensorType(g.type(of: out).shape, .f32))
        q[out].name = g[out].name + "_qdq"
        q.ops.append(Op(op.kind, inputs: inputs, outputs: [f], location: op.location))
        q.ops.append(Op(.quantize, inputs: [f], outputs: [out], location: Location(source: "test")))
      }
    }
    return q
  }
}
