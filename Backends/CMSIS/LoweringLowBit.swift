import TinyIR

/// Ops with sub-byte tensors (i4/i2 operands, weights or results) to C. int4 weights with int8
/// input and output call CMSIS-NN v7.0.0's s4 API (`arm_convolve_wrapper_s4`,
/// `arm_depthwise_conv_wrapper_s4`, per-tensor `arm_fully_connected_s4`); everything else runs
/// tinyc's `*_lowbit` kernels (tinyc_lowbit.c), which read and write the packed bytes where they
/// lie. Multipliers, shifts and clamp ranges are the ones the interpreter computes
/// (`KernelParams`), so the C computes the interpreter's integers.
extension Lowering {
  /// The CMSIS-NN s4 function an op calls.
  enum CMSISS4 { case convolve, depthwise, fullyConnected }

  /// True when an operand (weights included) or the result of `op` is i4 or i2.
  static func isLowBit(_ op: Op, _ g: Graph) -> Bool {
    (op.inputs + op.outputs).contains { g.type(of: $0).elementType.bits < 8 }
  }

  /// The CMSIS-NN s4 call for `op`, nil when it runs tinyc's own kernel: int4 symmetric weights
  /// with int8 input and output on a convolution (not grouped: v7.0.0's s4 kernels take
  /// rhs_cols = h·w·input channels), a depthwise convolution, or a per-tensor fully connected
  /// layer (CMSIS-NN has no per-channel s4 one). The memory plan (`Target.scratchBytes`) and
  /// the lowering both ask here.
  static func cmsisS4Call(_ op: Op, _ g: Graph) -> CMSISS4? {
    guard op.inputs.count >= 2 else { return nil }
    let (x, w, y) = (g.type(of: op.inputs[0]), g.type(of: op.inputs[1]), g.type(of: op.outputs[0]))
    guard x.elementType == .i8, y.elementType == .i8, w.elementType == .i4, let wq = w.quantization,
      wq.zeroPoints.allSatisfy({ $0 == 0 }), op.inputs.count < 3 || g.type(of: op.inputs[2]).elementType == .i32
    else { return nil }
    switch op.kind {
    case .conv2d: return x.rank == 4 && w.rank == 4 && w.shape[3] == x.shape[3] ? .convolve : nil
    case .depthwiseConv2d: return x.rank == 4 && w.rank == 4 ? .depthwise : nil
    case .fullyConnected: return wq.scales.count == 1 && w.rank == 2 ? .fullyConnected : nil
    default: return nil
    }
  }

