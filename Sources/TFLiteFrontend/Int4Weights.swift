/// Where INT4 tensors may appear. TFLite packs them two per byte, element 2k in the low nibble,
/// dense over the flattened tensor (an odd count leaves the last high nibble as padding): the
/// IR's own packing of `i4` constants, so the buffer is taken as it is. TFLite Micro runs them
/// only as the filters of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (int8 activations), so
/// anything else is refused here, before the tensor is read.
extension Importer {
  mutating func checkInt4Operands(_ op: OpInfo) throws {
    let O = Schema.Op.self
    let takesInt4Weights = [O.conv2D, O.depthwiseConv2D, O.fullyConnected].contains(op.code)
    for (k, j) in op.inputs.enumerated() where j != -1 {
      try checkIndex(j, of: op)
      let t = try tensor(j)
      guard t.type == Schema.TensorType.int4 else { continue }
      guard takesInt4Weights, k == 1 else {
        throw TFLiteError(
          "reads INT4 tensor \(j) as input \(k); INT4 is supported only for the weights (input 1) of "
            + "CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED", at: .op(op.index, op.name))
      }
      guard !t.scales.isEmpty else {
        throw TFLiteError(
          "has INT4 weights (tensor \(j)) without quantization scales", at: .op(op.index, op.name))
      }
    }
  }
}
