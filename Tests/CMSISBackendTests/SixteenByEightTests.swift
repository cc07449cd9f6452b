import CMSISBackend
import Foundation
import Interpreter
import Testing
import TinyC
import TinyIR

/// 16x8 (int16 activations, int8 weights, int64 biases) in the C back-end. The examples
/// keras_cnn_16x8 and ops_16x8 also run through `EmittedCTests` (host, ASan+UBSan, Cortex-M4
/// under QEMU, warning-free builds) against TFLite Micro's outputs; these tests check the
/// CMSIS-NN contract of the s16 kernels: the scratch tinyc plans per target and the stand-in's
/// refusals.
@Suite struct SixteenByEightTests {
  static let hostAvailable = CRunner.missingTools(for: .c) == nil
  static let qemuAvailable = CRunner.missingTools(for: .qemuM4) == nil

  /// The ops of ops_16x8 that need scratch, and what v7.0.0's `*_get_buffer_size` returns for
  /// them on each build: arm_convolve_s16 2·(2·C·KH·KW) bytes everywhere but MVE
  /// (4·⌈C·KH·KW/8⌉·8·2), the fast depthwise kernel C·KH·KW·2 on DSP and 4·C·KH·KW·2 + 8 on
  /// MVE, arm_avgpool_s16 4·C on DSP.
  @Test func scratchPerTargetIsThatOfCMSISNN() throws {
    let g = try Models.load(path: Paths.examples + "/ops_16x8.tflite")
    func sizes(_ t: Target) -> [String: [Int]] {
      var r: [String: [Int]] = [:]
      for op in g.ops { r[op.kind.mnemonic, default: []].append(t.scratchBytes(op, g)) }
      return r.filter { $0.value.contains { $0 > 0 } }
    }
    // conv2d: 3x3x3 (27 taps), 1x1x8 (8), 3x3x8 (72); depthwise 3x3 on 8 channels; avgpool on 12.
    #expect(sizes(.host) == ["conv2d": [108, 32, 288]])
    #expect(sizes(.cortexM4) == ["conv2d": [108, 32, 288], "depthwise_conv2d": [144], "average_pool2d": [48]])
    #expect(sizes(.cortexM33) == sizes(.cortexM4))
    #expect(sizes(.cortexM55) == ["conv2d": [256, 64, 576], "depthwise_conv2d": [584]])
  }

  /// The stand-in refuses what the real library refuses (no im2col buffer for
  /// arm_convolve_s16, NULL softmax tables) and, stricter, a buffer smaller than its own
  /// `*_get_buffer_size`; with the buffer it asks for it succeeds.
  @Test(.enabled(if: hostAvailable)) func standInRefusesMissingOrSmallBuffers() throws {
    let dir = Paths.temporary("s16-refusals")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for f in Runtime.files {
      let path = dir + "/runtime/" + f.path
      try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try f.contents.write(toFile: path, atomically: true, encoding: .utf8)
    }
    let program = """
      #include <stdio.h>
      #include "arm_nnfunctions.h"
      int main(void) {
          static int16_t in[3 * 3 * 2], out[3 * 3 * 2], scratch[64];
          static const int8_t w[2 * 3 * 3 * 2] = {1, 2, 3};
          static const int64_t b[2] = {5, -5};
          int32_t mult[2] = {1 << 30, 1 << 30}, shift[2] = {0, 0};
          const cmsis_nn_per_channel_quant_params q = {mult, shift};
          const cmsis_nn_dims id = {1, 3, 3, 2}, fd = {2, 3, 3, 2}, bd = {1, 1, 1, 2}, od = {1, 3, 3, 2};
          const cmsis_nn_conv_params p = {0, 0, {1, 1}, {1, 1}, {1, 1}, {-32768, 32767}};
          const cmsis_nn_bias_data bias = {b, false};
          const int32_t need = arm_convolve_wrapper_s16_get_buffer_size(&p, &id, &fd, &od);
          cmsis_nn_context none = {NULL, 0}, small = {scratch, need - 1}, enough = {scratch, need};
          const cmsis_nn_softmax_lut_s16 no_tables = {NULL, NULL};
          printf("%d %d %d %d %d\\n", (int)need,
                 (int)arm_convolve_wrapper_s16(&none, &p, &q, &id, in, &fd, w, &bd, &bias, &od, out),
                 (int)arm_convolve_wrapper_s16(&small, &p, &q, &id, in, &fd, w, &bd, &bias, &od, out),
                 (int)arm_convolve_wrapper_s16(&enough, &p, &q, &id, in, &fd, w, &bd, &bias, &od, out),
                 (int)arm_softmax_s16(in, 1, 2, 1 << 30, 0, &no_tables, out));
          return 0;
      }
      """
    try program.write(toFile: dir + "/refusals.c", atomically: true, encoding: .utf8)
    let sources = Runtime.files.map(\.path).filter { $0.hasPrefix("cmsis_nn/") && $0.hasSuffix(".c") }
    let build = try Shell.run(
      ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-Iruntime/cmsis_nn", "-Iruntime/tinyc", "refusals.c"]
        + sources.map { "runtime/" + $0 } + ["-lm", "-o", "refusals"], in: dir)
    #expect(build.status == 0, "\(build.err)")
    let run = try Shell.run(["./refusals"], in: dir)
    // 2·(2·2·3·3) = 72 bytes on the plain-C build; ARG_ERROR is -1.
    #expect(run.out.trimmingCharacters(in: .whitespacesAndNewlines) == "72 -1 -1 0 -1")
  }

