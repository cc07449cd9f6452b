import CMSISBackend
import Foundation
import Testing
import TinyC
import TinyIR
import TinyPasses

/// Sub-byte tensors in the C back-end: every op of the sub-byte set at 8/4/2 bits (input,
/// weights, result; signed and "unsigned" zero points; odd channel counts; padding, stride,
/// depth multiplier; per-tensor and per-channel weights) gives byte-identical results to the
/// interpreter, on the host (plain and under ASan+UBSan as the MVE build) and on a Cortex-M4
/// under QEMU; int4 weights with int8 activations go to CMSIS-NN's s4 API with the scratch
/// v7.0.0 asks for.
@Suite struct LowBitTests {
  static let hostAvailable = CRunner.missingTools(for: .c) == nil
  static let qemuAvailable = CRunner.missingTools(for: .qemuM4) == nil

  /// A deterministic int8 input covering the whole range.
  static func input() -> NDArray {
    var rng = SplitMix(state: 5)
    return NDArray(shape: LowBitGraph.inputShape, int8s: (0..<75).map { _ in Int8(truncatingIfNeeded: rng.int(-128...127)) })
  }

  static func compile(_ text: String, target: Target) throws -> (Graph, Compiler.Result) {
    let g = try Parser.parse(text)
    try Verifier.verify(g)
    var o = Compiler.Options()
    o.keepFloat = true
    o.target = target
    o.name = "lowbit"
    return (g, try Compiler.compile(g, options: o))
  }

  private func check(backend: CRunner.Backend, target: Target, sanitize: Bool) throws {
    let b = LowBitGraph.everything()
    let (g, r) = try Self.compile(b.text, target: target)
    let x = Self.input()
    let expected = try Execution.run(g, inputs: [x])
    // Not a vacuous comparison: every result spreads over several levels.
    var at = 0
    for r in b.results {
      let n = LowBitGraph.count(r.type)
      let levels = Set(expected[0].floats[at..<(at + n)]).count
      #expect(levels >= 2, "\(r.name): \(r.type) takes \(levels) values")
      at += n
    }
    #expect(at == expected[0].floats.count && expected.count == 1 + b.packedResults.count)
    let dir = Paths.temporary("lowbit")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let program = try CRunner.build(r, in: dir, backend: backend, sanitize: sanitize)
    let (outs, _) = try CRunner.execute(program, inputs: [x])
    #expect(outs.count == expected.count)
    for (k, (a, e)) in zip(outs, expected).enumerated() {
      let d = try Execution.difference(a, e, atol: 0)
      #expect(a.bytes == e.bytes, "output \(k) on \(backend.rawValue): \(d.differing) of \(d.count) differ")
    }
    // Name the first result that differs (output 0 concatenates them in order).
    if outs.count == expected.count, outs[0].bytes != expected[0].bytes {
      var at = 0
      for r in b.results {
        let n = LowBitGraph.count(r.type)
        if outs[0].floats[at..<(at + n)] != expected[0].floats[at..<(at + n)] {
          Issue.record("first differing result: \(r.name): \(r.type)")
          break
        }
        at += n
      }
    }
  }

  @Test(.enabled(if: hostAvailable)) func everyOpOnHost() throws {
    try check(backend: .c, target: .host, sanitize: false)
  }

  @Test(.enabled(if: hostAvailable)) func everyOpUnderSanitizersAsMVE() throws {
    try check(backend: .c, target: .cortexM55, sanitize: true)
  }

  @Test(.enabled(if: qemuAvailable)) func everyOpOnCortexM4UnderQEMU() throws {
    try check(backend: .qemuM4, target: .cortexM4, sanitize: false)
  }

  /// A 3x3 conv, a depthwise conv and a per-tensor fully connected layer with int4 weights and
  /// int8 activations, and a per-channel int4 fully connected layer.
  static func s4Graph() -> String {
    var b = LowBitGraph()
    b.conv(.conv, xBits: 8, wBits: 4, yBits: 8, unsigned: false, perChannel: true, kernel: (3, 3), stride: 1, pad: [1, 1, 1, 1], relu: false)
    b.conv(.depthwise(1), xBits: 8, wBits: 4, yBits: 8, unsigned: false, perChannel: true, kernel: (3, 3), stride: 1, pad: [1, 1, 1, 1], relu: false)
    b.fullyConnected(xBits: 8, wBits: 4, yBits: 8, unsigned: false, perChannel: false, relu: false)
    b.fullyConnected(xBits: 8, wBits: 4, yBits: 8, unsigned: false, perChannel: true, relu: false)
    b.conv(.conv, xBits: 8, wBits: 2, yBits: 8, unsigned: false, perChannel: true, kernel: (3, 3), stride: 1, pad: [1, 1, 1, 1], relu: false)
    return b.text
  }

