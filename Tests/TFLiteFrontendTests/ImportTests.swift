import Foundation
import Testing
import TinyIR

@testable import TFLiteFrontend

/// Real models against an independent reading of the same files (the schema's official Python
/// classes, via `scripts/tflite_oracle.py`) and against the operator table in
/// `../shared/models/README.md`.
@Suite struct ImportTests {
  /// The IR op each TFLite operator becomes, and which of its inputs stay operands.
  static let expected: [String: (mnemonic: String, keepsAllInputs: Bool)] = [
    "CONV_2D": ("conv2d", true), "DEPTHWISE_CONV_2D": ("depthwise_conv2d", true),
    "FULLY_CONNECTED": ("fully_connected", true), "AVERAGE_POOL_2D": ("average_pool2d", true),
    "MAX_POOL_2D": ("max_pool2d", true), "RESHAPE": ("reshape", false), "SQUEEZE": ("reshape", false),
    "SOFTMAX": ("softmax", true), "ADD": ("add", true), "SUB": ("sub", true), "MUL": ("mul", true),
    "CONCATENATION": ("concat", true), "PAD": ("pad", false), "PADV2": ("pad", false), "MEAN": ("mean", false),
    "QUANTIZE": ("quantize", true), "DEQUANTIZE": ("dequantize", true), "LOGISTIC": ("logistic", true),
    "TANH": ("tanh", true), "RELU": ("relu", true), "RELU6": ("relu6", true), "LEAKY_RELU": ("leaky_relu", true),
    "HARD_SWISH": ("hard_swish", true), "TRANSPOSE": ("transpose", false),
    "STRIDED_SLICE": ("strided_slice", false), "EXPAND_DIMS": ("reshape", false),
  ]
  /// Operators the importer may evaluate (shape arithmetic of a dynamic batch, DEQUANTIZE of constants).
  static let foldable: Set<String> = ["SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION", "DEQUANTIZE"]

  static let elementTypes: [String: ElementType] = [
    "FLOAT32": .f32, "INT64": .i64, "INT32": .i32, "INT16": .i16, "INT8": .i8, "UINT8": .u8, "INT4": .i4,
  ]

  /// Compares an imported graph with the oracle's description, value by value and op by op.
  static func compare(_ g: Graph, _ oracle: Oracle, file: [UInt8], folded: [Int: NDArray] = [:]) throws {
    guard file.count == oracle.file_bytes, hex16(fnv1a64(file)) == oracle.file_fnv1a64 else {
      Issue.record("Fixtures/oracle/\(oracle.file) describes another file: rerun scripts/tflite_oracle.py")
      return
    }
    let byName = Dictionary(g.values.indices.map { (g.values[$0].name, ValueID($0)) }, uniquingKeysWith: { a, _ in a })
    #expect(g.inputs.map { g[$0].name } == oracle.inputs.map { "t\($0)" })
    #expect(g.outputs.map { g[$0].name } == oracle.outputs.map { "t\($0)" })

    // Ops: per TFLite operator, the IR ops carrying its location.
    var opsByIndex: [Int: [Op]] = [:]
    for op in g.ops {
      #expect(op.location.source == "tflite")
      opsByIndex[op.location.index ?? -1, default: []].append(op)
    }
    #expect(opsByIndex.count == oracle.operators.count - folded.count)
    for o in oracle.operators {
      if let value = folded[o.index] {
        #expect(Self.foldable.contains(o.opcode) && opsByIndex[o.index] == nil, "operator \(o.index) (\(o.opcode))")
        #expect(value.shape == oracle.tensors[o.outputs[0]].shape, "operator \(o.index) (\(o.opcode))")
        continue
      }
      let ops = opsByIndex[o.index] ?? []
      guard let first = ops.first, let last = ops.last, let exp = expected[o.opcode] else {
        Issue.record("operator \(o.index) (\(o.opcode)) is missing from the graph")
        continue
      }
      #expect(first.kind.mnemonic == exp.mnemonic, "operator \(o.index) (\(o.opcode))")
      let kept = exp.keepsAllInputs ? o.inputs.filter { $0 != -1 } : [o.inputs[0]]
      #expect(first.inputs.map { g[$0].name } == kept.map { "t\($0)" }, "operator \(o.index) (\(o.opcode))")
      #expect(last.outputs.map { g[$0].name } == o.outputs.map { "t\($0)" }, "operator \(o.index)")
      #expect(first.location.name == oracle.tensors[o.outputs[0]].name)
      checkOptions(first, o, g)
      if ops.count > 1 {
        #expect(o.opcode == "STRIDED_SLICE" && ops.count == 2 && last.kind.mnemonic == "reshape")
      }
    }

    // Values: every t<j> against tensor j.
    var seen = 0
    for t in oracle.tensors {
      guard let v = byName["t\(t.index)"] else { continue }
      seen += 1
      let type = g[v].type
      let what = "tensor \(t.index) \(t.name)"
      #expect(type.shape == t.shape, "\(what)")
      #expect(type.elementType == elementTypes[t.type], "\(what)")
      if let c = g.constants[v] {
        #expect(c.bytes.count == t.bytes, "\(what)")
        #expect(hex16(fnv1a64(c.bytes)) == t.fnv1a64, "\(what)")
      } else {
        #expect(t.bytes == 0, "\(what) should be a constant")
      }
      if type.elementType == .f32 || t.scale_count == 0 {
        #expect(type.quantization == nil, "\(what)")
      } else if let q = type.quantization {
        #expect(q.scales.count == t.scale_count, "\(what)")
        #expect(q.scales.prefix(t.scales.count).map(Double.init) == t.scales, "\(what)")
        #expect(Array(q.zeroPoints.prefix(t.zero_points.count)) == t.zero_points, "\(what)")
        #expect(q.axis == (t.scale_count > 1 ? t.quantized_dimension : nil), "\(what)")
      } else {
        Issue.record("\(what) lost its quantization")
      }
    }
    // Every value is a TFLite tensor, except the intermediate of a strided slice that shrinks.
    #expect(g.values.count == seen + g.values.filter { $0.name.hasSuffix("_slice") }.count)
  }