  /// C planned for the plain-C build (`--target host`) but run on a Cortex-M4 (the DSP build,
  /// whose depthwise and average-pool kernels need scratch) stops at the first op whose buffer is
  /// too small instead of computing with it.
  @Test(.enabled(if: qemuAvailable)) func hostPlanOnDSPBuildIsRefused() throws {
    let g = try Models.load(path: Paths.examples + "/ops_16x8.tflite")
    var options = Compiler.Options()
    options.keepFloat = true
    options.target = .host
    options.name = "ops_16x8"
    let dir = Paths.temporary("s16-host-plan")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let program = try CRunner.build(try Compiler.compile(g, options: options), in: dir, backend: .qemuM4)
    let x = try Execution.readInputs([Paths.examples + "/golden/ops_16x8.input0.npy"], for: g)
    do {
      _ = try CRunner.execute(program, inputs: x)
      Issue.record("a depthwise convolution ran without the buffer the DSP build needs")
    } catch {
      // NAME_invoke returns -(op index + 1): op 4 is the depthwise convolution (exit status 251).
      #expect("\(error)".contains("exited with 251"), "\(error)")
    }
  }

  /// Pad, transpose and strided slice move int16 elements (2 bytes each) in the C exactly as
  /// the interpreter does.
  @Test(.enabled(if: hostAvailable)) func dataMovementOnInt16MatchesTheInterpreter() throws {
    let g = try Parser.parse(
      """
      graph @moves(%in: 1x4x5x3xi16 q(0.001, 0)) -> (1x3x6x2xi16 q(0.001, 0)) {
        %p = pad(%in) {paddings [0, 0, 1, 1, 0, 2, 0, 0]} : 1x6x7x3xi16 q(0.001, 0)
        %t = transpose(%p) {perm [0, 3, 1, 2]} : 1x3x6x7xi16 q(0.001, 0)
        %s = strided_slice(%t) {begin [0, 0, 0, 1], end [1, 3, 6, 7], strides [1, 1, 1, 3]} : 1x3x6x2xi16 q(0.001, 0)
        return %s
      }
      """)
    let x = NDArray.pack((0..<60).map { $0 * 997 % 65536 - 32768 }, as: .i16, shape: [1, 4, 5, 3])
    let want = try Interpreter(g).run([x])
    let dir = Paths.temporary("s16-moves")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let got = try CRunner.run(g, inputs: [x], backend: .c, options: Compiler.Options(), workDirectory: dir).outputs
    #expect(got == want)
    #expect(Set(want[0].integers).count > 20, "the slice must carry distinct values")
  }
}
