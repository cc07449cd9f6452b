/// An attribute value in the text form: `stride [2, 2]`, `act relu`, `beta 1.0`.
public enum AttrValue: Hashable, Sendable {
  case int(Int)
  case float(Float)
  case ints([Int])
  case floats([Float])
  case ident(String)
}

/// The text form of a kind's attributes and the way back. Every `OpKind` maps to a mnemonic
/// and an ordered attribute list, so printer and parser stay generic.
extension OpKind {
  public var attributes: [(String, AttrValue)] {
    switch self {
    case .conv2d(let w, let a):
      return Self.windowAttrs(w) + Self.actAttrs(a)
    case .depthwiseConv2d(let w, let m, let a):
      return Self.windowAttrs(w) + [("multiplier", .int(m))] + Self.actAttrs(a)
    case .fullyConnected(let a, let keep):
      return (keep ? [("keep_dims", .int(1))] : []) + Self.actAttrs(a)
    case .averagePool2d(let w, let fh, let fw, let a), .maxPool2d(let w, let fh, let fw, let a):
      return [("filter", .ints([fh, fw]))] + Self.windowAttrs(w) + Self.actAttrs(a)
    case .reshape(let s): return [("shape", .ints(s))]
    case .softmax(let b): return [("beta", .float(b))]
    case .add(let a), .sub(let a), .mul(let a), .div(let a): return Self.actAttrs(a)
    case .concat(let axis, let a): return [("axis", .int(axis))] + Self.actAttrs(a)
    case .pad(let p): return [("paddings", .ints(p))]
    case .mean(let axes, let keep): return [("axes", .ints(axes)), ("keep_dims", .int(keep ? 1 : 0))]
    case .clip(let lo, let hi): return [("min", .float(lo)), ("max", .float(hi))]
    case .leakyRelu(let alpha): return [("alpha", .float(alpha))]
    case .transpose(let p): return [("perm", .ints(p))]
    case .stridedSlice(let b, let e, let s):
      return [("begin", .ints(b)), ("end", .ints(e)), ("strides", .ints(s))]
    case .batchNorm(let eps): return [("epsilon", .float(eps))]
    case .hardSigmoid(let a, let b): return [("alpha", .float(a)), ("beta", .float(b))]
    case .logSoftmax, .quantize, .dequantize, .logistic, .tanh, .relu, .relu6, .hardSwish, .prelu:
      return []
    }
  }

  private static func windowAttrs(_ w: Window) -> [(String, AttrValue)] {
    var r: [(String, AttrValue)] = [("stride", .ints([w.strideH, w.strideW]))]
    if w.dilationH != 1 || w.dilationW != 1 { r.append(("dilation", .ints([w.dilationH, w.dilationW]))) }
    if !w.padding.isZero {
      let p = w.padding
      r.append(("pad", .ints([p.top, p.left, p.bottom, p.right])))
    }
    return r
  }

  private static func actAttrs(_ a: Activation) -> [(String, AttrValue)] {
    switch a {
    case .none: return []
    case .relu: return [("act", .ident("relu"))]
    case .relu6: return [("act", .ident("relu6"))]
    case .reluN1To1: return [("act", .ident("relu_n1_to_1"))]
    case .clip(let lo, let hi): return [("act", .floats([lo, hi]))]
    }
  }