  /// The op's attributes against the operator's builtin options as the oracle read them.
  static func checkOptions(_ op: Op, _ o: Oracle.Operator, _ g: Graph) {
    let what = "operator \(o.index) (\(o.opcode))"
    let acts: [Int: Activation] = [0: .none, 1: .relu, 2: .reluN1To1, 3: .relu6]
    func act(_ a: Activation) {
      #expect(a == acts[o.int("fusedActivationFunction") ?? 0], "\(what)")
    }
    func window(_ w: Window, filter: (Int, Int)) {
      #expect(w.strideH == o.int("strideH") && w.strideW == o.int("strideW"), "\(what)")
      #expect(w.dilationH == o.int("dilationHFactor") ?? 1 && w.dilationW == o.int("dilationWFactor") ?? 1, "\(what)")
      let x = g.type(of: op.inputs[0]).shape
      if o.int("padding") == 1 {
        #expect(w.padding == .zero, "\(what)")
      } else {
        let h = Padding.same(input: x[1], filter: filter.0, stride: w.strideH, dilation: w.dilationH)
        let v = Padding.same(input: x[2], filter: filter.1, stride: w.strideW, dilation: w.dilationW)
        #expect(w.padding == Padding(top: h.0, left: v.0, bottom: h.1, right: v.1), "\(what)")
      }
    }
    switch op.kind {
    case .conv2d(let w, let a), .depthwiseConv2d(let w, _, let a):
      let f = g.type(of: op.inputs[1]).shape
      window(w, filter: (f[1], f[2]))
      act(a)
    case .averagePool2d(let w, let fh, let fw, let a), .maxPool2d(let w, let fh, let fw, let a):
      #expect(fh == o.int("filterHeight") && fw == o.int("filterWidth"), "\(what)")
      window(w, filter: (fh, fw))
      act(a)
    case .fullyConnected(let a, let keep):
      act(a)
      #expect(keep == (o.int("keepNumDims") == 1), "\(what)")
    case .add(let a), .sub(let a), .mul(let a): act(a)
    case .concat(let axis, let a):
      let raw = o.int("axis") ?? 0
      #expect(axis == (raw < 0 ? raw + g.type(of: op.outputs[0]).rank : raw), "\(what)")
      act(a)
    case .softmax(let beta): #expect(Double(beta) == o.number("beta"), "\(what)")
    case .leakyRelu(let alpha): #expect(Double(alpha) == o.number("alpha"), "\(what)")
    case .mean(_, let keep): #expect(keep == (o.int("keepDims") == 1), "\(what)")
    default: break
    }
  }

  @Test(arguments: Paths.mlperfModels)
  func mlperfModelMatchesOracle(stem: String) throws {
    guard let url = Paths.model(stem) else {
      print("skipped: \(stem).tflite not found under \(Paths.sharedTFLite.path)")
      return
    }
    let bytes = try #require(Paths.bytes(url))
    let g = try importTFLite(bytes, fileName: url.lastPathComponent)
    try Verifier.verify(g)
    #expect(g.name == stem)
    let oracle = try #require(try Oracle.load(stem))
    try Self.compare(g, oracle, file: bytes)
  }

