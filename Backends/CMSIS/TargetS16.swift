import TinyIR

/// Scratch bytes CMSIS-NN v7.0.0's s16 (16x8) kernels ask for, per build: the plain-C build
/// (`host`), the DSP build (Cortex-M4/M7/M33) and the MVE build (Cortex-M55), as each
/// `*_get_buffer_size` of v7.0.0 computes it. Unlike most s8 kernels, arm_convolve_s16 needs
/// its im2col buffer on the plain-C build too.
extension Target {
  /// The MVE build (its `_mve` size functions) and the DSP-only build, as the s16 sizes
  /// distinguish them: on MVE the DSP-only branches are not taken.
  private var hasMVE: Bool { build == .mve }
  private var hasDSP: Bool { build == .dsp }

  /// nil for ops without int16 activations (the s8 rules apply to them).
  func scratchBytesS16(_ op: Op, _ g: Graph) -> Int? {
    guard let x = op.inputs.first, g.type(of: x).elementType == .i16 else { return nil }
    let input = g.type(of: x).shape
    switch op.kind {
    case .conv2d:
      let f = g.type(of: op.inputs[1]).shape
      let col = input[3] * f[1] * f[2]
      if hasMVE { return 4 * ((col + 7) / 8) * 8 * 2 }  // arm_convolve_s16_get_buffer_size_mve
      return 2 * col * 2  // two int16 im2col columns
    case .depthwiseConv2d(let w, let m, _):
      let f = g.type(of: op.inputs[1]).shape
      // arm_depthwise_conv_fast_s16 (ch_mult 1, no dilation, fewer than 512 taps) on DSP/MVE.
      guard m == 1, w.dilationH == 1, w.dilationW == 1, f[1] * f[2] < 512 else { return 0 }
      if hasMVE { return 4 * input[3] * f[1] * f[2] * 2 + 8 }
      return hasDSP ? input[3] * f[1] * f[2] * 2 : 0
    case .averagePool2d:
      return hasDSP ? input[3] * 4 : 0
    default:
      return 0
    }
  }
}