  /// Lowers `op` when it has a sub-byte tensor; false when it has none.
  mutating func lowerLowBit(_ i: Int, _ op: Op, into c: inout CSource) throws -> Bool {
    guard Self.isLowBit(op, g), let x = op.inputs.first else { return false }
    let y = op.outputs[0]
    let (xt, yt) = (g[x].type, g[y].type)
    func refuse(_ why: String) -> BackendError { fail(i, op, why) }
    /// Bits of an integer tensor the kernels read or write (8, 4 or 2), with per-tensor
    /// quantization unless `perAxis` allows more.
    func bits(_ v: ValueID, perAxis: Bool = false) throws -> Int {
      let t = g[v].type
      guard [.i8, .i4, .i2].contains(t.elementType), let q = t.quantization else {
        throw refuse("%\(g[v].name) must be a quantized i8, i4 or i2 tensor, not \(t.elementType.rawValue)")
      }
      guard perAxis || q.scales.count == 1 else { throw refuse("%\(g[v].name) must be quantized per tensor") }
      return t.elementType.bits
    }
    let (X, Y, n) = (try ptr(x, i, op), try ptr(y, i, op), yt.elementCount)
    switch op.kind {
    case .conv2d(let w, let act), .depthwiseConv2d(let w, _, let act):
      let depthwise: Bool
      if case .depthwiseConv2d = op.kind { depthwise = true } else { depthwise = false }
      let wv = op.inputs[1]
      guard xt.rank == 4, g[wv].type.rank == 4 else { throw refuse("needs a 4-D input and 4-D weights") }
      let (inBits, wBits, outBits) = (try bits(x), try bits(wv, perAxis: true), try bits(y))
      try checkWeightsAndBias(i, op)
      let f = g[wv].type.shape
      let outC = yt.shape[3]
      let rq = KernelParams.perChannel(input: q(x), weights: q(wv), output: q(y), channels: outC)
      let (mult, shift) = (constArray("mult", rq.map(\.multiplier)), constArray("shift", rq.map(\.shift)))
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      let W = try ptr(wv, i, op)
      let B = op.inputs.count > 2 ? try ptr(op.inputs[2], i, op) : "NULL"
      if let call = Self.cmsisS4Call(op, g) {
        emitS4Convolution(i, op, call, w, lo, hi, mult, shift, X, W, B, Y, into: &c)
        return true
      }
      let m: Int
      if case .depthwiseConv2d(_, let mult, _) = op.kind { m = mult } else { m = 1 }
      let s = xt.shape
      c.line(
        "    const tinyc_lowbit_geometry geo = {\(s[0]), \(s[1]), \(s[2]), \(s[3]), \(yt.shape[1]), \(yt.shape[2]), \(outC), \(f[1]), \(f[2]), \(f[3]), \(m), \(w.strideH), \(w.strideW), \(w.padding.top), \(w.padding.left), \(w.dilationH), \(w.dilationW)};"
      )
      c.line(
        "    const tinyc_lowbit_quant quant = {\(inBits), \(wBits), \(outBits), \(-q(x).zeroPoint), \(q(y).zeroPoint), \(lo), \(hi), 1, \(mult), \(shift)};"
      )
      let fn = depthwise ? "tinyc_depthwise_conv2d_lowbit" : "tinyc_conv2d_lowbit"
      c.line("    if (\(fn)(\(X), \(W), \(B), &geo, &quant, \(Y)) != 0) return -\(i + 1);")
    case .fullyConnected(let act, _):
      let wv = op.inputs[1]
      let wt = g[wv].type
      guard wt.rank == 2 else { throw refuse("needs 2-D weights") }
      let (inBits, wBits, outBits) = (try bits(x), try bits(wv, perAxis: true), try bits(y))
      try checkWeightsAndBias(i, op)
      let (units, depth) = (wt.shape[0], wt.shape[1])
      let rows = xt.elementCount / depth
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      let W = try ptr(wv, i, op)
      let B = op.inputs.count > 2 ? try ptr(op.inputs[2], i, op) : "NULL"
      let perChannel = q(wv).scales.count > 1
      if Self.cmsisS4Call(op, g) == .fullyConnected {
        let r = KernelParams.fullyConnectedPerTensor(input: q(x), weights: q(wv), output: q(y))
        c.line("    const cmsis_nn_dims input_dims = {\(rows), 1, 1, \(depth)};")
        c.line("    const cmsis_nn_dims filter_dims = {\(depth), 1, 1, \(units)};")
        c.line("    const cmsis_nn_dims bias_dims = {1, 1, 1, \(units)};")
        c.line("    const cmsis_nn_dims output_dims = {\(rows), 1, 1, \(units)};")
        c.line(
          "    const cmsis_nn_fc_params params = {.input_offset = \(-q(x).zeroPoint), .filter_offset = 0, .output_offset = \(q(y).zeroPoint), .activation = {\(lo), \(hi)}};"
        )
        c.line("    const cmsis_nn_per_tensor_quant_params quant = {\(r.multiplier), \(r.shift)};")
        c.line("    const cmsis_nn_context ctx = {NULL, 0};")
        c.line(
          "    if (arm_fully_connected_s4(&ctx, &params, &quant, &input_dims, \(X), &filter_dims, \(W), &bias_dims, \(B), &output_dims, \(Y)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
        )
        return true
      }
      // One multiplier per output channel, as the interpreter: s_in·s_w[c]/s_out per channel,
      // TFLite's float product s_in·s_w for per-tensor weights.
      let rq =
        perChannel
        ? KernelParams.perChannel(input: q(x), weights: q(wv), output: q(y), channels: units)
        : Array(repeating: KernelParams.fullyConnectedPerTensor(input: q(x), weights: q(wv), output: q(y)), count: units)
      let (mult, shift) = (constArray("mult", rq.map(\.multiplier)), constArray("shift", rq.map(\.shift)))
      c.line(
        "    const tinyc_lowbit_quant quant = {\(inBits), \(wBits), \(outBits), \(-q(x).zeroPoint), \(q(y).zeroPoint), \(lo), \(hi), 1, \(mult), \(shift)};"
      )
      c.line("    tinyc_fully_connected_lowbit(\(X), \(rows), \(depth), \(W), \(units), \(B), &quant, \(Y));")
    case .averagePool2d(let w, let fh, let fw, let act), .maxPool2d(let w, let fh, let fw, let act):
      guard xt.rank == 4 else { throw refuse("needs a 4-D input") }
      let (inBits, outBits) = (try bits(x), try bits(y))
      let isMax: Bool
      if case .maxPool2d = op.kind { isMax = true } else { isMax = false }
      let (s, o) = (xt.shape, yt.shape)
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      c.line(
        "    const tinyc_lowbit_geometry geo = {\(s[0]), \(s[1]), \(s[2]), \(s[3]), \(o[1]), \(o[2]), \(o[3]), \(fh), \(fw), 1, 1, \(w.strideH), \(w.strideW), \(w.padding.top), \(w.padding.left), 1, 1};"
      )
      c.line(
        "    if (tinyc_pool_lowbit(\(X), \(inBits), &geo, \(isMax ? 1 : 0), \(lo), \(hi), \(Y), \(outBits)) != 0) return -\(i + 1);")
    case .add(let act):
      let b = op.inputs[1]
      guard xt.shape == yt.shape, g[b].type.shape == yt.shape else {
        throw refuse("sub-byte add is lowered for operands of the result's shape (no broadcasting)")
      }
      let (aBits, bBits, outBits) = (try bits(x), try bits(b), try bits(y))
      let p = KernelParams.addSub(q(x), q(b), out: q(y))
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      c.line(
        "    tinyc_add_lowbit(\(X), \(aBits), \(try ptr(b, i, op)), \(bBits), \(p.input1Offset), \(p.input1.multiplier), \(p.input1.shift), \(p.input2Offset), \(p.input2.multiplier), \(p.input2.shift), \(p.leftShift), \(Y), \(outBits), \(p.outputOffset), \(p.output.multiplier), \(p.output.shift), \(lo), \(hi), \(n));"
      )
    case .concat(let axis, let act):
      let outBits = try bits(y)
      let inBits = try op.inputs.map { try bits($0) }
      let outer = yt.shape[..<axis].reduce(1, *)
      let inner = yt.shape[(axis + 1)...].reduce(1, *)
      // As the interpreter (TFLite's ConcatenationWithScaling): a copy when an input has the
      // result's scale and zero point, else round(x·s/s_out − zp·s/s_out) + zp_out in float.
      let inverse = 1 / q(y).scale
      let rescale = op.inputs.map { q($0).scale != q(y).scale || q($0).zeroPoint != q(y).zeroPoint }
      let scales = op.inputs.map { q($0).scale * inverse }
      let biases = zip(op.inputs, scales).map { -Float(q($0.0).zeroPoint) * $0.1 }
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      func list<T>(_ v: [T], _ f: (T) -> String) -> String { v.map(f).joined(separator: ", ") }
      let k = op.inputs.count
      let ptrs = try op.inputs.map { try ptr($0, i, op) }
      c.line("    const int8_t *const inputs[\(k)] = {\(ptrs.joined(separator: ", "))};")
      c.line("    const int32_t bits[\(k)] = {\(list(inBits) { String($0) })};")
      c.line("    const int32_t sizes[\(k)] = {\(list(op.inputs) { String(g[$0].type.shape[axis]) })};")
      c.line("    const int32_t rescale[\(k)] = {\(list(rescale) { $0 ? "1" : "0" })};")
      c.line("    const float scale[\(k)] = {\(list(scales, CSource.float))};")
      c.line("    const float bias[\(k)] = {\(list(biases, CSource.float))};")
      c.line(
        "    tinyc_concat_lowbit(inputs, bits, \(k), sizes, \(outer), \(inner), rescale, scale, bias, \(q(y).zeroPoint), \(lo), \(hi), \(Y), \(outBits));"
      )
    case .quantize:
      let outBits = try bits(y)
      let r = yt.elementType.integerRange
      if xt.elementType == .f32 {
        c.line(
          "    tinyc_quantize_f32_lowbit(\(X), \(n), \(CSource.float(q(y).scale)), \(q(y).zeroPoint), \(r.lowerBound), \(r.upperBound), \(Y), \(outBits));"
        )
      } else {
        let inBits = try bits(x)
        let m = KernelParams.rescale(from: q(x), to: q(y))
        c.line(
          "    tinyc_requantize_lowbit(\(X), \(inBits), \(n), \(q(x).zeroPoint), \(q(y).zeroPoint), \(m.multiplier), \(m.shift), \(r.lowerBound), \(r.upperBound), \(Y), \(outBits));"
        )
      }
    case .dequantize:
      guard yt.elementType == .f32 else { throw refuse("dequantize produces f32") }
      c.line(
        "    tinyc_dequantize_lowbit_f32(\(X), \(try bits(x)), \(n), \(CSource.float(q(x).scale)), \(q(x).zeroPoint), \(Y));")
    default:
      throw refuse(
        "the C back-end lowers sub-byte (i4/i2) tensors for conv2d, depthwise_conv2d, fully_connected, pools, add, concat, quantize and dequantize; keep \(op.kind.mnemonic) at 8 bits"
      )
    }
    return true
  }

