/// A fused activation: the op clamps its result to this range before it is stored.
public enum Activation: Hashable, Sendable {
  case none, relu, relu6, reluN1To1
  /// A general clamp `[min, max]` in real values (ONNX Clip).
  case clip(Float, Float)

  /// The real-valued range, nil for `.none`.
  public var range: (min: Float, max: Float)? {
    switch self {
    case .none: return nil
    case .relu: return (0, .infinity)
    case .relu6: return (0, 6)
    case .reluN1To1: return (-1, 1)
    case .clip(let a, let b): return (a, b)
    }
  }
}

/// Explicit spatial padding, in elements.
public struct Padding: Hashable, Sendable {
  public var top: Int, left: Int, bottom: Int, right: Int
  public init(top: Int, left: Int, bottom: Int, right: Int) {
    self.top = top
    self.left = left
    self.bottom = bottom
    self.right = right
  }
  public static let zero = Padding(top: 0, left: 0, bottom: 0, right: 0)
  public var isZero: Bool { self == .zero }

  /// TFLite's SAME padding for one spatial dimension: (before, after).
  public static func same(input: Int, filter: Int, stride: Int, dilation: Int) -> (Int, Int) {
    let out = (input + stride - 1) / stride
    let effective = (filter - 1) * dilation + 1
    let total = max((out - 1) * stride + effective - input, 0)
    return (total / 2, total - total / 2)
  }
}

/// Window attributes shared by convolutions and pools.
public struct Window: Hashable, Sendable {
  public var strideH: Int, strideW: Int
  public var dilationH: Int, dilationW: Int
  public var padding: Padding
  public init(
    strideH: Int = 1, strideW: Int = 1, dilationH: Int = 1, dilationW: Int = 1,
    padding: Padding = .zero
  ) {
    self.strideH = strideH
    self.strideW = strideW
    self.dilationH = dilationH
    self.dilationW = dilationW
    self.padding = padding
  }

  /// Output spatial size for an input size and a filter size.
  public func outputSize(inH: Int, inW: Int, filterH: Int, filterW: Int) -> (Int, Int) {
    let eh = (filterH - 1) * dilationH + 1
    let ew = (filterW - 1) * dilationW + 1
    let oh = (inH + padding.top + padding.bottom - eh) / strideH + 1
    let ow = (inW + padding.left + padding.right - ew) / strideW + 1
    return (oh, ow)
  }
}

/// The kind of an op with its typed attributes. Layout is NHWC; conv weights are OHWI,
/// depthwise weights 1HW(C·multiplier), fully-connected weights [out, in].
public enum OpKind: Hashable, Sendable {
  /// inputs: x, weights, optional bias.
  case conv2d(Window, Activation)
  /// inputs: x, weights, optional bias.
  case depthwiseConv2d(Window, depthMultiplier: Int, Activation)
  /// inputs: x, weights [out, in], optional bias. Output [rows, out] (or keeps leading dims).
  case fullyConnected(Activation, keepNumDims: Bool)
  case averagePool2d(Window, filterH: Int, filterW: Int, Activation)
  case maxPool2d(Window, filterH: Int, filterW: Int, Activation)
  /// A view with another shape (no data movement).
  case reshape(shape: [Int])
  case softmax(beta: Float)
  case logSoftmax
  case add(Activation)
  case sub(Activation)
  case mul(Activation)
  case div(Activation)
  case concat(axis: Int, Activation)
  /// `paddings` holds (before, after) per dimension, flattened. Pads with real value 0
  /// (the zero point when quantized).
  case pad(paddings: [Int])
  case mean(axes: [Int], keepDims: Bool)
  /// float → int or int → int (requantize).
  case quantize
  /// int → float.
  case dequantize
  case logistic
  case tanh
  case relu
  case relu6
  case clip(min: Float, max: Float)
  case leakyRelu(alpha: Float)
  case hardSwish
  case transpose(perm: [Int])
  /// Normalized begin/end/strides, one per dimension (masks already applied).
  case stridedSlice(begin: [Int], end: [Int], strides: [Int])
  /// inputs: x, scale, bias, mean, variance (channel last).
  case batchNorm(epsilon: Float)
  /// inputs: x, slope.
  case prelu
  case hardSigmoid(alpha: Float, beta: Float)

  /// The keyword in the text form.
  public var mnemonic: String {
    switch self {
    case .conv2d: return "conv2d"
    case .depthwiseConv2d: return "depthwise_conv2d"
    case .fullyConnected: return "fully_connected"
    case .averagePool2d: return "average_pool2d"
    case .maxPool2d: return "max_pool2d"
    case .reshape: return "reshape"
    case .softmax: return "softmax"
    case .logSoftmax: return "log_softmax"
    case .add: return "add"
    case .sub: return "sub"
    case .mul: return "mul"
    case .div: return "div"
    case .concat: return "concat"
    case .pad: return "pad"
    case .mean: return "mean"
    case .quantize: return "quantize"
    case .dequantize: return "dequantize"
    case .logistic: return "logistic"
    case .tanh: return "tanh"
    case .relu: return "relu"
    case .relu6: return "relu6"
    case .clip: return "clip"
    case .leakyRelu: return "leaky_relu"
    case .hardSwish: return "hard_swish"
    case .transpose: return "transpose"
    case .stridedSlice: return "strided_slice"
    case .batchNorm: return "batch_norm"
    case .prelu: return "prelu"
    case .hardSigmoid: return "hard_sigmoid"
    }
  }

  /// The fused activation, for ops that have one.
  public var activation: Activation? {
    switch self {
    case .conv2d(_, let a), .depthwiseConv2d(_, _, let a), .fullyConnected(let a, _),
      .averagePool2d(_, _, _, let a), .maxPool2d(_, _, _, let a), .add(let a), .sub(let a),
      .mul(let a), .div(let a), .concat(_, let a):
      return a
    default: return nil
    }
  }

  /// True for ops that only reinterpret their input's bytes (the result can alias it).
  public var isView: Bool {
    if case .reshape = self { return true }
    return false
  }

  /// Ops that read each input element once and write the same position of the output
  /// (one input the same size as the output), so the output may share the input's memory.
  public var isElementwiseUnary: Bool {
    switch self {
    case .quantize, .logistic, .tanh, .relu, .relu6, .clip, .leakyRelu, .hardSwish, .hardSigmoid:
      return true
    default: return false
    }
  }
}
