import Foundation
import Interpreter
import ONNXFrontend
import SwiftProtobuf
import Testing
import TinyIR

func attr(_ name: String, ints: [Int64]) -> Onnx_AttributeProto {
  var a = Onnx_AttributeProto()
  a.name = name
  a.type = .ints
  a.ints = ints
  return a
}

func attr(_ name: String, int: Int64) -> Onnx_AttributeProto {
  var a = Onnx_AttributeProto()
  a.name = name
  a.type = .int
  a.i = int
  return a
}

/// NCHW → NHWC at import, checked against results computed here from the ONNX definitions.
@Suite struct LayoutTests {
  /// x[1,2,2,3] → Conv 1×1 (identity weights) → Flatten: the flattened order must be C, H, W
  /// as in ONNX, so a transpose back to NCHW is needed (H·W > 1).
  @Test func flattenAfterConvKeepsNCHWOrder() throws {
    var w = [Float](repeating: 0, count: 4)
    w[0] = 1
    w[3] = 1
    let m = Build.model(
      nodes: [
        Build.node("Conv", ["x", "w"], ["c"], name: "conv", attrs: [attr("kernel_shape", ints: [1, 1])]),
        Build.node("Flatten", ["c"], ["y"], name: "flat"),
      ], inits: [Build.floats("w", [2, 2, 1, 1], w)], inputs: [Build.valueInfo("x", [1, 2, 2, 3])],
      outputs: [Build.valueInfo("y", [1, 12])])
    let (g, info) = try importONNXWithInfo(bytes: try Build.bytes(m))
    #expect(info.inputs[0].layout == .nchwAsNHWC)
    #expect(g.ops.contains { if case .transpose = $0.kind { return true } else { return false } })
    let x = (0..<12).map { Float($0) }
    let out = try Interpreter(g).run([try info.inputs[0].prepare(NDArray(shape: [1, 2, 2, 3], floats: x))])
    #expect(info.outputs[0].restore(out[0]).floats == x)
  }

  /// The tf2onnx pattern: NHWC input → Transpose(0,3,1,2) → Conv: the transpose and the
  /// importer's own NCHW→NHWC conversion cancel, so no data moves.
  @Test func transposeToNCHWBeforeConvMovesNoData() throws {
    let w: [Float] = [1, 2, 3, 4, 5, 6]  // 2 output channels × 3 input channels, 1×1
    let m = Build.model(
      nodes: [
        Build.node("Transpose", ["x"], ["t"], name: "tr", attrs: [attr("perm", ints: [0, 3, 1, 2])]),
        Build.node("Conv", ["t", "w"], ["c"], name: "conv", attrs: [attr("kernel_shape", ints: [1, 1])]),
        Build.node("Transpose", ["c"], ["y"], name: "back", attrs: [attr("perm", ints: [0, 2, 3, 1])]),
      ], inits: [Build.floats("w", [2, 3, 1, 1], w)], inputs: [Build.valueInfo("x", [1, 2, 2, 3])],
      outputs: [Build.valueInfo("y", [1, 2, 2, 2])])
    let (g, info) = try importONNXWithInfo(bytes: try Build.bytes(m))
    #expect(info.inputs[0].layout == .unchanged)
    #expect(info.outputs[0].layout == .unchanged)
    #expect(g.ops.map(\.kind.mnemonic) == ["conv2d"])
    let x = (0..<12).map { Float($0) }
    let out = try Interpreter(g).run([NDArray(shape: [1, 2, 2, 3], floats: x)])
    // y[n,h,w,o] = Σ_c x[n,h,w,c] · w[o,c]
    var want: [Float] = []
    for p in 0..<4 { for o in 0..<2 { want.append((0..<3).reduce(0) { $0 + x[p * 3 + $1] * w[o * 3 + $1] }) } }
    #expect(out[0].floats == want)
  }

  /// A transpose that the layout cannot absorb stays a transpose op.
  @Test func otherTransposesStay() throws {
    let m = Build.model(
      nodes: [Build.node("Transpose", ["x"], ["y"], name: "tr", attrs: [attr("perm", ints: [1, 0, 2])])],
      inputs: [Build.valueInfo("x", [2, 3, 4])], outputs: [Build.valueInfo("y", [3, 2, 4])])
    let g = try importONNX(bytes: try Build.bytes(m))
    #expect(g.ops.map(\.kind) == [.transpose(perm: [1, 0, 2])])
  }

