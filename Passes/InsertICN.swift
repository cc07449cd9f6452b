import TinyIR

/// `insert-icn`: Integer Channel-Normalization (Rusci et al. 2020) for a batch norm after a
/// layer whose weights are already integers (a quantization-aware-trained graph: `dequantize`
/// of an integer constant → conv2d / depthwise_conv2d / fully_connected → batch_norm). The
/// batch norm goes into the layer's per-channel scales and bias and the integer weights stay
/// as trained: per output channel c, with σ_c = sqrt(var_c + ε),
///
///     S_w'[c] = S_w[c] · |γ_c| / σ_c                    (per-axis on the output-channel axis)
///     b'_c    = (b_c − μ_c) · γ_c / σ_c + β_c           (float; lower-qdq puts it on S_x·S_w'[c])
///
/// so that the int32 bias lower-qdq makes is B_c = round((b_c − μ_c + β_c·σ_c/γ_c) / (S_x·S_w[c]))
/// scaled by σ_c/|γ_c|, and the requantization of the integer layer is
/// `y = clamp(zp_y + M0_c·2^N0_c·(Φ_c + B_c))` with M0_c·2^N0_c = S_x·S_w'[c]/S_y: ICN as
/// TFLite's per-channel path computes it. A channel with γ_c < 0 gets its integer weights
/// negated (then its scale stays positive); that is exact on the narrow symmetric grid, and
/// the lowest code of the type (−128, −8, −2), whose negation does not fit, becomes the highest
/// (127, 7, 1): one step off on that weight. `fold-batchnorm` would instead requantize the
/// weights, which loses what quantization-aware training fitted them to; the pipeline runs
/// this pass first. Before:
///
///     %w = const 2x1x1x1xi8 q(0.5, 0) dense<…>
///     %wd = dequantize(%w) : 2x1x1x1xf32
///     %c = conv2d(%x, %wd, %b) {stride [1, 1]} : 1x4x4x2xf32 loc(onnx "conv")
///     %y = batch_norm(%c, %gamma, %beta, %mean, %var) {epsilon 0.001} : 1x4x4x2xf32 loc(onnx "bn")
///
/// after (γ = [2, −1], σ = [1, 0.5]):
///
///     %w = const 2x1x1x1xi8 q(axis 0, [1, 1], [0, 0]) dense<…channel 1 negated…>
///     %wd = dequantize(%w) : 2x1x1x1xf32
///     %b_icn = const 2xf32 dense<…b'…>
///     %y = conv2d(%x, %wd, %b_icn) {stride [1, 1]} : 1x4x4x2xf32 loc(onnx "bn")
///
/// The layer must have no fused activation and the batch norm must be its only reader, with
/// constant parameters. Weights or dequantizes other ops also read are copied, not changed.
public let insertICN = Pass("insert-icn") { graph, options in
  try rejectOptions(options, pass: "insert-icn")
  graph.insertICN()
}

