import Foundation
import TinyIR

/// Lowers one op at a time to C: a block that sets up CMSIS-NN's structs and calls the
/// kernel, or a `tinyc_*` kernel where CMSIS-NN has none. Constants (weights, biases,
/// requantization multipliers and shifts) are collected into `constants` as `const` arrays.
struct Lowering {
  let g: Graph
  let layout: ArenaLayout
  let prefix: String
  let target: Target
  var constants = CSource()
  var constantName: [ValueID: String] = [:]
  /// Bytes of the scratch buffer only an armclang build of CMSIS-NN asks for (0: none).
  var armclangScratchBytes = 0
  var counter = 0

  init(g: Graph, layout: ArenaLayout, prefix: String, target: Target) {
    self.g = g
    self.layout = layout
    self.prefix = prefix
    self.target = target
    // Only constants something reads go into Flash.
    // (A batch norm's parameters are folded into arrays of its own when it is lowered.)
    let used = Set(
      g.ops.flatMap { op -> [ValueID] in
        if case .batchNorm = op.kind { return Array(op.inputs.prefix(1)) }
        return op.inputs
      } + g.outputs)
    let symbols = CEmitter(name: prefix, target: target).constantSymbols(g)
    for id in g.constants.keys.sorted() where used.contains(id) {
      guard let data = g.constants[id], let name = symbols[id] else { continue }
      constantName[id] = name
      constants.line("/* %\(CSource.comment(g[id].name)): \(Printer.type(g[id].type)) */")
      constants.text += Self.array(name, g[id].type, data.bytes)
    }
  }

  private static func array(_ name: String, _ t: TensorType, _ bytes: [UInt8]) -> String {
    let a = NDArray(shape: t.shape, elementType: t.elementType, bytes: bytes)
    let count = max(t.elementCount, 1)
    switch t.elementType {
    case .f32:
      return "static const float \(name)[\(count)] = {\n" + CSource.values(a.floats, CSource.float) + "};\n\n"
    case .i32:
      return "static const int32_t \(name)[\(count)] = {\n" + CSource.values(a.int32s, CSource.int32) + "};\n\n"
    case .i64:
      return "static const int64_t \(name)[\(count)] = {\n" + CSource.values(a.integers, CSource.int64) + "};\n\n"
    case .i16:
      return "static const int16_t \(name)[\(count)] = {\n" + CSource.values(a.integers) { String($0) } + "};\n\n"
    case .u8:
      return "static const uint8_t \(name)[\(count)] = {\n" + CSource.values(a.integers) { String($0) } + "};\n\n"
    case .i8:
      return "static const int8_t \(name)[\(count)] = {\n" + CSource.values(a.integers) { String($0) } + "};\n\n"
    case .i4, .i2:
      return "static const uint8_t \(name)[\(max(bytes.count, 1))] = {\n" + CSource.values(bytes) { String($0) } + "};\n\n"
    }
  }

  mutating func constArray(_ what: String, _ values: [Int32]) -> String {
    counter += 1
    let name = "\(prefix)_\(what)\(counter)"
    constants.text += "static const int32_t \(name)[\(values.count)] = {\n" + CSource.values(values, CSource.int32) + "};\n\n"
    return name
  }

  private mutating func floatArray(_ what: String, _ values: [Float]) -> String {
    counter += 1
    let name = "\(prefix)_\(what)\(counter)"
    constants.text += "static const float \(name)[\(values.count)] = {\n" + CSource.values(values, CSource.float) + "};\n\n"
    return name
  }

  func fail(_ i: Int, _ op: Op, _ why: String) -> BackendError {
    BackendError("op \(i) (\(op.kind.mnemonic), \(op.location)): \(why)")
  }

  /// A C expression for a value's data: a constant's array or its place in the arena.
  func ptr(_ v: ValueID, _ i: Int, _ op: Op) throws -> String {
    let t = g[v].type
    let ctype = CSource.type(t.elementType)
    if let name = constantName[v] { return "(const \(ctype) *)\(name)" }
    guard let off = layout.offsets[v] else { throw fail(i, op, "%\(g[v].name) has no place in the arena") }
    if ctype != "int8_t" && ctype != "uint8_t" && off % 4 != 0 {
      throw fail(i, op, "%\(g[v].name) is not 4-byte aligned in the arena (offset \(off))")
    }
    return ctype == "int8_t" ? "(arena + \(off))" : "((\(ctype) *)(void *)(arena + \(off)))"
  }

