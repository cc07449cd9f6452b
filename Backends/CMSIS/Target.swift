import TinyIR

/// The Cortex-M core the C is built for. It decides the CMSIS-NN scratch-buffer sizes that the
/// memory plan reserves: each function's `*_get_buffer_size` in CMSIS-NN v7.0.0 for the
/// library build that core gets (see `Build`).
public enum Target: String, CaseIterable, Sendable {
  case host
  case cortexM4 = "cortex-m4"
  case cortexM7 = "cortex-m7"
  case cortexM33 = "cortex-m33"
  case cortexM55 = "cortex-m55"

  /// The three builds of CMSIS-NN: its sources select one with `ARM_MATH_DSP` / `ARM_MATH_MVEI`
  /// (set from `__ARM_FEATURE_DSP` / `__ARM_FEATURE_MVE` by `arm_nn_math_types.h`).
  public enum Build: String, Sendable {
    /// Neither macro: the portable C loops (`host`, or a core without DSP).
    case plainC = "plain C"
    /// `ARM_MATH_DSP`: Cortex-M4, M7, M33.
    case dsp = "DSP"
    /// `ARM_MATH_MVEI` (and `ARM_MATH_DSP`): Cortex-M55 with Helium.
    case mve = "MVE"
  }

  public var build: Build {
    switch self {
    case .host: return .plainC
    case .cortexM4, .cortexM7, .cortexM33: return .dsp
    case .cortexM55: return .mve
    }
  }

  /// The C compiler flags that build tinyc's CMSIS-NN stand-in as this target's library build
  /// on the host (on the device the compiler's `__ARM_FEATURE_*` macros select it).
  public var hostBuildFlags: String {
    switch build {
    case .plainC: return ""
    case .dsp: return "-DARM_MATH_DSP"
    case .mve: return "-DARM_MATH_DSP -DARM_MATH_MVEI"
    }
  }

  /// True when CMSIS-NN's `arm_fully_connected_s8` / `_per_channel_s8` on this build read the
  /// kernel sums (`arm_vector_sum_s8`) from `ctx.buf` instead of the bias (MVE only).
  public var fullyConnectedNeedsKernelSums: Bool { build == .mve }

  /// RAM scratch bytes the memory plan reserves for an op: what CMSIS-NN v7.0.0's
  /// `*_get_buffer_size` returns on this build for the kernel the wrapper dispatches to (0 for
  /// ops that need none), as built by gcc. Where armclang's build differs: the MVE
  /// depthwise-to-conv threshold (8, not 1) converts fewer layers, so gcc's size covers it;
  /// the DSP 1x1 fast convolution asks for 4·c bytes under armclang only, which the emitted C
  /// gives from a buffer it declares under `__ARMCC_VERSION` (see `Lowering`), so a gcc build
  /// pays nothing for it. The MVE fully-connected kernel sums
  /// are constants in Flash (see `Lowering`), not RAM scratch, so they are not counted here.
  public func scratchBytes(_ op: Op, _ g: Graph) -> Int {
    if let s16 = scratchBytesS16(op, g) { return s16 }
    if Lowering.isLowBit(op, g) {
      // tinyc's own sub-byte kernels need no scratch; the CMSIS-NN s4 wrappers ask for theirs.
      guard let s4 = Lowering.cmsisS4Call(op, g) else { return 0 }
      let (x, f, out) = (g.type(of: op.inputs[0]).shape, g.type(of: op.inputs[1]).shape, g.type(of: op.outputs[0]).shape)
      switch (s4, op.kind) {
      case (.convolve, .conv2d(let w, _)):
        return CMSISBufferSizes(build).convolveWrapperS4(input: x, filterHW: (f[1], f[2]), output: out, conv: ConvGeometry(w))
      case (.depthwise, .depthwiseConv2d(let w, _, _)):
        return CMSISBufferSizes(build).depthwiseConvWrapperS4(input: x, filterHW: (f[1], f[2]), output: out, conv: ConvGeometry(w))
      default:
        return 0  // arm_fully_connected_s4 takes no buffer
      }
    }
    guard let x = op.inputs.first, g.type(of: x).elementType == .i8, g.type(of: x).rank == 4 else { return 0 }
    let input = g.type(of: x).shape
    switch op.kind {
    case .conv2d(let w, _):
      guard g.type(of: op.inputs[1]).elementType == .i8 else { return 0 }
      let f = g.type(of: op.inputs[1]).shape
      let out = g.type(of: op.outputs[0]).shape
      return CMSISBufferSizes(build).convolveWrapper(
        input: input, filterHW: (f[1], f[2]), output: out, conv: ConvGeometry(w))
    case .depthwiseConv2d(let w, _, _):
      guard g.type(of: op.inputs[1]).elementType == .i8 else { return 0 }
      let f = g.type(of: op.inputs[1]).shape
      let out = g.type(of: op.outputs[0]).shape
      return CMSISBufferSizes(build).depthwiseConvWrapper(
        input: input, filterHW: (f[1], f[2]), output: out, conv: ConvGeometry(w))
    case .averagePool2d:
      return CMSISBufferSizes(build).avgpool(outputW: g.type(of: op.outputs[0]).shape[2], channels: input[3])
    default:
      return 0
    }
  }
}