extension Graph {
  fileprivate mutating func insertICN() {
    var removed = Set<Int>()
    var touched: [ValueID] = []
    var i = 0
    while i < ops.count {
      defer { i += 1 }
      guard case .batchNorm(let epsilon) = ops[i].kind, ops[i].inputs.count == 5 else { continue }
      let definers = definingOps()
      let uses = useCounts()
      guard let p = definers[ops[i].inputs[0]], !removed.contains(p), ops[p].kind.activation == Activation.none,
        let axis = ops[p].kind.weightChannelAxis, ops[p].outputs.count == 1, ops[p].inputs.count >= 2,
        uses[ops[i].inputs[0], default: 0] == 1,
        let d = definers[ops[p].inputs[1]], ops[d].kind == .dequantize,
        let w = ops[d].inputs.first, isConstant(w), type(of: w).elementType.isInteger,
        let qw = type(of: w).quantization, qw.zeroPoints.allSatisfy({ $0 == 0 }), qw.axis == nil || qw.axis == axis
      else { continue }
      let wShape = type(of: w).shape
      let channels = wShape[axis]
      let params = ops[i].inputs[1...].map { floatConstant($0) }
      guard params.allSatisfy({ $0?.count == channels }), let ints = integerConstant(w) else { continue }
      let (gamma, beta, mean, variance) = (params[0] ?? [], params[1] ?? [], params[2] ?? [], params[3] ?? [])
      var bias = [Double](repeating: 0, count: channels)
      if ops[p].inputs.count > 2 {
        guard let b = realValues(ops[p].inputs[2]), b.count == channels else { continue }
        bias = b
      }
      let sigma = (0..<channels).map { (Double(variance[$0]) + Double(epsilon)).squareRoot() }
      let factor = (0..<channels).map { Double(gamma[$0]) / sigma[$0] }
      guard factor.allSatisfy({ $0 != 0 && $0.isFinite }) else { continue }
      let scales = (0..<channels).map { c in Float(Double(qw.isPerAxis ? qw.scales[c] : qw.scale) * abs(factor[c])) }
      guard scales.allSatisfy({ $0 > 0 && $0.isFinite }) else { continue }
      // Integer weights, channels with γ < 0 negated (the lowest code saturates to the highest).
      let range = type(of: w).elementType.integerRange
      let inner = wShape[(axis + 1)...].reduce(1, *)
      let newInts = ints.indices.map { k in
        factor[(k / inner) % channels] < 0 ? min(-ints[k], range.upperBound) : ints[k]
      }
      let newBias = (0..<channels).map { c in Float((bias[c] - Double(mean[c])) * factor[c] + Double(beta[c])) }

      var wt = type(of: w)
      wt.quantization = Quantization(scales: scales, zeroPoints: Array(repeating: 0, count: channels), axis: axis)
      let wBytes = NDArray.pack(newInts, as: wt.elementType, shape: wShape).bytes
      let dequantized: ValueID
      if uses[w, default: 0] == 1 && uses[ops[d].outputs[0], default: 0] == 1 {
        self[w].type = wt
        constants[w] = ConstantData(wBytes)
        dequantized = ops[d].outputs[0]
      } else {
        let nw = addConstant(name: freshName(self[w].name + "_icn"), type: wt, bytes: wBytes)
        let old = ops[d].outputs[0]
        let nd = addValue(name: freshName(self[old].name + "_icn"), type: type(of: old))
        ops.insert(Op(.dequantize, inputs: [nw], outputs: [nd], location: ops[d].location), at: p)
        removed = Set(removed.map { $0 >= p ? $0 + 1 : $0 })
        i += 1
        dequantized = nd
      }
      let p2 = ops.firstIndex { $0.outputs == [ops[i].inputs[0]] } ?? p
      let b = addConstant(
        name: freshName(self[w].name + "_bias_icn"), type: TensorType([channels], .f32),
        bytes: NDArray.floatBytes(newBias))
      touched += ops[p2].inputs[1...] + ops[i].inputs[1...]
      ops[p2].inputs = [ops[p2].inputs[0], dequantized, b]
      ops[p2].outputs = ops[i].outputs
      ops[p2].location = ops[i].location
      removed.insert(i)
    }
    guard !removed.isEmpty else { return }
    removeOps(removed)
    // The old weights' and bias's dequantizes, and their constants, when nothing reads them.
    let uses = useCounts()
    let dead = Set(
      ops.indices.filter { k in
        ops[k].kind == .dequantize && touched.contains(ops[k].outputs[0]) && uses[ops[k].outputs[0], default: 0] == 0
      })
    touched += dead.flatMap { ops[$0].inputs }
    removeOps(dead)
    dropUnusedConstants(among: touched)
  }

  /// Real values of a float constant or of `dequantize(integer constant)`.
  fileprivate func realValues(_ v: ValueID) -> [Double]? {
    if let f = floatConstant(v) { return f.map(Double.init) }
    guard let d = definingOps()[v], ops[d].kind == .dequantize, let c = ops[d].inputs.first,
      let ints = integerConstant(c), let q = type(of: c).quantization
    else { return nil }
    let inner = q.axis.map { type(of: c).shape[($0 + 1)...].reduce(1, *) } ?? 1
    return ints.indices.map { k in
      let j = q.axis.map { a in (k / inner) % type(of: c).shape[a] } ?? 0
      return Double(q.scales[j]) * Double(ints[k] - q.zeroPoints[j])
    }
  }
}
