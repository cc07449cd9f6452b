import TinyIR

/// The Flash a compiled graph occupies, as the C back-end lays it out: every constant some op
/// reads (packed for sub-byte types, `TensorType.byteCount`), plus the parameter arrays the
/// lowering writes beside them:
/// - quantized conv2d / depthwise_conv2d: an int32 multiplier and an int32 shift per output
///   channel (8 B each);
/// - quantized fully_connected: the same when its weights are per channel (or, on int16
///   activations, when its bias is int32), and always when a tensor of it is i4/i2 (tinyc's
///   kernel) except CMSIS-NN's per-tensor s4 layer; per-tensor int8 weights need no array; on
///   MVE (`kernelSums`) an int8 layer also carries its kernel sums (4 B per output channel);
/// - a concat: its axis sizes (int32 per operand) and, on int8, an int32 zero point,
///   multiplier and shift per operand; a sub-byte one none (its parameters are locals);
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
      // tinyc's own kernels for an op with an i4/i2 tensor (weights included) take their
      // per-op constants as locals, except the layers' multipliers and shifts.
      let lowBit = (op.inputs + op.outputs).contains { g.type(of: $0).elementType.bits < 8 }
      switch op.kind {
      case .conv2d, .depthwiseConv2d:
        if quantized { n = 8 * (yt.shape.last ?? 0) }
      case .fullyConnected:
        guard quantized, op.inputs.count >= 2 else { break }
        let wt = g.type(of: op.inputs[1])
        let units = wt.shape.first ?? 0
        let perChannel = wt.quantization?.isPerAxis ?? false
        if lowBit {
          // CMSIS-NN's per-tensor s4 layer (int4 weights, int8 in and out) takes one multiplier;
          // tinyc's kernel one per output channel.
          let s4 = xt.elementType == .i8 && yt.elementType == .i8 && wt.elementType == .i4 && wt.quantization?.scales.count == 1
          n = s4 ? 0 : 8 * units
        } else if xt.elementType == .i16 {
          let int32Bias = op.inputs.count > 2 && g.type(of: op.inputs[2]).elementType == .i32
          if perChannel || int32Bias { n = 8 * units }
        } else {
          if perChannel { n = 8 * units }
          if kernelSums && xt.elementType == .i8 { n += 4 * units }
        }
      case .concat:
        if !lowBit { n = 4 * op.inputs.count + (quantized ? 12 * op.inputs.count : 0) }
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