  /// Symmetric weights (zero point 0) and an i32 bias, what every sub-byte kernel assumes.
  private func checkWeightsAndBias(_ i: Int, _ op: Op) throws {
    guard q(op.inputs[1]).zeroPoints.allSatisfy({ $0 == 0 }) else {
      throw fail(i, op, "sub-byte layers need symmetric weights (zero point 0)")
    }
    if op.inputs.count > 2, g[op.inputs[2]].type.elementType != .i32 { throw fail(i, op, "needs an i32 bias") }
  }

  /// `arm_convolve_wrapper_s4` / `arm_depthwise_conv_wrapper_s4` with the scratch buffer the
  /// memory plan reserved for it (`Target.scratchBytes`), checked against the library's
  /// `*_get_buffer_size` at run time.
  private func emitS4Convolution(
    _ i: Int, _ op: Op, _ call: CMSISS4, _ w: Window, _ lo: Int32, _ hi: Int32, _ mult: String, _ shift: String,
    _ X: String, _ W: String, _ B: String, _ Y: String, into c: inout CSource
  ) {
    let (xt, yt) = (g[op.inputs[0]].type, g[op.outputs[0]].type)
    c.line("    const cmsis_nn_dims input_dims = \(dims(xt.shape));")
    c.line("    const cmsis_nn_dims filter_dims = \(dims(g[op.inputs[1]].type.shape));")
    c.line("    const cmsis_nn_dims bias_dims = {1, 1, 1, \(yt.shape[3])};")
    c.line("    const cmsis_nn_dims output_dims = \(dims(yt.shape));")
    c.line("    const cmsis_nn_per_channel_quant_params quant = {(int32_t *)\(mult), (int32_t *)\(shift)};")
    var common =
      ".input_offset = \(-q(op.inputs[0]).zeroPoint), .output_offset = \(q(op.outputs[0]).zeroPoint), .stride = {\(w.strideW), \(w.strideH)}, .padding = {\(w.padding.left), \(w.padding.top)}, .dilation = {\(w.dilationW), \(w.dilationH)}, .activation = {\(lo), \(hi)}"
    let fn: String
    if case .depthwiseConv2d(_, let m, _) = op.kind, call == .depthwise {
      common = common.replacingFirst(".stride", with: ".ch_mult = \(m), .stride")
      c.line("    const cmsis_nn_dw_conv_params params = {\(common)};")
      fn = "arm_depthwise_conv_wrapper_s4"
    } else {
      c.line("    const cmsis_nn_conv_params params = {\(common)};")
      fn = "arm_convolve_wrapper_s4"
    }
    emitContext(i, op, fn: fn, sizeArgs: "&params, &input_dims, &filter_dims, &output_dims", into: &c)
    c.line(
      "    if (\(fn)(&ctx, &params, &quant, &input_dims, \(X), &filter_dims, \(W), &bias_dims, \(B), &output_dims, \(Y)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
    )
  }
}
