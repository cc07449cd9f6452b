import Foundation
import Interpreter
import ONNXFrontend
import SwiftProtobuf
import Testing
import TinyIR
import TinyPasses

/// QCDQ (QuantizeLinear → Clip → DequantizeLinear) as exporters write it: the Clip range picks
/// the IR width (i2, i4, else i8), bounds as constant inputs (opset ≥ 11) or attributes (opset
/// 10, Clip-6), per-tensor and per-channel weights; the values are checked against the ONNX
/// definitions computed here; bad patterns give one-line errors naming the node.
@Suite struct QCDQTests {
  static let onnxInt8: Int32 = 3
  static let onnxUInt8: Int32 = 2

  static func scalar(_ name: String, _ v: Int, type: Int32) -> Onnx_TensorProto {
    var t = Onnx_TensorProto()
    t.name = name
    t.dataType = type
    t.int32Data = [Int32(v)]
    return t
  }

  static func ints(_ name: String, _ dims: [Int64], _ v: [Int], type: Int32) -> Onnx_TensorProto {
    var t = scalar(name, 0, type: type)
    t.dims = dims
    t.int32Data = v.map { Int32($0) }
    return t
  }

  static func floatAttr(_ name: String, _ v: Float) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .float
    a.f = v
    return a
  }

  // No value lands halfway between two steps: tinyc's quantize rounds ties away from zero (as
  // TFLite), ONNX's QuantizeLinear to even.
  static let x: [Float] = [-1.3, -0.57, -0.04, 0, 0.07, 0.3, 0.61, 0.93, 1.4, 2.2, 3.9, 9]
  static let scale: Float = 0.1

  /// x[1,12] → QuantizeLinear(s, zp) → Clip(lo, hi) → DequantizeLinear → y.
  static func activationModel(
    lo: Int?, hi: Int?, zeroPoint: Int, type: Int32, opset: Int64 = 21, boundsAsAttributes: Bool = false,
    boundFromInput: Bool = false
  ) -> Onnx_ModelProto {
    var inits = [Build.floats("s", [], [scale]), scalar("z", zeroPoint, type: type)]
    var clipInputs = ["q"]
    var attrs: [Onnx_AttributeProto] = []
    var inputs = [Build.valueInfo("x", [1, 12])]
    if boundsAsAttributes {
      if let lo { attrs.append(floatAttr("min", Float(lo))) }
      if let hi { attrs.append(floatAttr("max", Float(hi))) }
    } else {
      if let lo {
        if boundFromInput {
          inputs.append(Build.valueInfo("lo", [], type: type))
        } else {
          inits.append(scalar("lo", lo, type: type))
        }
        clipInputs.append("lo")
      }
      if let hi {
        inits.append(scalar("hi", hi, type: type))
        clipInputs.append("hi")
      }
    }
    var m = Build.model(
      nodes: [
        Build.node("QuantizeLinear", ["x", "s", "z"], ["q"], name: "Q"),
        Build.node("Clip", clipInputs, ["c"], name: "C", attrs: attrs),
        Build.node("DequantizeLinear", ["c", "s", "z"], ["y"], name: "DQ"),
      ], inits: inits, inputs: inputs, outputs: [Build.valueInfo("y", [1, 12])])
    m.opsetImport[0].version = opset
    return m
  }

  /// The ONNX definition: y = s · (clamp(clamp(round_half_even(x / s) + z, container), lo, hi) − z).
  static func expected(lo: Int, hi: Int, zeroPoint: Int, container: ClosedRange<Int>) -> [Float] {
    x.map { v in
      var q = Int((v / scale).rounded(.toNearestOrEven)) + zeroPoint
      q = min(max(q, container.lowerBound), container.upperBound)
      q = min(max(q, lo), hi)
      return scale * Float(q - zeroPoint)
    }
  }

  /// The type of the value the DequantizeLinear reads.
  func clippedType(_ g: Graph) throws -> TensorType {
    let dq = try #require(g.ops.last { $0.kind == .dequantize })
    return g.type(of: dq.inputs[0])
  }

  /// A range inside both the signed and the unsigned 4-bit codes ([0, 7]) is taken as signed.
  @Test(arguments: [
    // (lo, hi, zero point, container, expected type, expected IR zero point, a clip op before the quantize)
    (0, 15, 0, onnxUInt8, ElementType.i4, -8, false), (0, 3, 0, onnxUInt8, .i2, -2, false),
    (-8, 7, 0, onnxInt8, .i4, 0, false), (-2, 1, 0, onnxInt8, .i2, 0, false),
    (-7, 7, 0, onnxInt8, .i4, 0, true), (-1, 1, 0, onnxInt8, .i2, 0, true), (0, 7, 0, onnxUInt8, .i4, 0, true),
    (3, 12, 5, onnxUInt8, .i4, -3, true), (0, 200, 0, onnxUInt8, .i8, -128, true), (-100, 100, 3, onnxInt8, .i8, 3, true),
  ])
  func activationClipPicksTheWidth(lo: Int, hi: Int, zp: Int, type: Int32, et: ElementType, irZP: Int, clipOp: Bool) throws {
    let g = try importONNX(bytes: try Build.bytes(Self.activationModel(lo: lo, hi: hi, zeroPoint: zp, type: type)))
    try Verifier.verify(g)
    let t = try clippedType(g)
    #expect(t.elementType == et && t.quantization == Quantization(scale: Self.scale, zeroPoint: irZP), "\(t)")
    #expect(g.ops.contains { if case .clip = $0.kind { return true } else { return false } } == clipOp)
    let container = type == Self.onnxUInt8 ? 0...255 : -128...127
    let y = try Interpreter(g).run([NDArray(shape: [1, 12], floats: Self.x)])[0].floats
    #expect(y == Self.expected(lo: lo, hi: hi, zeroPoint: zp, container: container), "[\(lo), \(hi)]")
  }

  /// Opset 10: Clip-6 takes its bounds as attributes.
  @Test func clipBoundsAsAttributes() throws {
    let m = Self.activationModel(lo: -8, hi: 7, zeroPoint: 0, type: Self.onnxInt8, opset: 10, boundsAsAttributes: true)
    let g = try importONNX(bytes: try Build.bytes(m))
    #expect(try clippedType(g).elementType == .i4)
    let y = try Interpreter(g).run([NDArray(shape: [1, 12], floats: Self.x)])[0].floats
    #expect(y == Self.expected(lo: -8, hi: 7, zeroPoint: 0, container: -128...127))
    // Only one bound: the container's other end.
    let half = Self.activationModel(lo: 0, hi: nil, zeroPoint: 0, type: Self.onnxInt8, opset: 10, boundsAsAttributes: true)
    #expect(try clippedType(try importONNX(bytes: try Build.bytes(half))).elementType == .i8)
  }

  /// Weights: an int8 initializer clipped per channel (axis 0) and a QuantizeLinear of a float
  /// initializer clipped per tensor, both into Gemm: packed i4 / i2 constants.
  @Test(arguments: [(-7, 7, ElementType.i4, true), (-1, 1, .i2, false), (-8, 7, .i4, false), (-100, 100, .i8, true)])
  func weightClips(lo: Int, hi: Int, et: ElementType, intInitializer: Bool) throws {
    let w: [Float] = [0.9, -0.35, 0.2, -1.2, 0.05, 0.6, -0.8, 1.1]  // [2, 4]: out 2, in 4
    let ws: [Float] = [0.1, 0.2]
    var inits = [Build.floats("ws", [2], ws), Self.ints("wz", [2], [0, 0], type: Self.onnxInt8)]
    inits += [Self.scalar("lo", lo, type: Self.onnxInt8), Self.scalar("hi", hi, type: Self.onnxInt8)]
    var nodes: [Onnx_NodeProto] = []
    if intInitializer {
      let codes = w.enumerated().map { k, v in Int((v / ws[k / 4]).rounded()) }
      inits.append(Self.ints("wq", [2, 4], codes, type: Self.onnxInt8))
    } else {
      inits.append(Build.floats("wf", [2, 4], w))
      nodes.append(Build.node("QuantizeLinear", ["wf", "ws", "wz"], ["wq"], name: "WQ", attrs: [attr("axis", int: 0)]))
    }
    nodes += [
      Build.node("Clip", ["wq", "lo", "hi"], ["wc"], name: "WC"),
      Build.node("DequantizeLinear", ["wc", "ws", "wz"], ["wd"], name: "WDQ", attrs: [attr("axis", int: 0)]),
      Build.node("Gemm", ["x", "wd"], ["y"], name: "fc", attrs: [attr("transB", int: 1)]),
    ]
    var m = Build.model(nodes: nodes, inits: inits, inputs: [Build.valueInfo("x", [1, 4])], outputs: [Build.valueInfo("y", [1, 2])])
    m.opsetImport[0].version = 21
    let g = try importONNX(bytes: try Build.bytes(m))
    let c = try #require(g.constants.first { g.type(of: $0.key).shape == [2, 4] })
    let t = g.type(of: c.key)
    #expect(t.elementType == et && t.quantization?.axis == 0 && t.quantization?.scales == ws)
    #expect(c.value.bytes.count == et.byteCount(elements: 8))
    let codes = w.enumerated().map { k, v in min(max(Int((v / ws[k / 4]).rounded(.toNearestOrEven)), lo), hi) }
    #expect(NDArray(shape: [2, 4], elementType: et, bytes: c.value.bytes).integers == codes)
    let x: [Float] = [1, -2, 0.5, 3]
    let y = try Interpreter(g).run([NDArray(shape: [1, 4], floats: x)])[0].floats
    var want: [Float] = [0, 0]
    for o in 0..<2 {
      for k in 0..<4 {
        let wv: Float = ws[o] * Float(codes[o * 4 + k])
        want[o] += x[k] * wv
      }
    }
    for (a, b) in zip(y, want) {
      let tolerance: Float = 1e-5 * max(1, abs(b))
      #expect(abs(a - b) <= tolerance, "\(y) vs \(want)")
    }
  }

  /// A 4-bit activation before a Flatten (NCHW order: a transpose from NHWC): the transpose has
  /// no sub-byte form, so after `lower-qdq` it reads the value widened to i8 (exact), and every
  /// op outside the sub-byte set sees 8 bits.
  @Test func subByteActivationBeforeFlatten() throws {
    let w = Build.floats("w", [4, 2, 1, 1], [0.5, -0.25, 1, 0.75, -1, 0.5, 0.25, 0.125])
    let inits = [
      w, Build.floats("s", [], [0.1]), Self.scalar("z", 0, type: Self.onnxUInt8), Self.scalar("lo", 0, type: Self.onnxUInt8),
      Self.scalar("hi", 15, type: Self.onnxUInt8), Build.floats("fw", [3, 16], (0..<48).map { Float($0 % 7) / 7 - 0.4 }),
      Build.floats("os", [], [0.05]), Self.scalar("oz", 0, type: Self.onnxInt8),
    ]
    var m = Build.model(
      nodes: [
        Build.node("Conv", ["x", "w"], ["c"], name: "conv"), Build.node("Relu", ["c"], ["r"], name: "relu"),
        Build.node("QuantizeLinear", ["r", "s", "z"], ["q"], name: "Q"), Build.node("Clip", ["q", "lo", "hi"], ["qc"], name: "C"),
        Build.node("DequantizeLinear", ["qc", "s", "z"], ["d"], name: "DQ"),
        Build.node("Flatten", ["d"], ["f"], name: "flatten"),
        Build.node("Gemm", ["f", "fw"], ["g"], name: "fc", attrs: [attr("transB", int: 1)]),
        Build.node("QuantizeLinear", ["g", "os", "oz"], ["gq"], name: "GQ"),
        Build.node("DequantizeLinear", ["gq", "os", "oz"], ["y"], name: "GDQ"),
      ], inits: inits, inputs: [Build.valueInfo("x", [1, 2, 2, 2])], outputs: [Build.valueInfo("y", [1, 3])])
    m.opsetImport[0].version = 21
    var g = try importONNX(bytes: try Build.bytes(m))
    let x = NDArray(shape: [1, 2, 2, 2], floats: [0.3, -0.2, 0.9, 0.4, -0.6, 0.1, 0.8, 0.2])
    let before = try Interpreter(g).run([x])[0].floats
    try PassManager(pipeline: "cancel-transposes,fuse-activations,lower-qdq", passes: [cancelTransposes, fuseActivations, lowerQDQ])
      .run(&g)
    try Verifier.verify(g)
    #expect(g.ops.contains { g.type(of: $0.outputs[0]).elementType == .i4 }, "the clipped activation stays 4 bits")
    let subByteSet: Set<String> = [
      "conv2d", "depthwise_conv2d", "fully_connected", "average_pool2d", "max_pool2d", "add", "concat", "reshape", "quantize", "dequantize",
    ]
    for op in g.ops where !subByteSet.contains(op.kind.mnemonic) {
      #expect((op.inputs + op.outputs).allSatisfy { g.type(of: $0).elementType.bits >= 8 }, "\(op.kind.mnemonic) has a sub-byte operand")
    }
    #expect(g.ops.contains { if case .transpose = $0.kind { return g.type(of: $0.outputs[0]).elementType == .i8 } else { return false } })
    // The widening is exact: the integer graph computes what the QDQ graph computes, within
    // the fully connected layer's requantization (one output step).
    let after = try Interpreter(g).run([x])[0].floats
    for (a, b) in zip(after, before) { #expect(abs(a - b) <= 0.05 + 1e-6, "\(after) vs \(before)") }
  }

  /// Packed int4 / uint4 initializers (two per byte, low nibble first) of the wrong length.
  @Test func int4InitializerLengths() throws {
    func model(_ wq: Onnx_TensorProto) throws -> [UInt8] {
      var m = Build.model(
        nodes: [
          Build.node("DequantizeLinear", ["wq", "s"], ["w"], name: "dq"), Build.node("MatMul", ["x", "w"], ["y"], name: "mm"),
        ], inits: [wq, Build.floats("s", [], [0.5])], inputs: [Build.valueInfo("x", [1, 4])],
        outputs: [Build.valueInfo("y", [1, 2])])
      m.opsetImport[0].version = 21
      return try Build.bytes(m)
    }
    for (type, name) in [(Int32(22), "int4"), (Int32(21), "uint4")] {
      var wq = Onnx_TensorProto()
      wq.name = "wq"
      wq.dims = [4, 2]
      wq.dataType = type
      wq.rawData = Data([0x21, 0x43, 0x65])
      expectImportError(try model(wq), contains: "initializer 'wq' has 3 bytes of data, its shape [4, 2] of \(name) needs 4")
      wq.rawData = Data([0x21, 0x43, 0x65, 0x07, 0x00])
      expectImportError(try model(wq), contains: "has 5 bytes of data")
      wq.rawData = Data()
      wq.clearRawData()
      wq.int32Data = [0x21, 0x43, 0x65]
      expectImportError(try model(wq), contains: "initializer 'wq' has 6 values, its shape [4, 2] needs 8")
    }
  }

  @Test func badPatterns() throws {
    func bad(_ m: Onnx_ModelProto, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
      expectImportError(try Build.bytes(m), node: "C", contains: text, sourceLocation: sourceLocation)
    }
    try bad(
      Self.activationModel(lo: 0, hi: 15, zeroPoint: 0, type: Self.onnxUInt8, boundFromInput: true), "must be a constant")
    try bad(
      Self.activationModel(lo: -300, hi: 7, zeroPoint: 0, type: Self.onnxInt8, opset: 10, boundsAsAttributes: true),
      "Clip min -300 is outside the int8 range -128...127")
    try bad(
      Self.activationModel(lo: 0, hi: 256, zeroPoint: 0, type: Self.onnxUInt8, opset: 10, boundsAsAttributes: true),
      "Clip max 256 is outside the uint8 range 0...255")
    try bad(Self.activationModel(lo: 7, hi: 3, zeroPoint: 0, type: Self.onnxInt8), "Clip min 7 is larger than max 3")
    var half = Self.activationModel(lo: 0, hi: 15, zeroPoint: 0, type: Self.onnxInt8, opset: 10, boundsAsAttributes: true)
    half.graph.node[1].attribute[1].f = 2.5
    try bad(half, "Clip max 2.5 of a quantized int8 tensor is not an integer")
    var nan = half
    nan.graph.node[1].attribute[1].f = .nan
    try bad(nan, "is not an integer")
    // A zero point the narrowed type cannot hold: uint8 zero point 100 with Clip [0, 15].
    try bad(
      Self.activationModel(lo: 0, hi: 15, zeroPoint: 100, type: Self.onnxUInt8), "zero point of the clipped tensor is outside")
  }
}
