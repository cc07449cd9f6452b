import Foundation
import Interpreter
import ONNXFrontend
import Testing
import TinyC
import TinyIR

/// Low-bit ONNX models trained elsewhere (Examples/onnx/cnn_int4_qdq.onnx, cnn_qcdq.onnx, made
/// by scripts/make_lowbit_onnx_examples.py): int4/uint4 QDQ (opset 21) and QCDQ (a Clip
/// between QuantizeLinear and DequantizeLinear narrows int8/uint8 to 4 or 2 bits). After
/// `lower-qdq` the graph keeps those bits (i4/i2 weights and activations, uint4 and unsigned
/// clips as zero point −8 / −2) and runs on integers only; the interpreter is compared with
/// ONNX Runtime, which computes QDQ in float between the nodes (round half to even) where tinyc
/// requantizes in fixed point (TFLite's rounding): each layer alone is within one step of
/// ONNX Runtime; through the network those steps add up (a 2-bit step of relu2 is 1.7 in real
/// terms, 57 steps of relu3's 8-bit scale), and the measured counts are stated exactly.
@Suite struct LowBitONNXTests {
  static let lowering = "fold-constants,cancel-transposes,fold-batchnorm,fuse-activations,lower-qdq,eliminate-dead-code"

  func lowered(_ stem: String) throws -> (LoadedModel, Graph) {
    let m = try Models.loadModel(path: Paths.examples.appendingPathComponent("\(stem).onnx").path)
    var g = m.graph
    try PassCatalog.pipeline(Self.lowering).run(&g)
    try Verifier.verify(g)
    return (m, g)
  }

  /// The type of the value named `name` (an op result or a constant).
  func type(_ g: Graph, _ name: String) -> TensorType? {
    for op in g.ops { for v in op.outputs where g[v].name == name { return g.type(of: v) } }
    for v in g.constants.keys where g[v].name == name { return g.type(of: v) }
    return nil
  }

  /// (element type, zero point of a per-tensor activation or nil, quantization axis of a weight).
  typealias Expectation = (ElementType, Int?, Int?)

  static let int4Types: [String: Expectation] = [
    "relu1": (.i4, -8, nil), "pool1": (.i4, -8, nil), "relu2": (.i4, -8, nil), "relu3": (.i4, -8, nil),
    "gap": (.i4, -8, nil), "gap_Q": (.i4, -8, nil), "fc": (.i8, 0, nil),
    "conv1_w_q": (.i4, nil, 0), "dw_w_q": (.i4, nil, 3), "pw_w_q": (.i4, nil, 0), "fc_w_q_per_channel": (.i4, nil, 0),
  ]
  static let qcdqTypes: [String: Expectation] = [
    "relu1": (.i4, -8, nil), "pool1": (.i4, -8, nil), "relu2": (.i2, -2, nil),
    // Clip [0, 200] of uint8 holds no 2- or 4-bit range: 8 bits, the clip fused into the conv.
    "relu3_C_clip": (.i8, -128, nil), "gap": (.i8, -128, nil), "fc": (.i8, 0, nil),
    "conv1_w_q": (.i4, nil, 0), "dw_w_q": (.i2, nil, 3), "pw_w_q": (.i4, nil, 0), "fc_w_q_per_channel": (.i2, nil, 0),
  ]