  @Test(arguments: Paths.exampleModels)
  func exampleModelMatchesOracle(stem: String) throws {
    let url = try #require(Paths.model(stem))
    let bytes = try #require(Paths.bytes(url))
    let (g, folded) = try importTFLiteFolding(bytes, fileName: url.lastPathComponent)
    guard let oracle = try Oracle.load(stem) else {
      Issue.record("no oracle for Examples/\(stem).tflite: run scripts/tflite_oracle.py")
      return
    }
    try Self.compare(g, oracle, file: bytes, folded: folded)
  }

  /// The op table and constant bytes of ../shared/models/README.md.
  static let readme: [String: (ops: [String: Int], constantBytes: Int)] = [
    "kws_ref_model": (
      [
        "CONV_2D": 5, "DEPTHWISE_CONV_2D": 4, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1,
        "SOFTMAX": 1,
      ], 24_376
    ),
    "vww_96_int8": (
      [
        "CONV_2D": 14, "DEPTHWISE_CONV_2D": 13, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1,
        "SOFTMAX": 1,
      ], 219_072
    ),
    "pretrainedResnet_quant": (
      ["CONV_2D": 9, "ADD": 3, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1], 78_752
    ),
    "ad01_int8": (["FULLY_CONNECTED": 10], 270_880),
  ]

  @Test(arguments: Paths.mlperfModels)
  func mlperfModelMatchesReadmeTable(stem: String) throws {
    guard let url = Paths.model(stem), let row = Self.readme[stem] else {
      print("skipped: \(stem).tflite not found")
      return
    }
    let g = try importTFLite(path: url.path)
    var histogram: [String: Int] = [:]
    for op in g.ops { histogram[op.kind.mnemonic, default: 0] += 1 }
    var expected: [String: Int] = [:]
    for (name, n) in row.ops { expected[Self.expected[name]?.mnemonic ?? name, default: 0] += n }
    #expect(histogram == expected)
    // The README counts every buffer; the importer drops RESHAPE's shape operand (int32 [2]).
    let dropped = (row.ops["RESHAPE"] ?? 0) * 8
    #expect(g.constantBytes + dropped == row.constantBytes)
    #expect(g.ops.allSatisfy { $0.location.index != nil })
  }

  @Test func kwsDetails() throws {
    guard let url = Paths.model("kws_ref_model") else {
      print("skipped: kws_ref_model.tflite not found")
      return
    }
    let g = try importTFLite(path: url.path)
    // First conv: 10x4 filter, stride 2x2, SAME padding on a 49x10 input, fused RELU.
    guard case .conv2d(let w, let act) = g.ops[0].kind else {
      Issue.record("op 0 is \(g.ops[0].kind.mnemonic)")
      return
    }
    #expect(w.strideH == 2 && w.strideW == 2)
    #expect(act == .relu)
    #expect(g.type(of: g.ops[0].outputs[0]).shape == [1, 25, 5, 64])
    let ph = Padding.same(input: 49, filter: 10, stride: 2, dilation: 1)
    let pw = Padding.same(input: 10, filter: 4, stride: 2, dilation: 1)
    #expect(w.padding == Padding(top: ph.0, left: pw.0, bottom: ph.1, right: pw.1))
    guard case .depthwiseConv2d(_, let m, _) = g.ops[1].kind else {
      Issue.record("op 1 is \(g.ops[1].kind.mnemonic)")
      return
    }
    #expect(m == 1)
    // Weights are per-channel int8 (axis 0 for conv, axis 3 for depthwise), zero point 0.
    let cw = g.type(of: g.ops[0].inputs[1])
    #expect(cw.quantization?.axis == 0 && cw.quantization?.scales.count == 64)
    let dw = g.type(of: g.ops[1].inputs[1])
    #expect(dw.quantization?.axis == 3 && dw.quantization?.zeroPoints.allSatisfy { $0 == 0 } == true)
  }

  @Test(arguments: Paths.exampleModels)
  func textFormRoundTrips(stem: String) throws {
    let url = try #require(Paths.model(stem))
    let g = try importTFLite(path: url.path)
    let text = Printer().print(g)
    let again = try Parser.parse(text)
    #expect(Printer().print(again) == text)
    #expect(again.canonicalized() == g.canonicalized())
  }

  @Test func opsZooCoversEveryMappedOperator() throws {
    var seen = Set<String>()
    for stem in Paths.exampleModels {
      guard let oracle = try Oracle.load(stem) else { continue }
      for o in oracle.operators { seen.insert(o.opcode) }
    }
    let missing = Set(Self.expected.keys).subtracting(seen).subtracting(["PADV2"])
    #expect(missing.isEmpty, "operators no example model exercises: \(missing.sorted())")
  }
}

func hex16(_ v: UInt64) -> String {
  let s = String(v, radix: 16)
  return String(repeating: "0", count: 16 - s.count) + s
}
