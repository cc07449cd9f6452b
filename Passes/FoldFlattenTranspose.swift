import TinyIR

/// `fold-flatten-transpose`: the transpose an NCHW model puts before its Flatten (so that the
/// fully connected layer reads channels first) moves into that layer's weights. The reshape
/// then flattens the NHWC tensor as it lies, and the weight columns are permuted once, at
/// compile time, into the order the NHWC elements arrive in. The transposed copy of the
/// feature map disappears: no op, no second buffer of the tensor's size in the arena (on
/// burn_mnist it was the peak: 11,616 B transposed into another 11,616 B). Before:
///
///     %t = transpose(%x) {perm [0, 3, 1, 2]} : 1x2x2x3xi8 q(0.5, 1) loc(onnx "Flatten")
///     %f = reshape(%t) {shape [1, 12]} : 1x12xi8 q(0.5, 1) loc(onnx "Flatten")
///     %y = fully_connected(%f, %w, %b) : 1x4xi8 q(0.25, 0) loc(onnx "fc")
///
/// after (`%w` now holds column `src[j]` where it held column `j`, `src` being the transpose's
/// source index of element `j`; the reshape's result is no longer the model's Flatten output,
/// so its location names this pass):
///
///     %f = reshape(%x) {shape [1, 12]} : 1x12xi8 q(0.5, 1) loc(fold-flatten-transpose "Flatten")
///     %y = fully_connected(%f, %w, %b) : 1x4xi8 q(0.25, 0) loc(onnx "fc")
///
/// Why it is exact: each output is Σ_j w[o][j]·t[j] = Σ_i w'[o][i]·x[i] with the same products;
/// integer sums do not depend on their order (int32 accumulation wraps the same either way),
/// so the integer graph's results are bit-identical. Float sums do depend on the order, so
/// only integer (quantized) weights are rewritten; per-output-channel quantization (axis 0) is
/// untouched by a column permutation. It applies when the transpose keeps the batch
/// dimension first, the batch is 1, the transposed value feeds only the reshape, the reshape
/// feeds only the fully connected layer's input, and the weights are an integer constant.
public let foldFlattenTranspose = Pass("fold-flatten-transpose") { graph, options in
  try rejectOptions(options, pass: "fold-flatten-transpose")
  graph.foldFlattenTransposes()
}

extension Graph {
  fileprivate mutating func foldFlattenTransposes() {
    var removed = Set<Int>()
    while let (t, r, fc) = nextFoldableFlatten(excluding: removed) {
      let x = ops[t].inputs[0]
      guard case .transpose(let perm) = ops[t].kind else { return }
      let w = ops[fc].inputs[1]
      let wt = type(of: w)
      guard let values = integerConstant(w) else { return }
      let rows = wt.shape[0]
      let cols = wt.shape[1]
      let src = permutationSourceIndices(shape: type(of: x).shape, perm: perm)
      var permuted = values
      for o in 0..<rows {
        for j in 0..<cols { permuted[o * cols + src[j]] = values[o * cols + j] }
      }
      let bytes = NDArray.pack(permuted, as: wt.elementType, shape: wt.shape).bytes
      if useCounts()[w, default: 0] == 1 {
        constants[w] = ConstantData(bytes)
      } else {
        let copy = addConstant(name: freshName(self[w].name + "_nhwc"), type: wt, bytes: bytes)
        ops[fc].inputs[1] = copy
      }
      ops[r].inputs[0] = x
      // The flattened value is no longer the source model's tensor (its elements are in NHWC
      // order), so it is this pass's: per-layer comparisons against the source skip it.
      ops[r].location = Location(source: "fold-flatten-transpose", name: ops[r].location.name)
      removed.insert(t)
    }
    removeOps(removed)
    dropUnusedConstants(among: Array(constants.keys))
  }

  /// A transpose → flatten → fully connected chain the pass can fold: (transpose, reshape, fc).
  private func nextFoldableFlatten(excluding removed: Set<Int>) -> (Int, Int, Int)? {
    let uses = useCounts()
    var readers: [ValueID: [Int]] = [:]
    for (i, op) in ops.enumerated() { for v in op.inputs { readers[v, default: []].append(i) } }
    for (t, op) in ops.enumerated() where !removed.contains(t) {
      guard case .transpose(let perm) = op.kind, perm.first == 0, op.inputs.count == 1, op.outputs.count == 1 else {
        continue
      }
      let x = op.inputs[0]
      let tv = op.outputs[0]
      let xt = type(of: x)
      guard xt.elementType.isInteger, xt.shape.first == 1, uses[tv, default: 0] == 1,
        let r = readers[tv]?.first, ops[r].kind.isView, ops[r].inputs.count == 1, ops[r].outputs.count == 1
      else { continue }
      let f = ops[r].outputs[0]
      guard type(of: f).shape == [1, xt.elementCount], uses[f, default: 0] == 1, let fc = readers[f]?.first,
        case .fullyConnected = ops[fc].kind, ops[fc].inputs.count >= 2, ops[fc].inputs[0] == f
      else { continue }
      let w = ops[fc].inputs[1]
      let wt = type(of: w)
      guard constants[w] != nil, wt.elementType.isInteger, wt.rank == 2, wt.shape[1] == xt.elementCount,
        wt.quantization?.axis ?? 0 == 0
      else { continue }
      return (t, r, fc)
    }
    return nil
  }
}