  /// DequantizeLinear of an int4 initializer (opset 21) feeding MatMul: a packed i4
  /// constant, transposed once to [out, in], and a dequantize.
  @Test func int4WeightsDequantize() throws {
    var wq = Onnx_TensorProto()
    wq.name = "wq"
    wq.dims = [4, 2]
    wq.dataType = 22
    let vals: [Int] = [1, -2, 3, -4, 5, -6, 7, -8]
    var packed: [UInt8] = []
    for i in stride(from: 0, to: 8, by: 2) {
      let lo = UInt8(vals[i] & 0xf)
      let hi = UInt8(vals[i + 1] & 0xf)
      packed.append(lo | hi << 4)
    }
    wq.rawData = Data(packed)
    var scale = Build.floats("s", [], [0.5])
    scale.dims = []
    var m = Build.model(
      nodes: [
        Build.node("DequantizeLinear", ["wq", "s"], ["w"], name: "dq"),
        Build.node("MatMul", ["x", "w"], ["y"], name: "mm"),
      ], inits: [wq, scale], inputs: [Build.valueInfo("x", [1, 4])], outputs: [Build.valueInfo("y", [1, 2])])
    m.opsetImport[0].version = 21
    let g = try importONNX(bytes: try Build.bytes(m))
    #expect(g.constants.keys.contains { g.type(of: $0).elementType == .i4 && g.type(of: $0).shape == [2, 4] })
    let x: [Float] = [1, 2, 3, 4]
    let out = try Interpreter(g).run([NDArray(shape: [1, 4], floats: x)])
    var want: [Float] = []
    for o in 0..<2 {
      var acc: Float = 0
      for k in 0..<4 { acc += x[k] * (0.5 * Float(vals[k * 2 + o])) }
      want.append(acc)
    }
    #expect(out[0].floats == want)
  }

