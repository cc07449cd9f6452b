import TinyIR

/// Operators evaluated at import. The converter writes `Flatten`/`Reshape` on a dynamic batch as
/// SHAPE → STRIDED_SLICE → PACK (or CONCATENATION) → RESHAPE: the tensors' `shape` fields
/// already hold batch 1 (the -1 is only in `shape_signature`), so every shape is known here and
/// these chains are computed once, as TFLite Micro computes them at run time. DEQUANTIZE of a
/// constant (FLOAT16 weights, or int8 weights dequantized for a float operator) becomes an f32
/// constant. What stays dynamic (a SHAPE or PACK that depends on run-time values) is refused.
extension Importer {
  /// Whether operator `op` was evaluated (its output is in `folded`).
  mutating func fold(_ op: OpInfo) throws -> Bool {
    func fail(_ message: String) -> TFLiteError { TFLiteError(message, at: .op(op.index, op.name)) }
    let O = Schema.Op.self
    guard op.outputs.count == 1, let first = op.inputs.first else { return false }
    let out = op.outputs[0]
    try checkIndex(out, of: op)
    for j in op.inputs where j != -1 { try checkIndex(j, of: op) }
    let outInfo = try tensor(out)
    guard outInfo.data == nil else { return false }
    let result: NDArray
    switch op.code {
    case O.shape:
      let shape = try values[first].map { graph.type(of: $0).shape } ?? tensor(first).shape
      guard outInfo.type == Schema.TensorType.int32 || outInfo.type == Schema.TensorType.int64 else {
        throw fail("output type \(Schema.TensorType.name(outInfo.type)) must be INT32 or INT64")
      }
      result = NDArray.pack(shape, as: .i32, shape: [shape.count])
    case O.stridedSlice, O.pack, O.concatenation, O.expandDims, O.reshape, O.squeeze:
      guard op.code == O.pack || op.code == O.stridedSlice || isIntegerTensor(outInfo),
        let x = try knownInts(first, of: op)
      else {
        if op.code == O.pack { throw fail("only packs of constant shape values are supported") }
        return false
      }
      let xs = try tensor(first).shape
      switch op.code {
      case O.stridedSlice:
        guard op.inputs.count == 4, xs.count == 1 else { return false }
        let o = try op.table.table(Schema.Operator.builtinOptions, "the options of operator \(op.index)")
        guard case .stridedSlice(let b, let e, let s) = try stridedSlice(op, input: xs, options: Options(table: o))
        else { return false }
        result = NDArray.pack(stride(from: b[0], to: e[0], by: s[0]).map { x[$0] }, as: .i32, shape: outInfo.shape)
      case O.pack, O.concatenation:
        var all = x
        for j in op.inputs.dropFirst() {
          guard let v = try knownInts(j, of: op) else {
            if op.code == O.pack { throw fail("only packs of constant shape values are supported") }
            return false
          }
          all += v
        }
        // PACK along axis 0 (and CONCATENATION of vectors) lays the values end to end.
        if op.code == O.pack {
          let axis =
            try op.table.table(Schema.Operator.builtinOptions, "the options of operator \(op.index)")?
            .int(Schema.Options.Pack.axis, size: 4) ?? 0
          guard axis == 0 || xs.isEmpty else { throw fail("PACK of shape values along axis \(axis) is not supported") }
        } else {
          guard xs.count == 1 else { return false }
        }
        result = NDArray.pack(all, as: .i32, shape: outInfo.shape)
      default:  // EXPAND_DIMS, RESHAPE, SQUEEZE of a constant vector: the same values
        result = NDArray.pack(x, as: .i32, shape: outInfo.shape)
      }
    case O.dequantize:
      guard producer[first] == nil, try tensor(first).data != nil else { return false }
      result = try dequantizedConstant(first)
    default:
      return false
    }
    guard result.count == outInfo.shape.reduce(1, *) else {
      throw fail(
        "output tensor \(out) has shape \(outInfo.shape), but the operator computes \(result.count) values")
    }
    guard !(result.elementType == .i32 && !isIntegerTensor(outInfo)) else {
      throw fail("output tensor \(out) must be INT32 or INT64, not \(Schema.TensorType.name(outInfo.type))")
    }
    folded[out] = result
    foldedOps[op.index] = result
    return true
  }

  func isIntegerTensor(_ t: TensorInfo) -> Bool {
    t.type == Schema.TensorType.int32 || t.type == Schema.TensorType.int64
  }

  /// The integers of tensor `j` when known at import: an INT32/INT64 constant or a folded value.
  mutating func knownInts(_ j: Int, of op: OpInfo) throws -> [Int]? {
    if let a = folded[j] { return a.elementType == .i32 ? a.integers : nil }
    guard producer[j] == nil else { return nil }
    let t = try tensor(j)
    guard t.data != nil, isIntegerTensor(t) else { return nil }
    return try constantInts(j, of: op, "operand")
  }

  /// Constant tensor `j` (FLOAT16, or integers with a quantization) as f32.
  mutating func dequantizedConstant(_ j: Int) throws -> NDArray {
    let t = try tensor(j)
    guard let data = t.data else { throw TFLiteError("must be a constant", at: .tensor(j)) }
    let n = t.shape.reduce(1, *)
    if t.type == Schema.TensorType.float16 {
      guard data.count == 2 * n else {
        throw TFLiteError("buffer \(t.buffer) has \(data.count) bytes, its shape needs \(2 * n)", at: .tensor(j))
      }
      return NDArray(
        shape: t.shape, floats: (0..<n).map { halfToFloat(UInt16(data[2 * $0]) | UInt16(data[2 * $0 + 1]) << 8) })
    }
    let type = try irType(t)
    guard type.elementType.isInteger, let q = type.quantization, data.count == type.byteCount else {
      throw TFLiteError("only quantized integer or FLOAT16 constants can be dequantized", at: .tensor(j))
    }
    let codes = NDArray(shape: t.shape, elementType: type.elementType, bytes: data).integers
    // Elements of one channel along the quantized axis are `inner` apart and repeat every `inner * dim`.
    let inner = q.axis.map { t.shape[($0 + 1)...].reduce(1, *) } ?? n
    let dim = q.axis.map { t.shape[$0] } ?? 1
    return NDArray(
      shape: t.shape,
      floats: codes.enumerated().map { i, c in
        let k = (i / inner) % dim
        return Float(c - q.zeroPoints[k]) * q.scales[k]
      })
  }
}

/// IEEE 754 binary16 → binary32 (exact: every half is a float).
func halfToFloat(_ h: UInt16) -> Float {
  let sign = UInt32(h >> 15) << 31
  let exponent = Int(h >> 10) & 0x1f
  let mantissa = UInt32(h & 0x3ff)
  switch exponent {
  case 0:  // zero or subnormal: mantissa · 2^-24
    let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
    return sign != 0 ? -magnitude : magnitude
  case 31:  // infinity or NaN
    return Float(bitPattern: sign | 0x7f80_0000 | mantissa << 13)
  default:
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
  }
}
