import Foundation
import Testing
import TinyIR

@testable import TFLiteFrontend

/// Hand-built models (`scripts/make_tflite_fixtures.py`) for operator forms the converter does
/// not write: strided slices with negative strides, masks and shrunk axes, PADV2, MEAN over a
/// negative axis, FULLY_CONNECTED with keep_num_dims and no bias, a depth multiplier of 2,
/// SQUEEZE. TFLite Micro ran each one; its outputs are in `tiny_ops.tflm.json`.
@Suite struct TinyModelTests {
  struct Golden: Decodable {
    struct Tensor: Decodable {
      var tensor: Int
      var shape: [Int]
      var values: [Float]
    }
    var input: Tensor
    var outputs: [Tensor]
  }

  static func load() throws -> (Graph, Golden) {
    let url = Paths.fixtures.appendingPathComponent("tiny_ops.tflite")
    let bytes = try #require(Paths.bytes(url))
    let g = try importTFLite(bytes, fileName: "tiny_ops.tflite")
    let data = try #require(FileManager.default.contents(atPath: Paths.fixtures.appendingPathComponent("tiny_ops.tflm.json").path))
    return (g, try JSONDecoder().decode(Golden.self, from: data))
  }

  static func value(_ g: Graph, _ name: String) throws -> ValueID {
    try #require(g.values.indices.first { g.values[$0].name == name }.map(ValueID.init))
  }

  static func producer(_ g: Graph, _ v: ValueID) throws -> Op {
    try #require(g.ops.first { $0.outputs.contains(v) })
  }

  /// Runs a strided slice on row-major data, straight from the IR attributes.
  static func slice(_ x: [Float], shape: [Int], _ kind: OpKind) throws -> (values: [Float], shape: [Int]) {
    guard case .stridedSlice(let b, _, let s) = kind else { throw IRError("not a slice: \(kind.mnemonic)") }
    let out = try kind.resultShapes([shape])[0]
    var strides = Array(repeating: 1, count: shape.count)
    for d in shape.indices.dropLast().reversed() { strides[d] = strides[d + 1] * shape[d + 1] }
    var result: [Float] = []
    var index = Array(repeating: 0, count: out.count)
    for _ in 0..<out.reduce(1, *) {
      var flat = 0
      for d in shape.indices { flat += (b[d] + index[d] * s[d]) * strides[d] }
      result.append(x[flat])
      for d in index.indices.reversed() {
        index[d] += 1
        if index[d] < out[d] { break }
        index[d] = 0
      }
    }
    return (result, out)
  }

  /// The slice that produces `t<tensor>` (through the reshape of a shrinking slice).
  static func sliceOp(_ g: Graph, tensor: Int) throws -> Op {
    var op = try producer(g, try value(g, "t\(tensor)"))
    if case .reshape = op.kind { op = try producer(g, op.inputs[0]) }
    return op
  }

  @Test func matchesOracle() throws {
    let (g, _) = try Self.load()
    let bytes = try #require(Paths.bytes(Paths.fixtures.appendingPathComponent("tiny_ops.tflite")))
    try ImportTests.compare(g, try #require(try Oracle.load("tiny_ops")), file: bytes)
  }

  @Test func stridedSlicesComputeWhatTFLiteMicroComputes() throws {
    let (g, golden) = try Self.load()
    let x = golden.input.values
    var checked = 0
    for out in golden.outputs {
      let op = try Self.sliceOp(g, tensor: out.tensor)
      guard case .stridedSlice = op.kind else { continue }
      let (values, _) = try Self.slice(x, shape: golden.input.shape, op.kind)
      #expect(values == out.values, "t\(out.tensor)")
      #expect(g.type(of: try Self.value(g, "t\(out.tensor)")).shape == out.shape)
      checked += 1
    }
    #expect(checked == 2)
    // The two slices a concatenation joins along its last axis (given as -1).
    let concat = try Self.producer(g, try Self.value(g, "t\(golden.outputs[5].tensor)"))
    guard case .concat(let axis, _) = concat.kind else {
      Issue.record("output 5 is \(concat.kind.mnemonic)")
      return
    }
    #expect(axis == 2)
    let parts = try concat.inputs.map { v in
      try Self.slice(x, shape: golden.input.shape, try Self.producer(g, v).kind)
    }
    var joined: [Float] = []
    let rows = golden.outputs[5].shape.dropLast().reduce(1, *)
    for r in 0..<rows {
      for p in parts {
        let w = p.shape.last ?? 1
        joined += p.values[(r * w)..<((r + 1) * w)]
      }
    }
    #expect(joined == golden.outputs[5].values)
  }

  @Test func otherOperatorForms() throws {
    let (g, golden) = try Self.load()
    func kind(_ k: Int) throws -> OpKind { try Self.producer(g, try Self.value(g, "t\(golden.outputs[k].tensor)")).kind }
    #expect(try kind(2) == .pad(paddings: [0, 0, 1, 0, 0, 2]))
    #expect(try kind(3) == .mean(axes: [2], keepDims: false))
    #expect(try kind(4) == .fullyConnected(.none, keepNumDims: true))
    #expect(try Self.producer(g, try Self.value(g, "t\(golden.outputs[4].tensor)")).inputs.count == 2)
    #expect(try kind(6) == .reshape(shape: [4, 12]))
    let dw = try Self.producer(g, try Self.producer(g, try Self.value(g, "t\(golden.outputs[6].tensor)")).inputs[0])
    guard case .depthwiseConv2d(let w, let multiplier, .none) = dw.kind else {
      Issue.record("\(dw.kind.mnemonic)")
      return
    }
    #expect(multiplier == 2 && w.padding == .zero)
    guard case .conv2d(let cw, .relu6) = try kind(7), case .maxPool2d(let pw, 1, 2, .none) = try kind(8) else {
      Issue.record("outputs 7 and 8 are not conv2d (relu6) and max_pool2d (1x2)")
      return
    }
    #expect(cw.strideH == 1 && cw.strideW == 2 && cw.dilationH == 2 && cw.dilationW == 1)
    #expect(pw.strideH == 2 && pw.strideW == 1)
    for (k, out) in golden.outputs.enumerated() {
      #expect(g.type(of: g.outputs[k]).shape == out.shape)
    }
  }

  @Test func refusedModels() throws {
    let data = try #require(FileManager.default.contents(atPath: Paths.fixtures.appendingPathComponent("reject.json").path))
    let expected = try JSONDecoder().decode([String: String].self, from: data)
    #expect(expected.count >= 4)
    for (file, reason) in expected.sorted(by: { $0.key < $1.key }) {
      let bytes = try #require(Paths.bytes(Paths.fixtures.appendingPathComponent(file)))
      #expect {
        _ = try importTFLite(bytes, fileName: file)
      } throws: { error in
        let text = String(describing: error)
        return text.hasPrefix(file + ": ") && text.contains(reason)
      }
    }
  }
}