  @Test(arguments: ["cnn_int4_qdq", "cnn_qcdq"]) func loweredGraphKeepsTheBits(stem: String) throws {
    let (_, g) = try lowered(stem)
    let want = stem == "cnn_qcdq" ? Self.qcdqTypes : Self.int4Types
    for (name, (et, zp, axis)) in want.sorted(by: { $0.key < $1.key }) {
      let t = try #require(type(g, name), "\(stem): no value %\(name)")
      #expect(t.elementType == et, "\(stem) %\(name): \(t.elementType.rawValue), expected \(et.rawValue)")
      if let zp { #expect(t.quantization?.zeroPoints == [zp] && t.quantization?.axis == nil, "\(stem) %\(name)") }
      if let axis {
        #expect(t.quantization?.axis == axis && t.quantization?.zeroPoints.allSatisfy { $0 == 0 } == true, "\(stem) %\(name)")
      }
    }
    // Integer only: the float input's quantize and the output's dequantize are the only float ends.
    let floatOps = g.ops.filter { op in ([op.inputs.first].compactMap { $0 } + op.outputs).contains { g.type(of: $0).elementType == .f32 } }
    #expect(floatOps.map(\.kind) == [.quantize, .dequantize], "\(stem): \(floatOps.map(\.kind.mnemonic))")
    // Packed constants: ceil(n · bits / 8) bytes.
    for (v, c) in g.constants {
      let t = g.type(of: v)
      #expect(c.bytes.count == t.elementType.byteCount(elements: t.shape.reduce(1, *)))
    }
  }

  /// ORT value (a DequantizeLinear output) each tinyc result is compared with.
  static let layers: [String: [(tinyc: String, ort: String)]] = [
    "cnn_int4_qdq": [
      ("relu1", "relu1_DQ"), ("pool1", "pool1_DQ"), ("relu2", "relu2_DQ"), ("relu3", "relu3_DQ"), ("gap_Q", "gap_DQ"),
      ("fc", "logits_DQ"),
    ],
    "cnn_qcdq": [
      ("relu1", "relu1_DQ"), ("pool1", "pool1_DQ"), ("relu2", "relu2_DQ"), ("relu3_C_clip", "relu3_DQ"),
      ("gap", "gap_DQ"), ("fc", "logits_DQ"),
    ],
  ]

  /// Measured against ONNX Runtime 1.32 on golden input 0: per layer, propagated (the whole
  /// model) and local (the layer alone on ONNX Runtime's own input to it), as (differing
  /// elements, largest difference in steps of that tensor's scale); then over the three golden
  /// inputs' outputs: differing elements and the largest step.
  static let measured: [String: (layers: [String: (Int, Int)], local: [String: (Int, Int)], outputs: (Int, Int))] = [
    "cnn_int4_qdq": (
      ["relu1": (2, 1), "pool1": (2, 1), "relu2": (18, 1), "relu3": (72, 1), "gap_Q": (6, 1), "fc": (9, 10)],
      ["relu1": (2, 1), "pool1": (0, 0), "relu2": (16, 1), "relu3": (33, 1), "gap_Q": (6, 1), "fc": (0, 0)], (28, 14)
    ),
    "cnn_qcdq": (
      ["relu1": (3, 1), "pool1": (1, 1), "relu2": (15, 1), "relu3_C_clip": (138, 57), "gap": (12, 19), "fc": (8, 8)],
      ["relu1": (3, 1), "pool1": (0, 0), "relu2": (15, 1), "relu3_C_clip": (0, 0), "gap": (1, 1), "fc": (0, 0)], (25, 9)
    ),
  ]

  @Test(arguments: ["cnn_int4_qdq", "cnn_qcdq"]) func interpreterAgainstONNXRuntime(stem: String) throws {
    let (m, g) = try lowered(stem)
    let golden = Paths.examples.appendingPathComponent("golden")
    let manifest =
      try JSONSerialization.jsonObject(
        with: try Data(contentsOf: golden.appendingPathComponent("layers/\(stem).json"))) as? [String: Any]
    var files: [String: String] = [:]
    for node in (manifest?["nodes"] as? [[String: Any]]) ?? [] {
      for o in (node["outputs"] as? [[String: Any]]) ?? [] {
        if let n = o["name"] as? String, let f = o["file"] as? String { files[n] = f }
      }
    }
    // Local: each layer alone, from ONNX Runtime's value of the layer before (its DequantizeLinear
    // output, exactly s·(q − z), so quantizing it again gives ONNX Runtime's codes).
    var local: [String: (Int, Int)] = [:]
    var previous = ("input_q_Q", "input_q_DQ")
    for (name, ortName) in Self.layers[stem] ?? [] {
      defer { previous = (name, ortName) }
      let seg = try #require(segment(g, from: previous.0, to: name), "\(stem): no ops from %\(previous.0) to %\(name)")
      let inT = seg.type(of: seg.inputs[0])
      let inQ = try #require(inT.quantization)
      let ortIn = try Npy.read(path: golden.appendingPathComponent("layers/\(stem).input0/\(try #require(files[previous.1]))").path)
      let codes = nhwc(ortIn).map { Int(($0 / inQ.scale).rounded()) + inQ.zeroPoint }
      let r = try Interpreter(seg).run([NDArray.pack(codes, as: inT.elementType, shape: inT.shape)])
      let outQ = try #require(seg.type(of: seg.outputs[0]).quantization)
      let ort = try Npy.read(path: golden.appendingPathComponent("layers/\(stem).input0/\(try #require(files[ortName]))").path)
      local[name] = steps(dequantized(r[0], outQ), nhwc(ort), scale: outQ.scale)
    }
    let interpreter = try Interpreter(g)
    var results: [String: NDArray] = [:]
    var outputs: [NDArray] = []
    for k in 0..<3 {
      let x = try Execution.readInputs([golden.appendingPathComponent("\(stem).input\(k).npy").path], for: m)
      let out = try interpreter.run(x) { _, op, r in
        if k == 0 { for (v, a) in zip(op.outputs, r) { results[g[v].name] = a } }
      }
      outputs += m.restore(out)
    }
    var layerReport: [String: (Int, Int)] = [:]
    for (name, ortName) in Self.layers[stem] ?? [] {
      let a = try #require(results[name], "\(stem): no result %\(name)")
      let q = try #require(type(g, name)?.quantization)
      let file = try #require(files[ortName], "\(stem): no ORT layer \(ortName)")
      let ort = try Npy.read(path: golden.appendingPathComponent("layers/\(stem).input0/\(file)").path)
      layerReport[name] = steps(dequantized(a, q), nhwc(ort), scale: q.scale)
    }
    var differing = 0
    var largest = 0
    let outScale = try #require(type(g, "fc")?.quantization?.scale)
    for k in 0..<3 {
      let ort = try Npy.read(path: golden.appendingPathComponent("\(stem).output\(k).npy").path)
      let (n, l) = steps(outputs[k].floats, ort.floats, scale: outScale)
      differing += n
      largest = max(largest, l)
    }
    let want = try #require(Self.measured[stem])
    for (name, r) in layerReport.sorted(by: { $0.key < $1.key }) {
      #expect(want.layers[name].map { $0 == r } == true, "\(stem) %\(name): \(r.0) elements differ, largest \(r.1) steps")
      let l = local[name] ?? (-1, -1)
      #expect(want.local[name].map { $0 == l } == true, "\(stem) %\(name) alone: \(l.0) elements differ, largest \(l.1) steps")
      #expect(l.1 <= 1, "\(stem) %\(name) alone: more than one step from ONNX Runtime")
    }
    #expect(
      (differing, largest) == want.outputs,
      "\(stem) outputs: \(differing) elements differ from ONNX Runtime, largest \(largest) steps")
  }