/// Stride, padding (left/top, as CMSIS-NN takes it) and dilation of a convolution.
struct ConvGeometry {
  var strideW: Int, strideH: Int, padW: Int, padH: Int, dilationW: Int, dilationH: Int
  init(_ w: Window) {
    (strideW, strideH, padW, padH) = (w.strideW, w.strideH, w.padding.left, w.padding.top)
    (dilationW, dilationH) = (w.dilationW, w.dilationH)
  }
  init(strideW: Int, strideH: Int, padW: Int, padH: Int, dilationW: Int = 1, dilationH: Int = 1) {
    (self.strideW, self.strideH, self.padW, self.padH) = (strideW, strideH, padW, padH)
    (self.dilationW, self.dilationH) = (dilationW, dilationH)
  }
}

/// CMSIS-NN v7.0.0's `*_get_buffer_size` functions for the s8 kernels tinyc calls, per build,
/// written from the library's sources (Source/ConvolutionFunctions/arm_convolve_get_buffer_sizes_s8.c,
/// arm_depthwise_conv_get_buffer_sizes_s8.c, Source/FullyConnectedFunctions/
/// arm_fully_connected_get_buffer_sizes_s8.c, Source/PoolingFunctions/arm_avgpool_get_buffer_sizes_s8.c,
/// tag v7.0.0, commit 8ec77d1). Shapes are NHWC; the host stand-in computes the same in C.
struct CMSISBufferSizes {
  var build: Target.Build
  init(_ build: Target.Build) { self.build = build }

  /// `CH_IN_BLOCK_MVE` in arm_nnsupportfunctions.h.
  static let chInBlockMVE = 124
  /// `CONVERT_DW_CONV_WITH_ONE_INPUT_CH_AND_OUTPUT_CH_ABOVE_THRESHOLD`: 1 with gcc, 8 with
  /// armclang; gcc's converts more layers (2-8 output channels) and so asks for more.
  static let depthwiseToConvThreshold = 1

  /// `arm_convolve_s8_get_buffer_size`: the im2col buffer.
  func convolve(channels c: Int, filterHW: (Int, Int)) -> Int {
    let cols = c * filterHW.0 * filterHW.1
    if build == .mve { return 4 * ((cols + 15) / 16) * 16 }
    return 2 * ((cols + 3) / 4 * 4) * 2  // two int16 columns, rhs_cols rounded up to a multiple of 4
  }

  /// `arm_convolve_1_x_n_s8_get_buffer_size` (MVE: its own padding-dependent size).
  func convolve1xN(input: [Int], filterW: Int, outputW: Int, conv: ConvGeometry) -> Int {
    guard build == .mve else { return convolve(channels: input[3], filterHW: (1, filterW)) }
    let c = input[3]
    let totalPad = (outputW - 1) * conv.strideW + filterW - input[2]
    let asymPad = totalPad % 2
    let rightPadNum = conv.padW + asymPad != 0 ? max(1, (conv.padW + asymPad + conv.strideW - 1) / conv.strideW) : 0
    let leftPadNum = conv.padW != 0 ? max(1, (conv.padW + conv.strideW - 1) / conv.strideW) : 0
    let noPadNum = max(outputW - (rightPadNum + leftPadNum), 0)
    if rightPadNum + noPadNum + leftPadNum != outputW { return convolve(channels: c, filterHW: (1, filterW)) }
    let padLeft = conv.padW * c
    let padRight = asymPad != 0 ? rightPadNum * c : padLeft
    let left = filterW * c
    return max(left + padLeft, left - c + padRight)
  }