  /// NCHW element-wise ops with broadcast constants, Concat on channels and ReduceMean over
  /// H, W after a Conv: all in NHWC, checked against a direct NCHW computation.
  @Test func nchwOpsAfterConv() throws {
    let c = 2
    let h = 3
    let w = 3
    let wt: [Float] = (0..<(c * c * 9)).map { Float(($0 * 7) % 5) - 2 }
    let bias: [Float] = [0.5, -1]
    let slope: [Float] = [0.1, 0.2]
    let m = Build.model(
      nodes: [
        Build.node("Conv", ["x", "w"], ["cv"], name: "conv", attrs: [attr("kernel_shape", ints: [3, 3]), attr("pads", ints: [1, 1, 1, 1])]),
        Build.node("Add", ["cv", "b"], ["ad"], name: "add"),
        Build.node("PRelu", ["ad", "s"], ["pr"], name: "prelu"),
        Build.node("Concat", ["pr", "ad"], ["cat"], name: "cat", attrs: [attr("axis", int: 1)]),
        Build.node("ReduceMean", ["cat"], ["y"], name: "mean", attrs: [attr("axes", ints: [2, 3]), attr("keepdims", int: 0)]),
      ],
      inits: [Build.floats("w", [2, 2, 3, 3], wt), Build.floats("b", [2, 1, 1], bias), Build.floats("s", [2, 1, 1], slope)],
      inputs: [Build.valueInfo("x", [1, 2, 3, 3])], outputs: [Build.valueInfo("y", [1, 4])])
    let (g, info) = try importONNXWithInfo(bytes: try Build.bytes(m))
    #expect(!g.ops.contains { if case .transpose = $0.kind { return true } else { return false } })
    let x: [Float] = (0..<18).map { Float($0 % 7) - 3 }
    let out = try Interpreter(g).run([try info.inputs[0].prepare(NDArray(shape: [1, 2, 3, 3], floats: x))])
    // Reference, NCHW.
    var ad = [Float](repeating: 0, count: c * h * w)
    for o in 0..<c {
      for i in 0..<h {
        for j in 0..<w {
          var acc: Float = 0
          for ci in 0..<c {
            for ki in 0..<3 {
              for kj in 0..<3 {
                let y = i + ki - 1
                let xx = j + kj - 1
                guard y >= 0, y < h, xx >= 0, xx < w else { continue }
                acc += x[(ci * h + y) * w + xx] * wt[((o * c + ci) * 3 + ki) * 3 + kj]
              }
            }
          }
          ad[(o * h + i) * w + j] = acc + bias[o]
        }
      }
    }
    var want: [Float] = []
    for o in 0..<c {
      let vals = ad[(o * h * w)..<((o + 1) * h * w)].map { $0 < 0 ? $0 * slope[o] : $0 }
      want.append(vals.reduce(0, +) / Float(h * w))
    }
    for o in 0..<c { want.append(ad[(o * h * w)..<((o + 1) * h * w)].reduce(0, +) / Float(h * w)) }
    let got = info.outputs[0].restore(out[0]).floats
    #expect(got.count == 4)
    for (a, b) in zip(got, want) { #expect(abs(a - b) <= 1e-5, "\(got) vs \(want)") }
  }

  /// Softmax before opset 13 normalizes over all dimensions from `axis` on.
  @Test func softmaxBeforeOpset13FlattensFromAxis() throws {
    var m = Build.model(
      nodes: [Build.node("Softmax", ["x"], ["y"], name: "sm", attrs: [attr("axis", int: 1)])],
      inputs: [Build.valueInfo("x", [2, 3, 4])], outputs: [Build.valueInfo("y", [2, 3, 4])])
    m.opsetImport[0].version = 11
    let g = try importONNX(bytes: try Build.bytes(m))
    let x: [Float] = (0..<24).map { Float($0 % 5) * 0.3 - 0.5 }
    let got = try Interpreter(g).run([NDArray(shape: [2, 3, 4], floats: x)])[0].floats
    for b in 0..<2 {
      let row = x[(b * 12)..<((b + 1) * 12)]
      let mx = row.max() ?? 0
      let e = row.map { Float(exp(Double($0 - mx))) }
      let sum = e.reduce(0, +)
      for (i, v) in e.enumerated() { #expect(abs(got[b * 12 + i] - v / sum) <= 1e-6) }
    }
  }

  /// Symbolic batch dimensions become 1, or what `inputShapes` says.
  @Test func symbolicBatch() throws {
    var m = Build.relu()
    var d = Onnx_TensorShapeProto.Dimension()
    d.dimParam = "N"
    m.graph.input[0].type.tensorType.shape.dim[0] = d
    let g = try importONNX(bytes: try Build.bytes(m))
    #expect(g.type(of: g.inputs[0]).shape == [1, 4])
    let g2 = try importONNX(bytes: try Build.bytes(m), inputShapes: ["x": [3, 4]])
    #expect(g2.type(of: g2.inputs[0]).shape == [3, 4])
    let g3 = try importONNX(bytes: try Build.bytes(m), inputShapes: ["": [2, 4]])
    #expect(g3.type(of: g3.inputs[0]).shape == [2, 4])
  }

  /// `--input-shape`: a symbolic dimension other than the batch needs it; what it gives must
  /// fit the model's fixed dimensions and name a real input; an unnamed shape needs one input.
  @Test func inputShapesAreChecked() throws {
    var m = Build.relu()
    var d = Onnx_TensorShapeProto.Dimension()
    d.dimParam = "S"
    m.graph.input[0].type.tensorType.shape.dim[1] = d
    let bytes = try Build.bytes(m)
    func failing(_ shapes: [String: [Int]], _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
      do {
        _ = try importONNX(bytes: bytes, fileName: "bad.onnx", inputShapes: shapes)
        Issue.record("import succeeded, expected an error", sourceLocation: sourceLocation)
      } catch {
        let e = "\(error)"
        #expect(e.hasPrefix("bad.onnx: ") && !e.contains("\n") && e.contains(text), "\(e)", sourceLocation: sourceLocation)
      }
    }
    failing([:], "symbolic dimension at position 1: give its shape with --input-shape")
    let g = try importONNX(bytes: bytes, inputShapes: ["x": [1, 6]])
    #expect(g.type(of: g.inputs[0]).shape == [1, 6])
    failing(["x": [2, 6]], "--input-shape [2, 6] does not fit the model's shape [1, ?]")
    failing(["x": [1, 6, 1]], "does not fit the model's shape [1, ?]")
    failing(["y": [1, 6]], "--input-shape names 'y', which is not a graph input (inputs: 'x')")

    var two = Build.model(
      nodes: [Build.node("Add", ["a", "b"], ["y"], name: "add")], inputs: [Build.valueInfo("a", [1, 4]), Build.valueInfo("b", [1, 4])],
      outputs: [Build.valueInfo("y", [1, 4])])
    two.graph.name = "two"
    do {
      _ = try importONNX(bytes: try Build.bytes(two), inputShapes: ["": [1, 4]])
      Issue.record("an unnamed shape for a model with two inputs was accepted")
    } catch {
      #expect("\(error)".contains("needs a model with one input; this one has 2: 'a', 'b'"), "\(error)")
    }
  }
}