  /// The s4 calls are emitted, with the scratch CMSIS-NN v7.0.0 asks for on each build:
  /// conv 3x3x3 input channels: 2·27 int16 (plain C, DSP), 4·ceil(27/16)·16 (MVE); depthwise
  /// 3 channels 3x3: 3·9 int16 (plain C and DSP alike), 4·124·9 (MVE).
  @Test(arguments: [(Target.host, 108, 54), (.cortexM4, 108, 54), (.cortexM55, 128, 4464)])
  func s4CallsAndTheirScratch(target: Target, conv: Int, depthwise: Int) throws {
    let (_, r) = try Self.compile(Self.s4Graph(), target: target)
    for call in ["arm_convolve_wrapper_s4(", "arm_depthwise_conv_wrapper_s4(", "arm_fully_connected_s4("] {
      #expect(r.source.components(separatedBy: call).count == 2, "\(call) on \(target.rawValue)")
    }
    // Per-channel int4 fully connected (CMSIS-NN has none) and int2 weights run tinyc's kernels.
    #expect(r.source.contains("tinyc_fully_connected_lowbit("))
    #expect(r.source.contains("tinyc_conv2d_lowbit("))
    #expect(r.plan.scratch.map(\.size).filter { $0 > 0 }.sorted() == [conv, depthwise].sorted())
  }

  /// The memory plan never writes a result over an operand when either is packed.
  @Test func noInPlaceWithPackedTensors() throws {
    let g = try Parser.parse(LowBitGraph.everything().text)
    var checked = 0
    for op in g.ops where (op.inputs + op.outputs).contains(where: { g.type(of: $0).elementType.bits < 8 }) {
      #expect(inPlaceOperand(of: op, in: g) == nil, "\(op.kind.mnemonic)")
      checked += 1
    }
    #expect(checked > 100)
  }

  /// Flash as the emitted C carries it: the packed weights and the biases, plus an int32
  /// multiplier and shift per output channel of the int4 conv (5), depthwise (3), per-channel
  /// fully connected (7) and int2 conv (5); the per-tensor s4 fully connected takes one
  /// multiplier and shift as arguments, no array. The float concatenation that collects the
  /// five results carries its axis sizes (5 int32).
  @Test func constantBytesCountEveryArray() throws {
    let (g, r) = try Self.compile(Self.s4Graph(), target: .cortexM4)
    let constants = g.constants.keys.map { g[$0].type.byteCount }.reduce(0, +)
    #expect(CEmitter.constantBytes(ofSource: r.source) == constants + 8 * (5 + 3 + 7 + 5) + 4 * 5)
    #expect(constants == (5 * 27 + 1) / 2 + (27 + 1) / 2 + (7 * 75 + 1) / 2 * 2 + (5 * 27 + 3) / 4 + 4 * (5 + 3 + 7 + 7 + 5))
  }

  /// The stand-in refuses a buffer one byte smaller than v7.0.0's arm_convolve_wrapper_s4 asks
  /// for (the emitted guard removed so that the call itself sees it), and runs with the planned one.
  @Test(.enabled(if: hostAvailable)) func standInRefusesATooSmallBuffer() throws {
    let (g, r) = try Self.compile(Self.s4Graph(), target: .cortexM4)
    let x = Self.input()
    let expected = try Execution.run(g, inputs: [x])
    let dir = Paths.temporary("lowbit-s4")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let program = try CRunner.build(r, in: dir, backend: .c)
    #expect(try CRunner.execute(program, inputs: [x]).outputs.map(\.bytes) == expected.map(\.bytes))
    var lines = r.source.components(separatedBy: "\n")
    guard let call = lines.firstIndex(where: { $0.contains("if (arm_convolve_wrapper_s4(") }),
      let ctx = lines[..<call].lastIndex(where: { $0.contains("const cmsis_nn_context ctx = {arena + ") })
    else {
      Issue.record("no arm_convolve_wrapper_s4 call with a planned buffer")
      return
    }
    #expect(lines[ctx].hasSuffix(", 108};"))
    lines[ctx] = lines[ctx].replacingOccurrences(of: ", 108};", with: ", 107};")
    lines.remove(at: call - 1)  // the get_buffer_size guard
    var small = r
    small.source = lines.joined(separator: "\n")
    let dir2 = Paths.temporary("lowbit-s4-small")
    defer { try? FileManager.default.removeItem(atPath: dir2) }
    let refused = try CRunner.build(small, in: dir2, backend: .c)
    #expect(throws: (any Error).self) { try CRunner.execute(refused, inputs: [x]) }
  }
}
