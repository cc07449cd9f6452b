import CMSISBackend
import Foundation
import Interpreter
import Testing
import TinyC
import TinyIR

/// Low-bit models trained elsewhere, through the emitted C:
/// - Examples/int4_cnn.tflite (INT4 weights, int8 activations) against TFLite Micro's goldens,
///   bit-exact on the host, under ASan+UBSan and on a Cortex-M4 under QEMU (its convolutions
///   call CMSIS-NN's s4 API; the figures come from the host stand-in of that API);
/// - Examples/onnx/cnn_int4_qdq.onnx and cnn_qcdq.onnx (4- and 2-bit weights and activations,
///   which no reference runtime runs in integers) against the interpreter, bit for bit.
@Suite struct ImportedLowBitTests {
  static let hostAvailable = CRunner.missingTools(for: .c) == nil
  static let qemuAvailable = CRunner.missingTools(for: .qemuM4) == nil

  static let int4 = GoldenModel(
    stem: "int4_cnn", model: "\(Paths.examples)/int4_cnn.tflite", goldenDir: Paths.examples + "/golden", inputs: 3)

  private func build(_ g: Graph, _ name: String, backend: CRunner.Backend, sanitize: Bool = false) throws -> (CRunner.Program, String) {
    var options = Compiler.Options()
    options.target = backend.target ?? .host
    options.name = name
    let dir = Paths.temporary(name)
    return (try CRunner.build(try Compiler.compile(g, options: options), in: dir, backend: backend, sanitize: sanitize), dir)
  }

  @Test(.enabled(if: hostAvailable), arguments: [("c", false), ("c", true), ("qemu-m4", false)])
  func int4TFLiteAgainstTFLiteMicro(backend: String, sanitize: Bool) throws {
    let b: CRunner.Backend = backend == "c" ? .c : .qemuM4
    if b == .qemuM4 && !Self.qemuAvailable { return }
    let m = Self.int4
    let g = try Models.load(path: m.model)
    // The weights really are 4-bit in what is compiled.
    let weights = g.ops.compactMap { op -> ElementType? in
      switch op.kind {
      case .conv2d, .depthwiseConv2d, .fullyConnected: return g.type(of: op.inputs[1]).elementType
      default: return nil
      }
    }
    #expect(weights == [.i4, .i4, .i4, .i4])
    let (program, dir) = try build(g, m.stem, backend: b, sanitize: sanitize)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for k in 0..<m.inputs {
      let (outs, _) = try CRunner.execute(program, inputs: try Execution.readInputs([m.input(k)], for: g))
      let diff = try firstDifference(outs, [try Npy.read(path: m.output(k))], atol: 0)
      #expect(diff == nil, "int4_cnn input \(k) on \(backend)\(sanitize ? " (sanitizers)" : ""): \(diff ?? "")")
    }
  }

  /// The C for the ONNX low-bit examples equals the interpreter on the same lowered graph.
  @Test(.enabled(if: hostAvailable), arguments: ["cnn_int4_qdq", "cnn_qcdq"])
  func lowBitONNXCEqualsInterpreter(stem: String) throws {
    let path = "\(Paths.examples)/onnx/\(stem).onnx"
    let m = try Models.loadModel(path: path)
    var options = Compiler.Options()
    options.target = .host
    options.name = stem
    let compiled = try Compiler.compile(m.graph, options: options)
    let subByte = compiled.graph.values.filter { $0.type.elementType == .i4 || $0.type.elementType == .i2 }
    // 4 weights and 7 activations at 4 bits; 4 weights and 3 activations at 4 or 2 bits.
    let expected = ["cnn_int4_qdq": 11, "cnn_qcdq": 7]
    #expect(subByte.count == expected[stem], "\(stem): \(subByte.count) sub-byte values after compiling")
    let dir = Paths.temporary(stem)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let program = try CRunner.build(compiled, in: dir, backend: .c)
    let interpreter = try Interpreter(compiled.graph)
    // The logits' step (the dequantize before the float output).
    let dq = try #require(compiled.graph.ops.last { $0.kind == .dequantize })
    let step = try #require(compiled.graph.type(of: dq.inputs[0]).quantization?.scale)
    var ortDiffering = 0
    var ortLargest = 0
    for k in 0..<3 {
      let x = try Execution.readInputs(["\(Paths.examples)/onnx/golden/\(stem).input\(k).npy"], for: m)
      let (outs, _) = try CRunner.execute(program, inputs: x)
      let want = try interpreter.run(x)
      let diff = try firstDifference(outs, want, atol: 0)
      #expect(diff == nil, "\(stem) input \(k): C differs from the interpreter: \(diff ?? "")")
      let ort = try Npy.read(path: "\(Paths.examples)/onnx/golden/\(stem).output\(k).npy")
      for (a, b) in zip(m.restore(outs)[0].floats, ort.floats) where abs(a - b) > step * 1e-3 {
        ortDiffering += 1
        ortLargest = max(ortLargest, Int((abs(a - b) / step).rounded()))
      }
    }
    // Against ONNX Runtime (float between Q and DQ): as LowBitONNXTests measures for the interpreter.
    let ort = ["cnn_int4_qdq": [28, 14], "cnn_qcdq": [25, 9]]
    #expect([ortDiffering, ortLargest] == ort[stem], "\(stem): \(ortDiffering) elements differ from ONNX Runtime, largest \(ortLargest) steps")
  }
}