  func q(_ v: ValueID) -> Quantization { g[v].type.quantization ?? Quantization(scale: 1, zeroPoint: 0) }

  func dims(_ s: [Int]) -> String {
    let p = s.count == 4 ? s : (s.count == 2 ? [s[0], 1, 1, s[1]] : [1, 1, 1, s.reduce(1, *)])
    return "{\(p[0]), \(p[1]), \(p[2]), \(p[3])}"
  }

  private static func floatRange(_ a: Activation) -> (String, String) {
    guard let r = a.range else { return ("-INFINITY", "INFINITY") }
    return (CSource.float(r.min), CSource.float(r.max))
  }

  mutating func lower(_ i: Int, _ op: Op, into c: inout CSource) throws {
    let x = op.inputs.first
    let y = op.outputs[0]
    let yt = g[y].type
    let isFloat = yt.elementType == .f32 && (x.map { g[$0].type.elementType == .f32 } ?? true)
    c.line("  { /* op \(i): \(op.kind.mnemonic) \(CSource.comment(op.location.description)) */")
    defer { c.line("  }") }
    if op.kind.isView {
      guard let x, layout.offsets[x] == layout.offsets[y] || constantName[x] != nil else {
        throw fail(i, op, "a reshape must alias its operand in the arena")
      }
      if let name = constantName[x] {
        c.line("    memcpy(\(try ptr(y, i, op)), \(name), \(yt.byteCount));")
      } else {
        c.line("    /* view of %\(CSource.comment(g[x].name)): no data moves */")
      }
      return
    }
    guard let x else { throw fail(i, op, "has no operands") }
    if try lowerS16(i, op, into: &c) { return }
    if try lowerLowBit(i, op, into: &c) { return }
    let xt = g[x].type
    if !isFloat, xt.elementType != .i8 || (yt.elementType != .i8 && op.kind != .dequantize) {
      if !(op.kind == .quantize && xt.elementType == .f32) {
        throw fail(i, op, "the C back-end lowers int8 and float32 ops; this one is \(xt.elementType.rawValue) → \(yt.elementType.rawValue)")
      }
    }
    let X = try ptr(x, i, op)
    let Y = try ptr(y, i, op)
    let n = yt.elementCount
    switch op.kind {
    case .conv2d(let w, let act), .depthwiseConv2d(let w, _, let act):
      let f = g[op.inputs[1]].type.shape
      let depthwise: Bool
      if case .depthwiseConv2d = op.kind { depthwise = true } else { depthwise = false }
      let bias = op.inputs.count > 2 ? try ptr(op.inputs[2], i, op) : "NULL"
      if isFloat {
        let (lo, hi) = Self.floatRange(act)
        let s = xt.shape
        let o = yt.shape
        let biasF = op.inputs.count > 2 ? bias : "NULL"
        if depthwise {
          c.line(
            "    if (tinyc_depthwise_conv2d_f32(\(X), \(s[0]), \(s[1]), \(s[2]), \(s[3]), \(try ptr(op.inputs[1], i, op)), \(f[1]), \(f[2]), \(f[3] / s[3]), \(biasF), \(w.strideH), \(w.strideW), \(w.padding.top), \(w.padding.left), \(w.dilationH), \(w.dilationW), \(lo), \(hi), \(Y), \(o[1]), \(o[2])) != 0) return -\(i + 1);"
          )
        } else {
          c.line(
            "    if (tinyc_conv2d_f32(\(X), \(s[0]), \(s[1]), \(s[2]), \(s[3]), \(try ptr(op.inputs[1], i, op)), \(f[0]), \(f[1]), \(f[2]), \(f[3]), \(biasF), \(w.strideH), \(w.strideW), \(w.padding.top), \(w.padding.left), \(w.dilationH), \(w.dilationW), \(lo), \(hi), \(Y), \(o[1]), \(o[2])) != 0) return -\(i + 1);"
          )
        }
        return
      }
      guard g[op.inputs[1]].type.elementType == .i8 else { throw fail(i, op, "weights must be int8 for CMSIS-NN") }
      let outC = yt.shape[3]
      let rq = KernelParams.perChannel(input: q(x), weights: q(op.inputs[1]), output: q(y), channels: outC)
      let mult = constArray("mult", rq.map(\.multiplier))
      let shift = constArray("shift", rq.map(\.shift))
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      c.line("    const cmsis_nn_dims input_dims = \(dims(xt.shape));")
      c.line("    const cmsis_nn_dims filter_dims = \(dims(f));")
      c.line("    const cmsis_nn_dims bias_dims = {1, 1, 1, \(outC)};")
      c.line("    const cmsis_nn_dims output_dims = \(dims(yt.shape));")
      c.line("    const cmsis_nn_per_channel_quant_params quant = {(int32_t *)\(mult), (int32_t *)\(shift)};")
      let common =
        ".input_offset = \(-q(x).zeroPoint), .output_offset = \(q(y).zeroPoint), .stride = {\(w.strideW), \(w.strideH)}, .padding = {\(w.padding.left), \(w.padding.top)}, .dilation = {\(w.dilationW), \(w.dilationH)}, .activation = {\(lo), \(hi)}"
      let fn: String
      if case .depthwiseConv2d(_, let m, _) = op.kind {
        c.line("    const cmsis_nn_dw_conv_params params = {\(common.replacingFirst(".stride", with: ".ch_mult = \(m), .stride"))};")
        fn = "arm_depthwise_conv_wrapper_s8"
      } else {
        c.line("    const cmsis_nn_conv_params params = {\(common)};")
        fn = "arm_convolve_wrapper_s8"
      }
      let armclangOnly =
        depthwise
        ? 0
        : CMSISBufferSizes(target.build).convolveWrapper(
          input: xt.shape, filterHW: (f[1], f[2]), output: yt.shape, conv: ConvGeometry(w), armclang: true)
      if armclangOnly > 0 && layout.scratch[i] == nil {
        // arm_convolve_1x1_s8_fast wants 4·c bytes when the library is built by armclang only.
        armclangScratchBytes = max(armclangScratchBytes, armclangOnly)
        c.line("#if defined(__ARMCC_VERSION) && (__ARMCC_VERSION >= 6010050)")
        c.line("    const cmsis_nn_context ctx = {\(prefix)_armclang_scratch.bytes, \(armclangOnly)};")
        c.line("#else")
        c.line("    const cmsis_nn_context ctx = {NULL, 0};")
        c.line("#endif")
        c.line("    if (\(fn)_get_buffer_size(&params, &input_dims, &filter_dims, &output_dims) > ctx.size) return -\(i + 1);")
      } else {
        emitContext(i, op, fn: fn, sizeArgs: "&params, &input_dims, &filter_dims, &output_dims", into: &c)
      }
      c.line(
        "    if (\(fn)(&ctx, &params, &quant, &input_dims, \(X), &filter_dims, \(try ptr(op.inputs[1], i, op)), &bias_dims, \(bias == "NULL" ? "NULL" : bias), &output_dims, \(Y)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
      )
    case .fullyConnected(let act, _):
      let wt = g[op.inputs[1]].type
      let outC = wt.shape[0]
      let depth = wt.shape[1]
      let rows = n / outC
      let bias = op.inputs.count > 2 ? try ptr(op.inputs[2], i, op) : "NULL"
      if isFloat {
        let (lo, hi) = Self.floatRange(act)
        c.line(
          "    tinyc_fully_connected_f32(\(X), \(rows), \(depth), \(try ptr(op.inputs[1], i, op)), \(outC), \(bias), \(lo), \(hi), \(Y));")
        return
      }
      guard wt.elementType == .i8 else { throw fail(i, op, "weights must be int8 for CMSIS-NN") }
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      c.line("    const cmsis_nn_dims input_dims = {\(rows), 1, 1, \(depth)};")
      c.line("    const cmsis_nn_dims filter_dims = {\(depth), 1, 1, \(outC)};")
      c.line("    const cmsis_nn_dims bias_dims = {1, 1, 1, \(outC)};")
      c.line("    const cmsis_nn_dims output_dims = {\(rows), 1, 1, \(outC)};")
      c.line(
        "    const cmsis_nn_fc_params params = {.input_offset = \(-q(x).zeroPoint), .filter_offset = 0, .output_offset = \(q(y).zeroPoint), .activation = {\(lo), \(hi)}};"
      )
      let fn: String
      if q(op.inputs[1]).isPerAxis {
        let rq = KernelParams.perChannel(input: q(x), weights: q(op.inputs[1]), output: q(y), channels: outC)
        let mult = constArray("mult", rq.map(\.multiplier))
        let shift = constArray("shift", rq.map(\.shift))
        c.line("    const cmsis_nn_per_channel_quant_params quant = {(int32_t *)\(mult), (int32_t *)\(shift)};")
        fn = "arm_fully_connected_per_channel_s8"
      } else {
        let r = KernelParams.fullyConnectedPerTensor(input: q(x), weights: q(op.inputs[1]), output: q(y))
        c.line("    const cmsis_nn_per_tensor_quant_params quant = {\(r.multiplier), \(r.shift)};")
        fn = "arm_fully_connected_s8"
      }
      if target.fullyConnectedNeedsKernelSums {
        // MVE reads bias + input_offset·Σw per output channel (what arm_vector_sum_s8 computes)
        // from ctx.buf instead of the bias. Weights, bias and offset are constants, so the sums
        // are computed here once into Flash: no RAM and no work per inference.
        let sums = try kernelSums(i, op, inputOffset: -q(x).zeroPoint)
        c.line("    const cmsis_nn_context ctx = {(void *)(uintptr_t)\(sums), \(outC * 4)};")
        c.line("    if (arm_fully_connected_s8_get_buffer_size(&filter_dims) > ctx.size) return -\(i + 1);")
      } else {
        emitContext(i, op, fn: "arm_fully_connected_s8", sizeArgs: "&filter_dims", into: &c)
      }
      c.line(
        "    if (\(fn)(&ctx, &params, &quant, &input_dims, \(X), &filter_dims, \(try ptr(op.inputs[1], i, op)), &bias_dims, \(bias), &output_dims, \(Y)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
      )
    case .averagePool2d(let w, let fh, let fw, let act), .maxPool2d(let w, let fh, let fw, let act):
      let isMax: Bool
      if case .maxPool2d = op.kind { isMax = true } else { isMax = false }
      let s = xt.shape
      let o = yt.shape
      if isFloat {
        let (lo, hi) = Self.floatRange(act)
        c.line(
          "    tinyc_\(isMax ? "maxpool" : "avgpool")_f32(\(X), \(s[0]), \(s[1]), \(s[2]), \(s[3]), \(fh), \(fw), \(w.strideH), \(w.strideW), \(w.padding.top), \(w.padding.left), \(lo), \(hi), \(Y), \(o[1]), \(o[2]));"
        )
        return
      }
      guard q(x) == q(y) else { throw fail(i, op, "int8 pooling needs the same quantization on input and output") }
      emitPool(i, op, window: w, fh, fw, act, X, Y, suffix: "s8", into: &c)
    case .softmax(let beta):
      let row = yt.shape.last ?? 1
      if isFloat {
        c.line("    tinyc_softmax_f32(\(X), \(n / row), \(row), \(CSource.float(beta)), \(Y));")
        return
      }
      let p = KernelParams.softmax(beta: beta, inputScale: q(x).scale)
      c.line("    arm_softmax_s8(\(X), \(n / row), \(row), \(p.multiplier), \(p.shift), \(p.diffMin), \(Y));")
    case .batchNorm(let epsilon):
      // A float batch norm no pass could fold into a producer (e.g. after a relu) runs as a 1x1
      // depthwise convolution: w[c] = scale[c] / sqrt(var[c] + eps), b[c] = bias[c] - mean[c]·w[c].
      let params = op.inputs[1...].compactMap { g.constants[$0] }
      guard isFloat, params.count == 4 else { throw fail(i, op, "batch_norm is lowered for float32 with constant parameters") }
      let v = params.map { NDArray(shape: [], elementType: .f32, bytes: $0.bytes).floats }
      let ch = yt.shape.last ?? 1
      let scale = (0..<ch).map { Double(v[0][$0]) / (Double(v[3][$0]) + Double(epsilon)).squareRoot() }
      let w = floatArray("bn_w", scale.map { Float($0) })
      let b = floatArray("bn_b", (0..<ch).map { Float(Double(v[1][$0]) - Double(v[2][$0]) * scale[$0]) })
      let rows = n / ch
      c.line(
        "    if (tinyc_depthwise_conv2d_f32(\(X), \(rows), 1, 1, \(ch), \(w), 1, 1, 1, \(b), 1, 1, 0, 0, 1, 1, -INFINITY, INFINITY, \(Y), 1, 1) != 0) return -\(i + 1);"
      )
    case .logSoftmax:
      guard isFloat else { throw fail(i, op, "log_softmax is lowered for float32 only") }
      let row = yt.shape.last ?? 1
      c.line("    tinyc_log_softmax_f32(\(X), \(n / row), \(row), \(Y));")
    case .add(let act), .sub(let act), .mul(let act):
      let b = op.inputs[1]
      let B = try ptr(b, i, op)
      let kindName: String
      switch op.kind {
      case .add: kindName = "add"
      case .sub: kindName = "sub"
      default: kindName = "mul"
      }
      let broadcast = g[b].type.shape != yt.shape || xt.shape != yt.shape
      var shapes = ""
      if broadcast {
        guard yt.rank <= 4 else { throw fail(i, op, "broadcasting is lowered for tensors of rank 4 or less") }
        func pad4(_ s: [Int]) -> String {
          (Array(repeating: 1, count: 4 - s.count) + s).map(String.init).joined(separator: ", ")
        }
        c.line("    const int32_t shape_1[4] = {\(pad4(xt.shape))};")
        c.line("    const int32_t shape_2[4] = {\(pad4(g[b].type.shape))};")
        shapes = "shape_1, \(B), shape_2"
      }
      if isFloat {
        let (lo, hi) = Self.floatRange(act)
        if broadcast {
          c.line("    if (tinyc_\(kindName)_f32_broadcast(\(X), \(shapes), \(lo), \(hi), \(Y)) != 0) return -\(i + 1);")
        } else {
          c.line("    tinyc_\(kindName)_f32(\(X), \(B), \(n), \(lo), \(hi), \(Y));")
        }
        return
      }
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      if kindName == "mul" {
        let r = KernelParams.mul(q(x), q(b), out: q(y))
        if broadcast {
          c.line(
            "    if (tinyc_mul_s8_broadcast(\(X), \(shapes), \(-q(x).zeroPoint), \(-q(b).zeroPoint), \(Y), \(q(y).zeroPoint), \(r.multiplier), \(r.shift), \(lo), \(hi)) != 0) return -\(i + 1);"
          )
        } else {
          c.line(
            "    if (arm_elementwise_mul_s8(\(X), \(B), \(-q(x).zeroPoint), \(-q(b).zeroPoint), \(Y), \(q(y).zeroPoint), \(r.multiplier), \(r.shift), \(lo), \(hi), \(n)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
          )
        }
      } else {
        let p = KernelParams.addSub(q(x), q(b), out: q(y))
        let params =
          "\(p.input1Offset), \(p.input1.multiplier), \(p.input1.shift), \(p.input2Offset), \(p.input2.multiplier), \(p.input2.shift), \(p.leftShift), \(Y), \(p.outputOffset), \(p.output.multiplier), \(p.output.shift), \(lo), \(hi)"
        if broadcast {
          c.line("    if (tinyc_\(kindName)_s8_broadcast(\(X), \(shapes), \(params)) != 0) return -\(i + 1);")
        } else if kindName == "add" {
          c.line("    if (arm_elementwise_add_s8(\(X), \(B), \(params), \(n)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);")
        } else {
          c.line("    tinyc_sub_s8(\(X), \(B), \(params), \(n));")
        }
      }
    case .concat(let axis, let act):
      let outer = yt.shape[..<axis].reduce(1, *)
      let inner = yt.shape[(axis + 1)...].reduce(1, *)
      let sizes = op.inputs.map { Int32(g[$0].type.shape[axis]) }
      let sizeArr = constArray("axis", sizes)
      let ptrs = try op.inputs.map { try ptr($0, i, op) }
      if isFloat {
        c.line("    const void *const inputs[\(ptrs.count)] = {\(ptrs.joined(separator: ", "))};")
        c.line("    tinyc_concat(inputs, \(ptrs.count), \(sizeArr), \(outer), \(inner), 4, \(Y));")
        if act != .none {
          let (lo, hi) = Self.floatRange(act)
          c.line("    tinyc_relu_f32(\(Y), \(n), \(lo), \(hi), \(Y));")
        }
        return
      }
      let rqs: [KernelParams.Requant?] = op.inputs.map { q($0) == q(y) ? nil : KernelParams.rescale(from: q($0), to: q(y)) }
      let zps = constArray("zp", op.inputs.map { Int32(q($0).zeroPoint) })
      let mults = constArray("mult", rqs.map { $0?.multiplier ?? 0 })
      let shifts = constArray("shift", rqs.map { $0?.shift ?? 0 })
      c.line("    const int8_t *const inputs[\(ptrs.count)] = {\(ptrs.joined(separator: ", "))};")
      c.line(
        "    tinyc_concat_s8(inputs, \(ptrs.count), \(sizeArr), \(outer), \(inner), \(zps), \(mults), \(shifts), \(q(y).zeroPoint), \(Y));")
      if act != .none {
        let (lo, hi) = KernelParams.activationRange(act, output: yt)
        c.line("    tinyc_clamp_s8(\(Y), \(n), \(lo), \(hi), \(Y));")
      }
    case .pad(let p):
      guard xt.rank == 4 else { throw fail(i, op, "the C back-end pads 4-D tensors") }
      let before = (0..<4).map { String(p[2 * $0]) }.joined(separator: ", ")
      let after = (0..<4).map { String(p[2 * $0 + 1]) }.joined(separator: ", ")
      c.line("    const int32_t in_shape[4] = {\(xt.shape.map(String.init).joined(separator: ", "))};")
      c.line("    const int32_t before[4] = {\(before)};")
      c.line("    const int32_t after[4] = {\(after)};")
      if isFloat {
        c.line("    const float pad_value = 0.0f;")
      } else {
        c.line("    const int8_t pad_value = \(q(y).zeroPoint);")
      }
      c.line("    if (tinyc_pad(\(X), \(isFloat ? 4 : 1), in_shape, before, after, &pad_value, \(Y)) != 0) return -\(i + 1);")
    case .mean(let axes, _):
      // Ranks below 4 (GlobalAveragePooling1D's 3-D MEAN) reduce the same values with leading 1s.
      guard (1...4).contains(xt.rank) else { throw fail(i, op, "the C back-end reduces tensors of rank 1 to 4") }
      let lead = 4 - xt.rank
      let mask = axes.reduce(0) { $0 | (1 << ($1 + lead)) }
      let shape4 = Array(repeating: 1, count: lead) + xt.shape
      c.line("    const int32_t shape[4] = {\(shape4.map(String.init).joined(separator: ", "))};")
      if isFloat {
        c.line("    if (tinyc_mean_f32(\(X), shape, \(mask), \(Y)) != 0) return -\(i + 1);")
      } else {
        let r = KernelParams.rescale(from: q(x), to: q(y))
        c.line(
          "    if (tinyc_mean_s8(\(X), shape, \(mask), \(q(x).zeroPoint), \(q(y).zeroPoint), \(r.multiplier), \(r.shift), \(Y)) != 0) return -\(i + 1);"
        )
      }
    case .quantize:
      if xt.elementType == .f32 {
        c.line("    tinyc_quantize_f32_s8(\(X), \(n), \(CSource.float(q(y).scale)), \(q(y).zeroPoint), \(Y));")
      } else {
        let r = KernelParams.rescale(from: q(x), to: q(y))
        c.line("    tinyc_requantize_s8(\(X), \(n), \(q(x).zeroPoint), \(q(y).zeroPoint), \(r.multiplier), \(r.shift), \(Y));")
      }
    case .dequantize:
      c.line("    tinyc_dequantize_s8_f32(\(X), \(n), \(CSource.float(q(x).scale)), \(q(x).zeroPoint), \(Y));")
    case .logistic, .tanh:
      let name = op.kind == .logistic ? "logistic" : "tanh"
      if isFloat {
        c.line("    tinyc_\(name)_f32(\(X), \(n), \(Y));")
        return
      }
      let p = KernelParams.logisticTanh(inputScale: q(x).scale, tanh: op.kind == .tanh)
      c.line("    tinyc_\(name)_s8(\(X), \(n), \(q(x).zeroPoint), \(p.radius), \(p.multiplier), \(p.leftShift), \(Y));")
    case .relu, .relu6, .clip:
      let act: Activation
      switch op.kind {
      case .relu: act = .relu
      case .relu6: act = .relu6
      case .clip(let lo, let hi): act = .clip(lo, hi)
      default: act = .none
      }
      if isFloat {
        let (lo, hi) = Self.floatRange(act)
        c.line("    tinyc_relu_f32(\(X), \(n), \(lo), \(hi), \(Y));")
        return
      }
      if op.kind == .relu6 {
        // TFLite Micro's int8 RELU6 clamps the input codes to [q(0), q(6)] in the input's own
        // quantization and does not requantize.
        let (lo, hi) = KernelParams.activationRange(.relu6, output: xt)
        c.line("    tinyc_clamp_s8(\(X), \(n), \(lo), \(hi), \(Y));")
        return
      }
      let r = KernelParams.rescale(from: q(x), to: q(y))
      let (lo, hi) = KernelParams.activationRange(act, output: yt)
      c.line("    tinyc_relu_s8(\(X), \(n), \(q(x).zeroPoint), \(q(y).zeroPoint), \(r.multiplier), \(r.shift), \(lo), \(hi), \(Y));")
    case .leakyRelu(let alpha):
      if isFloat {
        c.line("    tinyc_leaky_relu_f32(\(X), \(n), \(CSource.float(alpha)), \(Y));")
        return
      }
      let p = KernelParams.leakyRelu(alpha: alpha, input: q(x), output: q(y))
      c.line(
        "    tinyc_leaky_relu_s8(\(X), \(n), \(q(x).zeroPoint), \(q(y).zeroPoint), \(p.identity.multiplier), \(p.identity.shift), \(p.alpha.multiplier), \(p.alpha.shift), \(Y));"
      )
    case .hardSwish:
      if isFloat {
        c.line("    tinyc_hard_swish_f32(\(X), \(n), \(Y));")
        return
      }
      let p = KernelParams.hardSwish(input: q(x), output: q(y))
      c.line(
        "    tinyc_hard_swish_s8(\(X), \(n), \(q(x).zeroPoint), \(q(y).zeroPoint), \(p.reluishMultiplier), \(p.reluishExponent), \(p.outputMultiplier), \(p.outputExponent), \(Y));"
      )
    case .transpose(let perm):
      c.line("    const int32_t in_shape[\(xt.rank)] = {\(xt.shape.map(String.init).joined(separator: ", "))};")
      c.line("    const int32_t perm[\(xt.rank)] = {\(perm.map(String.init).joined(separator: ", "))};")
      c.line("    if (tinyc_transpose(\(X), \(isFloat ? 4 : 1), \(xt.rank), in_shape, perm, \(Y)) != 0) return -\(i + 1);")
    case .stridedSlice(let b, let e, let s):
      func list(_ v: [Int]) -> String { v.map(String.init).joined(separator: ", ") }
      c.line("    const int32_t in_shape[\(xt.rank)] = {\(list(xt.shape))};")
      c.line("    const int32_t begin[\(xt.rank)] = {\(list(b))};")
      c.line("    const int32_t end[\(xt.rank)] = {\(list(e))};")
      c.line("    const int32_t strides[\(xt.rank)] = {\(list(s))};")
      c.line(
        "    if (tinyc_strided_slice(\(X), \(isFloat ? 4 : 1), \(xt.rank), in_shape, begin, end, strides, \(Y)) != 0) return -\(i + 1);")
    case .div, .prelu:
      // Float only (as the interpreter): ONNX Div (often by a constant) and PRelu, broadcast in 4-D.
      guard isFloat, yt.rank <= 4 else { throw fail(i, op, "\(op.kind.mnemonic) is lowered for float32 of rank 4 or less") }
      let b = op.inputs[1]
      func pad4(_ s: [Int]) -> String { (Array(repeating: 1, count: 4 - s.count) + s).map(String.init).joined(separator: ", ") }
      c.line("    const int32_t shape_1[4] = {\(pad4(xt.shape))};")
      c.line("    const int32_t shape_2[4] = {\(pad4(g[b].type.shape))};")
      if case .div(let act) = op.kind {
        let (lo, hi) = Self.floatRange(act)
        c.line(
          "    if (tinyc_div_f32_broadcast(\(X), shape_1, \(try ptr(b, i, op)), shape_2, \(lo), \(hi), \(Y)) != 0) return -\(i + 1);")
      } else {
        c.line("    if (tinyc_prelu_f32_broadcast(\(X), shape_1, \(try ptr(b, i, op)), shape_2, \(Y)) != 0) return -\(i + 1);")
      }
    case .hardSigmoid(let alpha, let beta):
      guard isFloat else { throw fail(i, op, "hard_sigmoid is lowered for float32 only") }
      c.line("    tinyc_hard_sigmoid_f32(\(X), \(n), \(CSource.float(alpha)), \(CSource.float(beta)), \(Y));")
    default:
      throw fail(i, op, "the C back-end cannot lower \(op.kind.mnemonic) yet (run the passes that remove it first)")
    }
  }