  /// The ops of `g` after the one that defines `from`, up to the one that defines `to`, as a
  /// graph whose input is `from`.
  func segment(_ g: Graph, from: String, to: String) -> Graph? {
    func definer(_ name: String) -> Int? { g.ops.firstIndex { $0.outputs.contains { g[$0].name == name } } }
    guard let a = definer(from), let b = definer(to), a < b else { return nil }
    var s = g
    s.ops = Array(g.ops[(a + 1)...b])
    s.inputs = [g.ops[a].outputs[0]]
    s.outputs = [g.ops[b].outputs[0]]
    return s
  }

  func dequantized(_ a: NDArray, _ q: Quantization) -> [Float] {
    a.integers.map { q.scale * Float($0 - q.zeroPoint) }
  }

  /// An NCHW array's values in NHWC order (other ranks unchanged).
  func nhwc(_ a: NDArray) -> [Float] {
    let f = a.floats
    guard a.shape.count == 4 else { return f }
    let (n, c, h, w) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
    var r = [Float](repeating: 0, count: f.count)
    for b in 0..<n {
      for y in 0..<h { for x in 0..<w { for ch in 0..<c { r[((b * h + y) * w + x) * c + ch] = f[((b * c + ch) * h + y) * w + x] } } }
    }
    return r
  }

  /// Elements that differ, and the largest difference in steps of `scale`.
  func steps(_ a: [Float], _ b: [Float], scale: Float) -> (Int, Int) {
    var n = 0
    var largest = 0
    for (x, y) in zip(a, b) where abs(x - y) > scale * 1e-3 {
      n += 1
      largest = max(largest, Int((abs(x - y) / scale).rounded()))
    }
    return a.count == b.count ? (n, largest) : (-1, -1)
  }
}
