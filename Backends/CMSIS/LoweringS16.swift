import TinyIR

/// 16x8 ops (int16 activations with zero point 0, int8 weights, int64 or int32 biases) to C:
/// CMSIS-NN v7.0.0's s16 functions where it has one (convolution, depthwise, per-tensor fully
/// connected, pooling, softmax, same-shape add and mul), tinyc's `*_s16` kernels otherwise.
/// The constants (multipliers, softmax and sigmoid tables) are the ones the interpreter uses.
extension Lowering {
  /// Lowers `op` when it reads or writes int16 activations; false when it does not.
  mutating func lowerS16(_ i: Int, _ op: Op, into c: inout CSource) throws -> Bool {
    guard let x = op.inputs.first else { return false }
    let y = op.outputs[0]
    let (xt, yt) = (g[x].type, g[y].type)
    guard xt.elementType == .i16 || yt.elementType == .i16 else { return false }
    for v in [x, y] where g[v].type.elementType == .i16 && q(v).zeroPoint != 0 {
      throw fail(i, op, "int16 activations must have zero point 0")
    }
    let (X, Y, n) = (try ptr(x, i, op), try ptr(y, i, op), yt.elementCount)
    func refuse(_ why: String) -> BackendError { self.fail(i, op, why) }
    switch op.kind {
    case .conv2d(let w, let act), .depthwiseConv2d(let w, _, let act):
      let f = g[op.inputs[1]].type.shape
      guard xt.rank == 4, g[op.inputs[1]].type.elementType == .i8 else { throw refuse("needs 4-D input and i8 weights") }
      let bias = op.inputs.count > 2 ? op.inputs[2] : nil
      let biasType = bias.map { g[$0].type.elementType }
      let rq = KernelParams.perChannel(input: q(x), weights: q(op.inputs[1]), output: q(y), channels: yt.shape[3])
      let (mult, shift) = (constArray("mult", rq.map(\.multiplier)), constArray("shift", rq.map(\.shift)))
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      c.line("    const cmsis_nn_dims input_dims = \(dims(xt.shape));")
      c.line("    const cmsis_nn_dims filter_dims = \(dims(f));")
      c.line("    const cmsis_nn_dims bias_dims = {1, 1, 1, \(yt.shape[3])};")
      c.line("    const cmsis_nn_dims output_dims = \(dims(yt.shape));")
      c.line("    const cmsis_nn_per_channel_quant_params quant = {(int32_t *)\(mult), (int32_t *)\(shift)};")
      let common =
        ".stride = {\(w.strideW), \(w.strideH)}, .padding = {\(w.padding.left), \(w.padding.top)}, .dilation = {\(w.dilationW), \(w.dilationH)}, .activation = {\(lo), \(hi)}"
      let W = try ptr(op.inputs[1], i, op)
      if case .depthwiseConv2d(_, let m, _) = op.kind {
        guard xt.shape[0] == 1 else { throw refuse("arm_depthwise_conv_wrapper_s16 takes batch 1") }
        guard biasType == nil || biasType == .i64 else { throw refuse("arm_depthwise_conv_wrapper_s16 needs an int64 bias") }
        c.line("    const cmsis_nn_dw_conv_params params = {.input_offset = 0, .output_offset = 0, .ch_mult = \(m), \(common)};")
        emitContext(
          i, op, fn: "arm_depthwise_conv_wrapper_s16", sizeArgs: "&params, &input_dims, &filter_dims, &output_dims", into: &c)
        let B = try bias.map { try ptr($0, i, op) } ?? "NULL"
        c.line(
          "    if (arm_depthwise_conv_wrapper_s16(&ctx, &params, &quant, &input_dims, \(X), &filter_dims, \(W), &bias_dims, \(B), &output_dims, \(Y)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
        )
      } else {
        guard f[3] == xt.shape[3] else { throw refuse("arm_convolve_wrapper_s16 has no grouped convolution") }
        c.line("    const cmsis_nn_conv_params params = {.input_offset = 0, .output_offset = 0, \(common)};")
        let B = try bias.map { try ptr($0, i, op) } ?? "NULL"
        c.line("    const cmsis_nn_bias_data bias = {\(B), \(biasType == .i32 ? "true" : "false")};")
        emitContext(i, op, fn: "arm_convolve_wrapper_s16", sizeArgs: "&params, &input_dims, &filter_dims, &output_dims", into: &c)
        c.line(
          "    if (arm_convolve_wrapper_s16(&ctx, &params, &quant, &input_dims, \(X), &filter_dims, \(W), &bias_dims, &bias, &output_dims, \(Y)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
        )
      }
    case .fullyConnected(let act, _):
      let wt = g[op.inputs[1]].type
      guard wt.rank == 2, wt.elementType == .i8 else { throw refuse("needs 2-D i8 weights") }
      let (units, depth) = (wt.shape[0], wt.shape[1])
      let rows = n / units
      let bias = op.inputs.count > 2 ? op.inputs[2] : nil
      let is32 = bias.map { g[$0].type.elementType == .i32 } ?? false
      let B = try bias.map { try ptr($0, i, op) } ?? "NULL"
      let W = try ptr(op.inputs[1], i, op)
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      if q(op.inputs[1]).isPerAxis || is32 {
        // CMSIS-NN v7.0.0 has no per-channel (and no int32-bias) s16 fully connected.
        let rq =
          q(op.inputs[1]).isPerAxis
          ? KernelParams.perChannel(input: q(x), weights: q(op.inputs[1]), output: q(y), channels: units)
          : Array(repeating: KernelParams.fullyConnectedPerTensor(input: q(x), weights: q(op.inputs[1]), output: q(y)), count: units)
        let (mult, shift) = (constArray("mult", rq.map(\.multiplier)), constArray("shift", rq.map(\.shift)))
        c.line(
          "    tinyc_fully_connected_s16(\(X), \(rows), \(depth), \(W), \(units), \(B), \(is32 ? 1 : 0), \(mult), \(shift), \(lo), \(hi), \(Y));"
        )
        return true
      }
      let r = KernelParams.fullyConnectedPerTensor(input: q(x), weights: q(op.inputs[1]), output: q(y))
      c.line("    const cmsis_nn_dims input_dims = {\(rows), 1, 1, \(depth)};")
      c.line("    const cmsis_nn_dims filter_dims = {\(depth), 1, 1, \(units)};")
      c.line("    const cmsis_nn_dims bias_dims = {1, 1, 1, \(units)};")
      c.line("    const cmsis_nn_dims output_dims = {\(rows), 1, 1, \(units)};")
      c.line(
        "    const cmsis_nn_fc_params params = {.input_offset = 0, .filter_offset = 0, .output_offset = 0, .activation = {\(lo), \(hi)}};"
      )
      c.line("    const cmsis_nn_per_tensor_quant_params quant = {\(r.multiplier), \(r.shift)};")
      emitContext(i, op, fn: "arm_fully_connected_s16", sizeArgs: "&filter_dims", into: &c)
      c.line(
        "    if (arm_fully_connected_s16(&ctx, &params, &quant, &input_dims, \(X), &filter_dims, \(W), &bias_dims, \(B), &output_dims, \(Y)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
      )
    case .averagePool2d(let w, let fh, let fw, let act), .maxPool2d(let w, let fh, let fw, let act):
      guard q(x) == q(y), xt.rank == 4 else { throw refuse("int16 pooling needs 4-D tensors of one quantization") }
      emitPool(i, op, window: w, fh, fw, act, X, Y, suffix: "s16", into: &c)
    case .softmax(let beta):
      let row = yt.shape.last ?? 1
      let r = KernelParams.softmax16(beta: beta, inputScale: q(x).scale)
      let tables = KernelParams.softmax16Tables()
      let exp = int16Array("softmax_exp", tables.exp)
      let one = int16Array("softmax_one_over_one_plus_x", tables.oneOverOnePlusX)
      c.line("    const cmsis_nn_softmax_lut_s16 lut = {\(exp), \(one)};")
      c.line(
        "    if (arm_softmax_s16(\(X), \(n / max(row, 1)), \(row), \(r.multiplier), \(r.shift), &lut, \(Y)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
      )
    case .add(let act), .sub(let act), .mul(let act):
      let b = op.inputs[1]
      let B = try ptr(b, i, op)
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      let isMul: Bool
      if case .mul = op.kind { isMul = true } else { isMul = false }
      let isAdd = op.kind == .add(act)
      let sameShapes = xt.shape == yt.shape && g[b].type.shape == yt.shape
      var params: [Int32]
      if isMul {
        let r = KernelParams.mul(q(x), q(b), out: q(y))
        params = [r.multiplier, r.shift, 0, 0, 0, 0, 0]
        if sameShapes {
          c.line(
            "    if (arm_elementwise_mul_s16(\(X), \(B), 0, 0, \(Y), 0, \(r.multiplier), \(r.shift), \(lo), \(hi), \(n)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
          )
          return true
        }
      } else {
        let p = KernelParams.addSub16(q(x), q(b), out: q(y))
        params = [p.input1.multiplier, p.input1.shift, p.input2.multiplier, p.input2.shift]
        params += [p.output.multiplier, p.output.shift, p.leftShift]
        if sameShapes && isAdd {
          c.line(
            "    if (arm_elementwise_add_s16(\(X), \(B), 0, \(params[0]), \(params[1]), 0, \(params[2]), \(params[3]), \(params[6]), \(Y), 0, \(params[4]), \(params[5]), \(lo), \(hi), \(n)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
          )
          return true
        }
      }
      guard yt.rank <= 4 else { throw refuse("broadcasting is lowered for tensors of rank 4 or less") }
      func pad4(_ s: [Int]) -> String { (Array(repeating: 1, count: 4 - s.count) + s).map(String.init).joined(separator: ", ") }
      c.line("    const int32_t shape_1[4] = {\(pad4(xt.shape))};")
      c.line("    const int32_t shape_2[4] = {\(pad4(g[b].type.shape))};")
      c.line("    const int32_t params[7] = {\(params.map(CSource.int32).joined(separator: ", "))};")
      let name = isMul ? "mul" : isAdd ? "add" : "sub"
      c.line(
        "    if (tinyc_\(name)_s16_broadcast(\(X), shape_1, \(B), shape_2, params, \(lo), \(hi), \(Y)) != 0) return -\(i + 1);")
    case .mean(let axes, _):
      guard xt.rank <= 4 else { throw refuse("the C back-end reduces tensors of rank 4 or less") }
      let pad = 4 - xt.rank
      let mask = axes.reduce(0) { $0 | (1 << ($1 + pad)) }
      let r = KernelParams.mean(inputScale: q(x).scale, outputScale: q(y).scale, count: axes.reduce(1) { $0 * xt.shape[$1] })
      let shape = Array(repeating: 1, count: pad) + xt.shape
      c.line("    const int32_t shape[4] = {\(shape.map(String.init).joined(separator: ", "))};")
      c.line("    if (tinyc_mean_s16(\(X), shape, \(mask), \(r.multiplier), \(r.shift), \(Y)) != 0) return -\(i + 1);")
    case .quantize:
      guard xt.elementType == .f32, !(q(y).isPerAxis && q(y).scales.count > 1) else {
        throw refuse("the C back-end quantizes to int16 from float32 (per tensor) only")
      }
      c.line("    tinyc_quantize_f32_s16(\(X), \(n), \(CSource.float(q(y).scale)), \(q(y).zeroPoint), \(Y));")
    case .dequantize:
      guard yt.elementType == .f32 else { throw refuse("dequantize from int16 gives float32") }
      c.line("    tinyc_dequantize_s16_f32(\(X), \(n), \(CSource.float(q(x).scale)), \(q(x).zeroPoint), \(Y));")
    case .logistic, .tanh:
      let p = KernelParams.logisticTanh16(inputScale: q(x).scale, tanh: op.kind == .tanh)
      let table = sigmoidTable()
      c.line("    tinyc_\(op.kind == .tanh ? "tanh" : "logistic")_s16(\(X), \(n), \(p.multiplier), \(p.shift), \(table), \(Y));")
    case .transpose(let perm):
      c.line("    const int32_t in_shape[\(xt.rank)] = {\(xt.shape.map(String.init).joined(separator: ", "))};")
      c.line("    const int32_t perm[\(xt.rank)] = {\(perm.map(String.init).joined(separator: ", "))};")
      c.line("    if (tinyc_transpose(\(X), 2, \(xt.rank), in_shape, perm, \(Y)) != 0) return -\(i + 1);")
    case .stridedSlice(let b, let e, let s):
      func list(_ v: [Int]) -> String { v.map(String.init).joined(separator: ", ") }
      c.line("    const int32_t in_shape[\(xt.rank)] = {\(list(xt.shape))};")
      c.line("    const int32_t begin[\(xt.rank)] = {\(list(b))};")
      c.line("    const int32_t end[\(xt.rank)] = {\(list(e))};")
      c.line("    const int32_t strides[\(xt.rank)] = {\(list(s))};")
      c.line(
        "    if (tinyc_strided_slice(\(X), 2, \(xt.rank), in_shape, begin, end, strides, \(Y)) != 0) return -\(i + 1);")
    case .pad(let p):
      guard xt.rank == 4 else { throw refuse("the C back-end pads 4-D tensors") }
      c.line("    const int32_t in_shape[4] = {\(xt.shape.map(String.init).joined(separator: ", "))};")
      c.line("    const int32_t before[4] = {\((0..<4).map { String(p[2 * $0]) }.joined(separator: ", "))};")
      c.line("    const int32_t after[4] = {\((0..<4).map { String(p[2 * $0 + 1]) }.joined(separator: ", "))};")
      c.line("    const int16_t pad_value = 0;")
      c.line("    if (tinyc_pad(\(X), 2, in_shape, before, after, &pad_value, \(Y)) != 0) return -\(i + 1);")
    default:
      throw refuse("the C back-end cannot lower \(op.kind.mnemonic) on int16 activations")
    }
    return true
  }

  /// A `const int16_t` table among the model's constants.
  private mutating func int16Array(_ what: String, _ values: [Int16]) -> String {
    counter += 1
    let name = "\(prefix)_\(what)\(counter)"
    constants.text +=
      "static const int16_t \(name)[\(values.count)] = {\n" + CSource.values(values) { String($0) } + "};\n\n"
    return name
  }

  /// TFLite's sigmoid table (KernelParams.sigmoidTable16), emitted once per model.
  private mutating func sigmoidTable() -> String {
    let name = "\(prefix)_sigmoid_table_uint16"
    if !constants.text.contains("\(name)[") {
      constants.text +=
        "static const uint16_t \(name)[256] = {\n" + CSource.values(KernelParams.sigmoidTable16) { String($0) } + "};\n\n"
    }
    return name
  }
}
