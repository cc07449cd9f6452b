import TinyIR

/// The Flash a compiled graph occupies, as the C back-end lays it out: every constant some op
/// reads (packed for sub-byte types, `TensorType.byteCount`), plus the parameter arrays the
/// lowering writes beside them:
/// - quantized conv2d / depthwise_conv2d: an int32 multiplier and an int32 shift per output
///   channel (8 B each);
/// - quantized fully_connected: the same when its weights are per channel (or, on int16
///   activations, when its bias is int32); per-tensor weights need no array; on MVE
///   (`kernelSums`) an int8 layer also carries its kernel sums (4 B per output channel);
/// - quantized concat: int32 zero point, multiplier and shift per operand; every concat its
///   axis sizes (int32 per operand);
/// - a float batch_norm: a float scale and offset per channel;
/// - int16 softmax: its two int16 tables; int16 logistic/tanh: one 256-entry uint16 table per
///   model.
/// Code is not counted. `report.json`'s `constant_bytes` is `total`.
public struct FlashModel: Sendable, Equatable {
  /// Bytes of each constant in Flash, by value.
  public var constants: [ValueID: Int] = [:]
  /// Bytes of the parameter arrays of each op, by op index (ops with none are absent).
  public var parameters: [Int: Int] = [:]

  public var constantBytes: Int { constants.values.reduce(0, +) }
  public var parameterBytes: Int { parameters.values.reduce(0, +) }
  public var total: Int { constantBytes + parameterBytes }

  /// - Parameter kernelSums: the target's fully-connected kernel reads kernel sums (Cortex-M55).
  public init(_ g: Graph, kernelSums: Bool = false) {
    var read = Set(g.outputs)
    for op in g.ops {
      // A batch norm's parameters are folded into arrays of its own when it is lowered.
      if case .batchNorm = op.kind { read.formUnion(op.inputs.prefix(1)) } else { read.formUnion(op.inputs) }
    }
    for (id, data) in g.constants where read.contains(id) { constants[id] = data.bytes.count }
    var sigmoidTable = false
    for (i, op) in g.ops.enumerated() {
      var n = 0
      guard let x = op.inputs.first, let y = op.outputs.first else { continue }
      let xt = g.type(of: x)
      let yt = g.type(of: y)
      let quantized = xt.elementType.isInteger
      switch op.kind {
      case .conv2d, .depthwiseConv2d:
        if quantized { n = 8 * (yt.shape.last ?? 0) }
      case .fullyConnected:
        guard quantized, op.inputs.count >= 2 else { break }
        let units = g.type(of: op.inputs[1]).shape.first ?? 0
        let perChannel = g.type(of: op.inputs[1]).quantization?.isPerAxis ?? false
        if xt.elementType == .i16 {
          let int32Bias = op.inputs.count > 2 && g.type(of: op.inputs[2]).elementType == .i32
          if perChannel || int32Bias { n = 8 * units }
        } else {
          if perChannel { n = 8 * units }
          if kernelSums && xt.elementType == .i8 { n += 4 * units }
        }
      case .concat:
        n = 4 * op.inputs.count
        if quantized { n += 12 * op.inputs.count }
      case .batchNorm:
        if !quantized { n = 8 * (yt.shape.last ?? 1) }
      case .softmax:
        if xt.elementType == .i16 {
          let t = KernelParams.softmax16Tables()
          n = 2 * (t.exp.count + t.oneOverOnePlusX.count)
        }
      case .logistic, .tanh:
        if xt.elementType == .i16 && !sigmoidTable {
          sigmoidTable = true
          n = 2 * KernelParams.sigmoidTable16.count
        }
      default: break
      }
      if n > 0 { parameters[i] = n }
    }
  }
}