  /// Builds a kind from its mnemonic and attributes; throws a message on anything unknown.
  public init(mnemonic: String, attributes: [String: AttrValue]) throws(IRError) {
    var attrs = attributes
    func take(_ key: String) -> AttrValue? { attrs.removeValue(forKey: key) }
    func int(_ key: String, default d: Int? = nil) throws(IRError) -> Int {
      switch take(key) {
      case .int(let v): return v
      case nil: if let d { return d }
      default: break
      }
      throw IRError("\(mnemonic): attribute '\(key)' must be an integer")
    }
    func float(_ key: String) throws(IRError) -> Float {
      switch take(key) {
      case .float(let v): return v
      case .int(let v): return Float(v)
      default: throw IRError("\(mnemonic): attribute '\(key)' must be a number")
      }
    }
    func ints(_ key: String, count: Int? = nil, default d: [Int]? = nil) throws(IRError) -> [Int] {
      switch take(key) {
      case .ints(let v) where count == nil || v.count == count: return v
      case nil: if let d { return d }
      default: break
      }
      throw IRError("\(mnemonic): attribute '\(key)' must be a list of \(count.map(String.init) ?? "") integers")
    }
    func act() throws(IRError) -> Activation {
      switch take("act") {
      case nil: return .none
      case .ident("relu"): return .relu
      case .ident("relu6"): return .relu6
      case .ident("relu_n1_to_1"): return .reluN1To1
      case .floats(let v) where v.count == 2: return .clip(v[0], v[1])
      default: throw IRError("\(mnemonic): unknown activation")
      }
    }
    func window() throws(IRError) -> Window {
      let s = try ints("stride", count: 2, default: [1, 1])
      let d = try ints("dilation", count: 2, default: [1, 1])
      let p = try ints("pad", count: 4, default: [0, 0, 0, 0])
      return Window(
        strideH: s[0], strideW: s[1], dilationH: d[0], dilationW: d[1],
        padding: Padding(top: p[0], left: p[1], bottom: p[2], right: p[3]))
    }
    let kind: OpKind
    switch mnemonic {
    case "conv2d": kind = .conv2d(try window(), try act())
    case "depthwise_conv2d":
      kind = .depthwiseConv2d(try window(), depthMultiplier: try int("multiplier"), try act())
    case "fully_connected":
      kind = .fullyConnected(try act(), keepNumDims: try int("keep_dims", default: 0) != 0)
    case "average_pool2d", "max_pool2d":
      let f = try ints("filter", count: 2)
      let w = try window()
      let a = try act()
      kind =
        mnemonic == "max_pool2d"
        ? .maxPool2d(w, filterH: f[0], filterW: f[1], a) : .averagePool2d(w, filterH: f[0], filterW: f[1], a)
    case "reshape": kind = .reshape(shape: try ints("shape"))
    case "softmax": kind = .softmax(beta: try float("beta"))
    case "log_softmax": kind = .logSoftmax
    case "add": kind = .add(try act())
    case "sub": kind = .sub(try act())
    case "mul": kind = .mul(try act())
    case "div": kind = .div(try act())
    case "concat": kind = .concat(axis: try int("axis"), try act())
    case "pad": kind = .pad(paddings: try ints("paddings"))
    case "mean": kind = .mean(axes: try ints("axes"), keepDims: try int("keep_dims") != 0)
    case "quantize": kind = .quantize
    case "dequantize": kind = .dequantize
    case "logistic": kind = .logistic
    case "tanh": kind = .tanh
    case "relu": kind = .relu
    case "relu6": kind = .relu6
    case "clip": kind = .clip(min: try float("min"), max: try float("max"))
    case "leaky_relu": kind = .leakyRelu(alpha: try float("alpha"))
    case "hard_swish": kind = .hardSwish
    case "transpose": kind = .transpose(perm: try ints("perm"))
    case "strided_slice":
      kind = .stridedSlice(begin: try ints("begin"), end: try ints("end"), strides: try ints("strides"))
    case "batch_norm": kind = .batchNorm(epsilon: try float("epsilon"))
    case "prelu": kind = .prelu
    case "hard_sigmoid": kind = .hardSigmoid(alpha: try float("alpha"), beta: try float("beta"))
    default: throw IRError("unknown op '\(mnemonic)'")
    }
    if let extra = attrs.keys.sorted().first {
      throw IRError("\(mnemonic): unknown attribute '\(extra)'")
    }
    self = kind
  }
}

/// An error about a graph: a parse error, a verifier finding, a shape rule that fails.
public struct IRError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
