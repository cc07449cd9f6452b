import TinyIR

/// The graph-rewriting passes, in the order a float or QDQ model wants them: constants folded
/// (dequantized weights stay integer), layout changes that cancel out removed (the 1-D ops of
/// ONNX models), batch norms after layers with integer weights moved into their per-channel
/// scales (`insert-icn`, so that QAT weights stay as trained), other batch norms folded and activations fused into their
/// producers (also in QDQ graphs, where they sit between a float op and its quantize), then
/// `lower-qdq` (QDQ graphs become integer graphs; float graphs are left alone), dead code
/// removed, and `quantize` for float models (it needs `calibration=PATH`). Run them with
/// `PassManager(pipeline:passes:)` (the driver's `PassCatalog` lists them all).
public let standardPasses: [Pass] = [
  foldConstants, cancelTransposes, insertICN, foldBatchNorm, fuseActivations, lowerQDQ, eliminateDeadCode, quantize,
]

/// Throws when a pass that takes no options is given some.
func rejectOptions(_ options: [String: String], pass: String) throws {
  if let key = options.keys.sorted().first {
    throw PassError("\(pass) takes no options, got '\(key)'")
  }
}

/// Throws when `options` holds a key outside `known`, naming the keys the pass accepts.
func checkOptionKeys(_ options: [String: String], pass: String, known: [String]) throws {
  for key in options.keys.sorted() where !known.contains(key) {
    throw PassError("\(pass): unknown option '\(key)' (known: \(known.joined(separator: ", ")))")
  }
}

// MARK: - Queries and edits shared by the rewriting passes

extension Graph {
  /// How many times each value is read: by ops (once per operand slot) and as a graph output.
  func useCounts() -> [ValueID: Int] {
    var n: [ValueID: Int] = [:]
    for op in ops { for v in op.inputs { n[v, default: 0] += 1 } }
    for v in outputs { n[v, default: 0] += 1 }
    return n
  }

  /// Makes every op operand and graph output that reads `old` read `new` instead.
  mutating func replaceAllUses(of old: ValueID, with new: ValueID) {
    for i in ops.indices where ops[i].inputs.contains(old) {
      ops[i].inputs = ops[i].inputs.map { $0 == old ? new : $0 }
    }
    outputs = outputs.map { $0 == old ? new : $0 }
  }

  /// A value name not yet defined in the graph, made from `base`.
  func freshName(_ base: String) -> String {
    let taken = Set(values.map(\.name))
    if !taken.contains(base) { return base }
    var k = 1
    while taken.contains("\(base)_\(k)") { k += 1 }
    return "\(base)_\(k)"
  }

  /// The elements of a float constant, nil when `id` is not an f32 constant.
  func floatConstant(_ id: ValueID) -> [Float]? {
    guard let c = constants[id], type(of: id).elementType == .f32 else { return nil }
    return NDArray(shape: type(of: id).shape, elementType: .f32, bytes: c.bytes).floats
  }

  /// The elements of an integer constant (any integer type), nil when `id` is not one.
  func integerConstant(_ id: ValueID) -> [Int]? {
    guard let c = constants[id], type(of: id).elementType.isInteger else { return nil }
    return NDArray(shape: type(of: id).shape, elementType: type(of: id).elementType, bytes: c.bytes).integers
  }

  /// Removes the ops at the given indices.
  mutating func removeOps(_ indices: Set<Int>) {
    guard !indices.isEmpty else { return }
    ops = ops.enumerated().filter { !indices.contains($0.offset) }.map(\.element)
  }

  /// Drops those of `candidates` that are constants nobody reads any more.
  mutating func dropUnusedConstants(among candidates: some Sequence<ValueID>) {
    let uses = useCounts()
    for v in candidates where constants[v] != nil && uses[v, default: 0] == 0 {
      constants[v] = nil
    }
  }
}

extension NDArray {
  /// Little-endian f32 bytes of `floats`.
  static func floatBytes(_ floats: [Float]) -> [UInt8] {
    NDArray(shape: [floats.count], floats: floats).bytes
  }
}