  /// The kernel sums `arm_vector_sum_s8(buf, depth, outC, weights, input_offset, 0, bias)` writes
  /// for a fully-connected op, as a `const int32_t` array (two's complement wrap, as in C).
  private mutating func kernelSums(_ i: Int, _ op: Op, inputOffset: Int) throws -> String {
    let wt = g[op.inputs[1]].type
    guard let w = g.constants[op.inputs[1]] else { throw fail(i, op, "MVE fully connected needs constant weights") }
    var bias = [Int32](repeating: 0, count: wt.shape[0])
    if op.inputs.count > 2 {
      guard let b = g.constants[op.inputs[2]] else { throw fail(i, op, "MVE fully connected needs a constant bias") }
      bias = NDArray(shape: g[op.inputs[2]].type.shape, elementType: .i32, bytes: b.bytes).int32s
    }
    let weights = NDArray(shape: wt.shape, elementType: .i8, bytes: w.bytes).integers
    let depth = wt.shape[1]
    guard bias.count == wt.shape[0], weights.count == wt.shape[0] * depth else {
      throw fail(i, op, "weights or bias do not match the output channels")
    }
    let sums = (0..<wt.shape[0]).map { r -> Int32 in
      let s = weights[(r * depth)..<((r + 1) * depth)].reduce(Int32(0)) { $0 &+ Int32($1) }
      return bias[r] &+ s &* Int32(truncatingIfNeeded: inputOffset)
    }
    return constArray("kernel_sums", sums)
  }

