import TinyIR

/// The Cortex-M core the C is built for. It decides the CMSIS-NN scratch-buffer sizes that the
/// memory plan reserves (each function's `*_get_buffer_size` for that core's code path).
public enum Target: String, CaseIterable, Sendable {
  case host
  case cortexM4 = "cortex-m4"
  case cortexM7 = "cortex-m7"
  case cortexM33 = "cortex-m33"
  case cortexM55 = "cortex-m55"

  /// DSP extension (SIMD MACs): CMSIS-NN's ARM_MATH_DSP path.
  var hasDSP: Bool { self == .cortexM4 || self == .cortexM7 || self == .cortexM33 }
  /// Helium (MVE): CMSIS-NN's ARM_MATH_MVEI path.
  var hasMVE: Bool { self == .cortexM55 }

  /// Scratch bytes CMSIS-NN v7.0.0 asks for on this core for an op (0 for ops that
  /// need none). The host stand-in in Backends/Runtime needs none; the emitted code checks
  /// at run time that the library's own `*_get_buffer_size` fits in what was planned.
  public func scratchBytes(_ op: Op, _ g: Graph) -> Int {
    if let s16 = scratchBytesS16(op, g) { return s16 }
    guard self != .host, let x = op.inputs.first, g.type(of: x).elementType == .i8 else { return 0 }
    let input = g.type(of: x).shape
    switch op.kind {
    case .conv2d(let w, _):
      let f = g.type(of: op.inputs[1]).shape
      let out = g.type(of: op.outputs[0]).shape
      let c = input[3]
      if w.padding.isZero && c % 4 == 0 && w.strideH == 1 && w.strideW == 1 && f[1] == 1 && f[2] == 1 {
        return 0  // arm_convolve_1x1_s8_fast
      }
      if hasMVE {
        let col = (c * f[1] * f[2] + 7) / 8
        return 4 * col * 8
      }
      if out[1] == 1 && input[1] == 1 && f[1] == 1 && out[2] % 4 == 0 && w.dilationH == 1 && w.dilationW == 1 {
        return 2 * c * f[1] * f[2] * 2  // arm_convolve_1_x_n_s8
      }
      return 2 * c * f[1] * f[2] * 2  // arm_convolve_s8 im2col (two int16 columns)
    case .depthwiseConv2d(let w, let m, _):
      let f = g.type(of: op.inputs[1]).shape
      guard m == 1, w.dilationH == 1, w.dilationW == 1 else { return 0 }  // arm_depthwise_conv_s8
      if hasMVE { return 4 * 124 * f[1] * f[2] }
      if f[1] == 3 && f[2] == 3 && w.padding.top <= 1 && w.padding.left <= 1 { return 0 }  // 3x3 kernel
      return input[3] * f[1] * f[2] * 2  // arm_depthwise_conv_s8_opt
    case .averagePool2d:
      return hasDSP ? input[3] * 4 : 0
    case .fullyConnected:
      return hasMVE ? g.type(of: op.inputs[1]).shape[0] * 4 : 0
    default:
      return 0
    }
  }
}