  /// `arm_convolve_wrapper_s8_get_buffer_size`, following the wrapper's dispatch, as built by
  /// gcc (`armclang: true`: by armclang 6.1 or later).
  func convolveWrapper(input: [Int], filterHW: (Int, Int), output: [Int], conv: ConvGeometry, armclang: Bool = false)
    -> Int
  {
    let c = input[3]
    if conv.padW == 0 && conv.padH == 0 && filterHW == (1, 1) && conv.dilationW == 1 && conv.dilationH == 1 {
      // arm_convolve_1x1_s8_fast (stride 1): 2·c int16 on DSP built by armclang, none with gcc or
      // on other builds; arm_convolve_1x1_s8 (other strides): none.
      return armclang && conv.strideW == 1 && conv.strideH == 1 && build == .dsp ? 2 * c * 2 : 0
    }
    if input[1] == 1 && conv.dilationW == 1 && filterHW.0 == 1 && (conv.strideW * c) % 4 == 0 {
      return convolve1xN(input: input, filterW: filterHW.1, outputW: output[2], conv: conv)
    }
    return convolve(channels: c, filterHW: filterHW)
  }

  /// `arm_depthwise_conv_wrapper_s8_get_buffer_size`, following the wrapper's dispatch.
  func depthwiseConvWrapper(input: [Int], filterHW: (Int, Int), output: [Int], conv: ConvGeometry) -> Int {
    let (inC, outC) = (input[3], output[3])
    if build == .mve && inC == 1 && outC > Self.depthwiseToConvThreshold {
      // Run as a convolution with the filter transposed into the buffer after the conv's own.
      let asConv = CMSISBufferSizes(.mve).convolveWrapper(input: input, filterHW: filterHW, output: output, conv: conv)
      return asConv + outC * filterHW.0 * filterHW.1
    }
    guard inC == outC, input[0] == 1, conv.dilationW == 1, conv.dilationH == 1 else { return 0 }  // arm_depthwise_conv_s8
    switch build {
    case .plainC, .dsp:
      if filterHW == (3, 3) && conv.padH <= 1 && conv.padW <= 1 { return 0 }  // arm_depthwise_conv_3x3_s8
      return build == .dsp ? inC * filterHW.0 * filterHW.1 * 2 : 0  // arm_depthwise_conv_s8_opt
    case .mve:
      return 4 * Self.chInBlockMVE * filterHW.0 * filterHW.1
    }
  }

  /// `arm_convolve_wrapper_s4_get_buffer_size` (Source/ConvolutionFunctions/
  /// arm_convolve_get_buffer_sizes_s4.c, v7.0.0): on MVE it returns the s8 MVE wrapper's size;
  /// otherwise 0 for the 1x1 kernels and two int16 columns of c·h·w (not rounded up, unlike s8).
  func convolveWrapperS4(input: [Int], filterHW: (Int, Int), output: [Int], conv: ConvGeometry) -> Int {
    if build == .mve { return convolveWrapper(input: input, filterHW: filterHW, output: output, conv: conv) }
    if conv.padW == 0 && conv.padH == 0 && filterHW == (1, 1) && conv.dilationW == 1 && conv.dilationH == 1 { return 0 }
    return 2 * (input[3] * filterHW.0 * filterHW.1) * 2
  }

  /// `arm_depthwise_conv_wrapper_s4_get_buffer_size` (arm_depthwise_conv_get_buffer_sizes_s4.c,
  /// v7.0.0): arm_depthwise_conv_s4_opt's buffer when it runs (c·h·w int16 on plain C and DSP
  /// alike, no 3x3 exception; the s8 MVE size on MVE), else 0.
  func depthwiseConvWrapperS4(input: [Int], filterHW: (Int, Int), output: [Int], conv: ConvGeometry) -> Int {
    guard input[3] == output[3], input[0] == 1, conv.dilationW == 1, conv.dilationH == 1 else { return 0 }
    return build == .mve ? 4 * Self.chInBlockMVE * filterHW.0 * filterHW.1 : input[3] * filterHW.0 * filterHW.1 * 2
  }

  /// `arm_fully_connected_s8_get_buffer_size`: the kernel sums on MVE.
  func fullyConnected(outputChannels: Int) -> Int { build == .mve ? outputChannels * 4 : 0 }

  /// `arm_avgpool_s8_get_buffer_size`.
  func avgpool(outputW: Int, channels: Int) -> Int { build == .dsp ? channels * 4 : 0 }
}