  /// A CMSIS-NN max or average pool call (`arm_max_pool_<suffix>` / `arm_avgpool_<suffix>`): the
  /// s8 and s16 kernels take the same structs, dims and arguments.
  func emitPool(
    _ i: Int, _ op: Op, window w: Window, _ fh: Int, _ fw: Int, _ act: Activation, _ X: String, _ Y: String,
    suffix: String, into c: inout CSource
  ) {
    let s = g[op.inputs[0]].type.shape
    let o = g[op.outputs[0]].type
    let isMax: Bool
    if case .maxPool2d = op.kind { isMax = true } else { isMax = false }
    let (lo, hi) = KernelParams.activationRange(act, output: o)
    c.line("    const cmsis_nn_dims input_dims = \(dims(s));")
    c.line("    const cmsis_nn_dims filter_dims = {1, \(fh), \(fw), 1};")
    c.line("    const cmsis_nn_dims output_dims = \(dims(o.shape));")
    c.line(
      "    const cmsis_nn_pool_params params = {.stride = {\(w.strideW), \(w.strideH)}, .padding = {\(w.padding.left), \(w.padding.top)}, .activation = {\(lo), \(hi)}};"
    )
    let fn = isMax ? "arm_max_pool_\(suffix)" : "arm_avgpool_\(suffix)"
    if isMax {
      c.line("    const cmsis_nn_context ctx = {NULL, 0};")
    } else {
      emitContext(i, op, fn: fn, sizeArgs: "\(o.shape[2]), \(s[3])", into: &c)
    }
    c.line(
      "    if (\(fn)(&ctx, &params, &input_dims, \(X), &filter_dims, &output_dims, \(Y)) != ARM_CMSIS_NN_SUCCESS) return -\(i + 1);"
    )
  }

  /// Declares `ctx` with the op's planned scratch buffer and checks, at run time, that the
  /// linked CMSIS-NN asks for no more than was planned.
  func emitContext(_ i: Int, _ op: Op, fn: String, sizeArgs: String, into c: inout CSource) {
    if let s = layout.scratch[i], s.bytes > 0 {
      c.line("    const cmsis_nn_context ctx = {arena + \(s.offset), \(s.bytes)};")
    } else {
      c.line("    const cmsis_nn_context ctx = {NULL, 0};")
    }
    c.line("    if (\(fn)_get_buffer_size(\(sizeArgs)) > ctx.size) return -\(i + 1);")
  }
}

extension String {
  func replacingFirst(_ target: String, with replacement: String) -> String {
    guard let r = range(of: target) else { return self }
    return self[..<r.lowerBound] + replacement + self[r.upperBound...]
  }
}
