import TinyIR

/// How an ONNX tensor's data sits in its graph value.
enum Layout {
  /// Same shape and element order as the ONNX tensor.
  case plain
  /// The ONNX tensor is 4-D [N, C, H, W]; the value is [N, H, W, C].
  case nhwc
}

/// A runtime tensor: the graph value, the ONNX (logical) shape and the layout.
struct RValue {
  var id: ValueID
  var shape: [Int]
  var layout: Layout
}

/// DequantizeLinear of a constant, kept symbolic until a consumer asks for it in some
/// layout (so weights are permuted once, as quantized constants).
struct DQConst {
  var data: ONNXTensor
  var scales: [Float]
  var zeroPoints: [Int]
  /// Logical axis for per-axis quantization.
  var axis: Int?
  /// A sub-byte IR type for the codes (a QCDQ Clip), instead of the data type's own.
  var narrow: NarrowType? = nil
}

/// The IR type a clipped (QCDQ) tensor is held in, and the offset subtracted from its ONNX
/// codes and zero points.
struct NarrowType {
  var type: ElementType
  var shift: Int
}

enum Entry {
  case constant(ONNXTensor)
  case dq(DQConst)
  case value(RValue)
}

/// Converts one ONNX model to a TinyIR graph. Nodes are converted in topological order;
/// each ONNX tensor maps to an `Entry`: folded constants stay host-side until an op needs
/// them, runtime tensors carry a layout so that NCHW becomes NHWC at import.
///
/// Layout policy:
/// - A 4-D graph input that reaches a Conv / pool / BatchNormalization through element-wise
///   ops is taken as NCHW and becomes an NHWC graph input (`ONNXLayout.nchwAsNHWC`); other
///   inputs keep their shape. 4-D outputs still in NHWC are reported the same way.
/// - Element-wise ops keep their operand's layout; axis attributes (Concat, Softmax,
///   ReduceMean, Slice, Pad, per-axis Q/DQ) are remapped; constants are permuted on the host.
/// - Ops that need ONNX element order (Reshape, Flatten, Gemm, MatMul, ...) get a
///   `transpose` back to NCHW, or a `reshape` when C == 1 or H·W == 1 (same element order),
///   so a CNN ending in GlobalAveragePool → Flatten keeps no transpose.
/// - A Transpose node is composed with the tracked layout: when the composition is the
///   identity (tf2onnx's NHWC→NCHW Transpose in front of a Conv, which the NHWC conversion
///   would undo), no data moves and no op is emitted; otherwise a `transpose` op is emitted.
///   Transposes are never dropped on a guess.
/// - Conv weights OIHW become OHWI, depthwise (group == C_in) weights 1HW(C·m), Gemm/MatMul
///   weights [out, in], once, as constants (or as quantized constants + `dequantize` when
///   the ONNX weight is DequantizeLinear of an initializer).
/// - uint8 tensors become int8 (values and zero points − 128), uint4 become int4 (− 8), as
///   TFLite does; `ONNXIO.uint8AsInt8` says so for graph inputs and outputs.
final class Importer {
  let file: String
  let resolver: ExternalDataResolver?
  let options: ONNXImportOptions
  var g = Graph(name: "model")
  var opset = 0
  var entries: [String: Entry] = [:]
  var usedNames: Set<String> = []
  var node = Onnx_NodeProto()
  var nodeIndex = 0
  var inNode = false
  /// Integer values without quantization yet that must end up with the same one
  /// (a value and its reshapes/transposes).
  var links: [ValueID: [ValueID]] = [:]
  /// The quantization a raw integer value gets when nothing assigns one.
  var rawDefault: [ValueID: Quantization] = [:]
  var materialized: [String: ValueID] = [:]
  /// Clip results (QCDQ) of integer constants that a DequantizeLinear gives a sub-byte type.
  var narrowedConstants: [String: NarrowType] = [:]
  /// Sub-byte quantize results of QCDQ Clips: the offset from their ONNX codes.
  var narrowedValues: [ValueID: Int] = [:]
  /// The ONNX type of each QuantizeLinear result (the Clip bounds are codes of it).
  var onnxContainer: [ValueID: ONNXTensor.DataType] = [:]
  var converted: [String: ValueID] = [:]

  init(file: String, baseDirectory: String?, options: ONNXImportOptions) {
    self.file = file
    self.resolver = baseDirectory.map { ExternalDataResolver(baseDirectory: $0) }
    self.options = options
  }

  // MARK: errors

  func fail(_ reason: String) -> ONNXError {
    if inNode {
      let name = node.name.isEmpty ? (node.output.first ?? "") : node.name
      return ONNXError(file: file, node: name, opType: node.opType, reason: reason)
    }
    return ONNXError(file: file, reason: reason)
  }

  var location: Location {
    let name = node.name.isEmpty ? (node.output.first ?? "") : node.name
    return Location(source: "onnx", index: nodeIndex, name: name)
  }

  // MARK: the whole model

  func run(_ model: Onnx_ModelProto) throws -> (graph: Graph, info: ONNXImportInfo) {
    guard model.hasGraph else { throw fail("the model has no graph") }
    guard let os = model.opsetImport.first(where: { $0.domain == "" || $0.domain == "ai.onnx" }) else {
      throw fail("the model imports no default-domain opset")
    }
    guard os.version >= 1 && os.version <= 30 else { throw fail("unsupported opset version \(os.version)") }
    opset = Int(os.version)
    let graph = model.graph
    g.name = sanitize(graph.name.isEmpty ? "model" : graph.name, max: 40)

    for t in graph.initializer {
      do {
        entries[t.name] = .constant(try ONNXTensor.decode(t, what: "initializer '\(t.name)'", resolver: resolver))
      } catch {
        throw fail(error.text)
      }
    }
    for (name, t) in options.constantInputs { entries[name] = .constant(t) }

    let unsupported = graph.node.compactMap { n -> String? in
      let domainOK = n.domain.isEmpty || n.domain == "ai.onnx"
      guard !domainOK || !Self.supportedOperators.contains(n.opType) else { return nil }
      let name = n.name.isEmpty ? (n.output.first ?? "") : n.name
      return "node '\(name)' (\(domainOK ? "" : "domain '\(n.domain)' ")\(n.opType.isEmpty ? "no op_type" : n.opType))"
    }
    if !unsupported.isEmpty {
      throw fail("unsupported operators: " + unsupported.joined(separator: ", "))
    }
    let order = try topologicalOrder(graph)
    var info = ONNXImportInfo()
    info.opset = opset
    let runtimeInputs = graph.input.filter { entries[$0.name] == nil }
    try checkInputShapeNames(runtimeInputs.map(\.name))
    for vi in runtimeInputs {
      info.inputs.append(try addGraphInput(vi, graph))
    }

    for i in order {
      node = graph.node[i]
      nodeIndex = i
      inNode = true
      try convertNode()
      inNode = false
    }
    inNode = false

    for vi in graph.output {
      guard let e = entries[vi.name] else {
        throw fail("graph output '\(vi.name)' is computed by no node")
      }
      var v: RValue
      switch e {
      case .value(let r): v = r
      default: v = try value(vi.name)
      }
      if v.layout == .nhwc && isCheap(v.shape) { v = try toPlain(v) }
      if g.outputs.contains(v.id) || g.inputs.contains(v.id) {
        // One value listed twice (or an input as output): give it its own op-free alias.
        v.id = try emitLike(.reshape(shape: g.type(of: v.id).shape), [v.id], from: v.id, name: vi.name)
      }
      g.outputs.append(v.id)
      let wasU8 = rawDefault[v.id]?.zeroPoint == -128 || isU8Origin(vi)
      let wasU4 = g.type(of: v.id).elementType == .i4 && vi.type.tensorType.elemType == ONNXTensor.DataType.uint4.rawValue
      info.outputs.append(
        ONNXIO(
          onnxName: vi.name, valueName: g[v.id].name, onnxShape: v.shape, layout: v.layout == .nhwc ? .nchwAsNHWC : .unchanged,
          uint8AsInt8: wasU8, uint4AsInt4: wasU4))
    }
    guard !g.outputs.isEmpty else { throw fail("the graph has no outputs") }
    for i in order {
      for (j, name) in graph.node[i].output.enumerated() where !name.isEmpty {
        guard case .value(let r)? = entries[name], r.id.index < g.values.count else { continue }
        let io = ONNXIO(
          onnxName: name, valueName: g[r.id].name, onnxShape: r.shape, layout: r.layout == .nhwc ? .nchwAsNHWC : .unchanged,
          uint8AsInt8: false)
        info.nodeOutputs.append(ONNXNodeOutput(node: i, output: j, io: io))
      }
    }
    finishQuantization()
    if options.verify {
      do {
        try Verifier.verify(g)
      } catch {
        throw fail("the imported graph does not verify: \(error.message)")
      }
    }
    return (g, info)
  }

  func isU8Origin(_ vi: Onnx_ValueInfoProto) -> Bool {
    vi.type.tensorType.elemType == ONNXTensor.DataType.uint8.rawValue
  }

  /// Kahn's algorithm, keeping the file's order among ready nodes.
  func topologicalOrder(_ graph: Onnx_GraphProto) throws -> [Int] {
    var producer: [String: Int] = [:]
    let inputs = Set(graph.input.map(\.name))
    for (i, n) in graph.node.enumerated() {
      for o in n.output where !o.isEmpty {
        if producer[o] != nil || entries[o] != nil || inputs.contains(o) {
          node = n
          nodeIndex = i
          inNode = true
          throw fail("tensor '\(o)' is defined more than once")
        }
        producer[o] = i
      }
    }
    var pending = [Int](repeating: 0, count: graph.node.count)
    var consumers = [[Int]](repeating: [], count: graph.node.count)
    for (i, n) in graph.node.enumerated() {
      for name in Set(n.input) where !name.isEmpty {
        if let p = producer[name] {
          pending[i] += 1
          consumers[p].append(i)
        } else if entries[name] == nil && !inputs.contains(name) {
          node = n
          nodeIndex = i
          inNode = true
          throw fail("input '\(name)' is not defined (no initializer, graph input or node output)")
        }
      }
    }
    var ready = Set<Int>()
    for i in graph.node.indices where pending[i] == 0 { ready.insert(i) }
    var order: [Int] = []
    order.reserveCapacity(graph.node.count)
    var heap = ready.sorted(by: >)
    while let i = heap.popLast() {
      order.append(i)
      var added = false
      for c in consumers[i] {
        pending[c] -= 1
        if pending[c] == 0 {
          heap.append(c)
          added = true
        }
      }
      if added { heap.sort(by: >) }
    }
    if order.count != graph.node.count {
      let stuck = graph.node.indices.first { pending[$0] > 0 } ?? 0
      node = graph.node[stuck]
      nodeIndex = stuck
      inNode = true
      throw fail("the graph has a cycle through this node")
    }
    return order
  }

  /// A dimension's value, nil when symbolic: a dim_param, no value, or a dim_value of -1
  /// (Paddle's exports store the batch so). Other negative values stay, to be refused.
  static func declaredDimension(_ d: Onnx_TensorShapeProto.Dimension) -> Int? {
    if case .dimValue(let v) = d.value, v != -1 { return Int(clamping: v) }
    return nil
  }

  func addGraphInput(_ vi: Onnx_ValueInfoProto, _ graph: Onnx_GraphProto) throws -> ONNXIO {
    let tt = vi.type.tensorType
    guard let dt = ONNXTensor.DataType(rawValue: tt.elemType) else {
      throw fail("graph input '\(vi.name)' has unsupported element type \(tt.elemType)")
    }
    let (et, shift) = try irElement(dt, what: "graph input '\(vi.name)'")
    var shape: [Int]
    if let s = options.inputShapes[vi.name] ?? options.inputShapes[""] {
      shape = s
      if tt.hasShape {
        let declared = tt.shape.dim.map(Self.declaredDimension)
        let text = "[" + declared.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + "]"
        guard declared.count == s.count, zip(declared, s).allSatisfy({ $0.0 == nil || $0.0 == $0.1 }) else {
          throw fail("graph input '\(vi.name)': --input-shape \(s) does not fit the model's shape \(text)")
        }
      }
    } else {
      guard tt.hasShape else { throw fail("graph input '\(vi.name)' has no shape: give one with --input-shape") }
      shape = []
      for (i, d) in tt.shape.dim.enumerated() {
        if let v = Self.declaredDimension(d) {
          shape.append(v)
        } else {
          guard i == 0 else {
            throw fail("graph input '\(vi.name)' has a symbolic dimension at position \(i): give its shape with --input-shape")
          }
          shape.append(1)
        }
      }
    }
    try checkShape(shape, "graph input '\(vi.name)'")
    let spatial = feedsSpatialOp(vi.name, graph)
    // A 1-D input [N, C, L] comes channels-last, [N, L, C], as its 4-D counterpart does: the
    // transpose back to NCL here meets the one `spatialInput` adds and `cancel-transposes`
    // removes both.
    let nlc = shape.count == 3 && spatial && shape[1] > 1 && shape[2] > 1
    let layout: Layout = shape.count == 4 && spatial ? .nhwc : .plain
    let phys = nlc ? [shape[0], shape[2], shape[1]] : physical(shape, layout)
    let id = g.addInput(name: uniqueName(vi.name), type: TensorType(phys, et))
    if et.isInteger && et != .i32 { rawDefault[id] = Quantization(scale: 1, zeroPoint: -shift) }
    var entry = id
    if nlc {
      entry = try emitLike(.transpose(perm: [0, 2, 1]), [id], from: id, name: g[id].name + "_ncl")
      g.ops[g.ops.count - 1].location = Location(source: "onnx", name: vi.name)
    }
    entries[vi.name] = .value(RValue(id: entry, shape: shape, layout: layout))
    return ONNXIO(
      onnxName: vi.name, valueName: g[id].name, onnxShape: shape,
      layout: layout == .nhwc ? .nchwAsNHWC : nlc ? .nclAsNLC : .unchanged, uint8AsInt8: dt == .uint8, uint4AsInt4: dt == .uint4)
  }

  /// True when a 4-D input reaches a convolution or pool through layout-agnostic ops.
  func feedsSpatialOp(_ name: String, _ graph: Onnx_GraphProto) -> Bool {
    let passThrough: Set<String> = [
      "QuantizeLinear", "DequantizeLinear", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
      "PRelu", "Add", "Sub", "Mul", "Div", "Identity", "Dropout", "Cast",
    ]
    let spatial: Set<String> = [
      "Conv", "QLinearConv", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization",
    ]
    var seen: Set<String> = [name]
    var work = [name]
    while let t = work.popLast() {
      for n in graph.node where n.input.contains(t) {
        if spatial.contains(n.opType) && n.input.first == t { return true }
        if passThrough.contains(n.opType) {
          for o in n.output where !o.isEmpty && seen.insert(o).inserted { work.append(o) }
        }
      }
    }
    return false
  }

  /// Every name `inputShapes` gives is a graph input; an unnamed shape ("") needs exactly one.
  func checkInputShapeNames(_ names: [String]) throws {
    let list = names.map { "'\($0)'" }.joined(separator: ", ")
    for name in options.inputShapes.keys.sorted() {
      if name.isEmpty {
        guard names.count == 1 else {
          throw fail("--input-shape without a name needs a model with one input; this one has \(names.count): \(list)")
        }
      } else if !names.contains(name) {
        throw fail("--input-shape names '\(name)', which is not a graph input (inputs: \(list))")
      }
    }
  }

  func checkShape(_ shape: [Int], _ what: String) throws {
    var n = 1
    for d in shape {
      guard d > 0 else { throw fail("\(what): dimension \(d) in \(shape) is not positive") }
      let (m, o) = n.multipliedReportingOverflow(by: d)
      guard !o, m <= Verifier.maxElements else { throw fail("\(what): shape \(shape) is too large") }
      n = m
    }
  }

  /// The IR element type for an ONNX type, and the offset subtracted from values and zero
  /// points (uint8 → int8 by −128, uint4 → int4 by −8).
  func irElement(_ dt: ONNXTensor.DataType, what: String) throws -> (ElementType, Int) {
    switch dt {
    case .float, .double, .float16, .bfloat16: return (.f32, 0)
    case .int8: return (.i8, 0)
    case .uint8: return (.i8, 128)
    case .int16: return (.i16, 0)
    case .int32, .int64: return (.i32, 0)
    case .int4: return (.i4, 0)
    case .uint4: return (.i4, 8)
    default: throw fail("\(what): \(dt.name) tensors are not supported")
    }
  }

  // MARK: names

  func sanitize(_ name: String, max: Int = 48) -> String {
    // tf2onnx joins fused tensor names with ';': the last one names the result best.
    let s = name.split(separator: ";").last.map(String.init) ?? name
    var r = String(
      s.unicodeScalars.map { c -> Character in
        let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "."
        return ok ? Character(c) : "_"
      })
    if r.isEmpty { r = "v" }
    if r.count > max { r = String(r.suffix(max)) }
    if let f = r.first, f == "." { r = "v" + r }
    return r
  }

  func uniqueName(_ base: String) -> String {
    let b = sanitize(base)
    if usedNames.insert(b).inserted { return b }
    var k = 1
    while !usedNames.insert("\(b)_\(k)").inserted { k += 1 }
    return "\(b)_\(k)"
  }

  // MARK: layouts

  func physical(_ shape: [Int], _ layout: Layout) -> [Int] {
    layout == .nhwc && shape.count == 4 ? [shape[0], shape[2], shape[3], shape[1]] : shape
  }

  /// NCHW and NHWC hold the same element order when C == 1 or H·W == 1.
  func isCheap(_ s: [Int]) -> Bool { s.count == 4 && (s[1] == 1 || s[2] * s[3] == 1) }

  func toPlain(_ v: RValue) throws -> RValue {
    guard v.layout == .nhwc else { return v }
    let key = "plain|\(v.id.index)"
    if let id = converted[key] { return RValue(id: id, shape: v.shape, layout: .plain) }
    let name = g[v.id].name + "_nchw"
    let id =
      isCheap(v.shape)
      ? try emitLike(.reshape(shape: v.shape), [v.id], from: v.id, name: name)
      : try emitLike(.transpose(perm: [0, 3, 1, 2]), [v.id], from: v.id, name: name)
    converted[key] = id
    return RValue(id: id, shape: v.shape, layout: .plain)
  }

  func toNHWC(_ v: RValue) throws -> RValue {
    guard v.layout == .plain else { return v }
    guard v.shape.count == 4 else { throw fail("expected a 4-D tensor, got shape \(v.shape)") }
    let key = "nhwc|\(v.id.index)"
    if let id = converted[key] { return RValue(id: id, shape: v.shape, layout: .nhwc) }
    let name = g[v.id].name + "_nhwc"
    let id =
      isCheap(v.shape)
      ? try emitLike(.reshape(shape: physical(v.shape, .nhwc)), [v.id], from: v.id, name: name)
      : try emitLike(.transpose(perm: [0, 2, 3, 1]), [v.id], from: v.id, name: name)
    converted[key] = id
    return RValue(id: id, shape: v.shape, layout: .nhwc)
  }

  /// A value whose bytes are in the ONNX element order (no op when already so).
  func inLogicalOrder(_ v: RValue) throws -> ValueID {
    if v.layout == .plain || isCheap(v.shape) { return v.id }
    return try toPlain(v).id
  }

  /// Reshapes a value to a logical shape, choosing NHWC for 4-D results when that is free.
  func reshapeTo(_ v: RValue, _ shape: [Int], name: String) throws -> RValue {
    let src = try inLogicalOrder(v)
    let layout: Layout = isCheap(shape) ? .nhwc : .plain
    let phys = physical(shape, layout)
    if g.type(of: src).shape == phys { return RValue(id: src, shape: shape, layout: layout) }
    let id = try emitLike(.reshape(shape: phys), [src], from: src, name: name)
    return RValue(id: id, shape: shape, layout: layout)
  }

  // MARK: emitting ops

  func emit(_ kind: OpKind, _ inputs: [ValueID], _ et: ElementType, _ q: Quantization?, name: String) throws -> ValueID {
    let shapes: [[Int]]
    do {
      shapes = try kind.resultShapes(inputs.map { g.type(of: $0).shape })
    } catch {
      throw fail(error.message)
    }
    guard shapes.count == 1, let s = shapes.first else { throw fail("internal: \(kind.mnemonic) gives \(shapes.count) results") }
    try checkShape(s, "result of \(kind.mnemonic)")
    return g.addOp(kind, inputs: inputs, results: [(uniqueName(name), TensorType(s, et, q))], location: location)[0]
  }

  /// Emits an op whose result has the element type and quantization of `from` (raw integer
  /// values are linked so that they get the same quantization later).
  func emitLike(_ kind: OpKind, _ inputs: [ValueID], from: ValueID, name: String) throws -> ValueID {
    let t = g.type(of: from)
    var q = t.quantization
    if let pq = q, let axis = pq.axis {
      switch kind {
      case .transpose(let perm):
        guard let na = perm.firstIndex(of: axis) else { throw fail("internal: bad permutation") }
        q?.axis = na
      case .reshape(let shape) where shape.count == t.rank && shape == t.shape:
        break
      default:
        throw fail("a per-axis quantized tensor cannot go through \(kind.mnemonic) here")
      }
    }
    let id = try emit(kind, inputs, t.elementType, q, name: name)
    if q == nil && t.elementType.isInteger && t.elementType != .i32 {
      links[id, default: []].append(from)
      links[from, default: []].append(id)
      if let d = rawDefault[from] { rawDefault[id] = d }
    }
    return id
  }

  /// Gives a raw integer value (and everything linked to it) a quantization, or checks
  /// that it already has this one.
  func assignQuantization(_ id: ValueID, _ q: Quantization, reader: String) throws {
    if let have = g.type(of: id).quantization {
      guard have == q else {
        throw fail(
          "\(reader) reads %\(g[id].name) with scale(s) \(q.scales.prefix(4)), zero point(s) \(q.zeroPoints.prefix(4)), "
            + "but it has scale(s) \(have.scales.prefix(4)), zero point(s) \(have.zeroPoints.prefix(4))")
      }
      return
    }
    guard g.type(of: id).elementType.isInteger else { throw fail("\(reader) needs an integer tensor") }
    if q.isPerAxis && !(links[id] ?? []).isEmpty {
      throw fail("per-axis quantization of a reshaped or transposed integer tensor is not supported")
    }
    var work = [id]
    var seen: Set<ValueID> = [id]
    while let v = work.popLast() {
      if g[v].type.quantization == nil { g[v].type.quantization = q }
      for n in links[v] ?? [] where seen.insert(n).inserted { work.append(n) }
    }
  }

  func finishQuantization() {
    for i in g.values.indices {
      let t = g.values[i].type
      guard t.quantization == nil, t.elementType.isInteger, t.elementType != .i32 else { continue }
      let id = ValueID(i)
      try? assignQuantization(id, rawDefault[id] ?? Quantization(scale: 1, zeroPoint: 0), reader: "import")
    }
  }

  // MARK: constants and operands

  /// A constant's IR type and bytes (uint8 shifted to int8, int64 narrowed to int32).
  func constantValue(_ t: ONNXTensor, name: String, quant: Quantization? = nil, narrow: NarrowType? = nil) throws -> ValueID {
    var (et, shift) = try irElement(t.dataType, what: "constant '\(name)'")
    if let narrow { (et, shift) = (narrow.type, narrow.shift) }
    try checkShape(t.shape, "constant '\(name)'")
    let bytes: [UInt8]
    if et == .f32 {
      bytes = NDArray(shape: t.shape, floats: t.floats).bytes
    } else {
      let v = shift == 0 ? t.ints : t.ints.map { $0 - shift }
      guard v.allSatisfy({ et.integerRange.contains($0) }) else {
        throw fail("constant '\(name)' has values outside the range of \(et.rawValue)")
      }
      bytes = NDArray.pack(v, as: et, shape: t.shape).bytes
    }
    var q = quant
    if q == nil && et.isInteger && et != .i32 { q = Quantization(scale: 1, zeroPoint: -shift) }
    return g.addConstant(name: uniqueName(name), type: TensorType(t.shape, et, q), bytes: bytes)
  }

  func entry(_ name: String) throws -> Entry {
    guard let e = entries[name] else { throw fail("input '\(name)' is not defined") }
    return e
  }

  /// The constant behind a name, if it is one.
  func constant(_ name: String) -> ONNXTensor? {
    if case .constant(let t)? = entries[name] { return t }
    return nil
  }

  func requireConstant(_ name: String, _ what: String) throws -> ONNXTensor {
    guard let t = constant(name) else { throw fail("\(what) ('\(name)') must be a constant") }
    return t
  }

  /// A runtime value for any input (materializing constants in plain layout).
  func value(_ name: String) throws -> RValue {
    switch try entry(name) {
    case .value(let v): return v
    case .constant(let t):
      let id = try weight(name, perm: Array(0..<t.shape.count))
      return RValue(id: id, shape: t.shape, layout: .plain)
    case .dq(let d):
      let id = try weight(name, perm: Array(0..<d.data.shape.count))
      return RValue(id: id, shape: d.data.shape, layout: .plain)
    }
  }

  /// An operand with its logical data permuted (result dim i = dim perm[i]), optionally
  /// reshaped first: constants are permuted once, DequantizeLinear of a constant becomes a
  /// permuted quantized constant and a `dequantize`, runtime values get a `transpose`.
  func weight(_ name: String, reshape: [Int]? = nil, perm: [Int]) throws -> ValueID {
    let key = "\(name)|\(reshape ?? [])|\(perm)"
    if let id = materialized[key] { return id }
    let id: ValueID
    switch try entry(name) {
    case .constant(var t):
      if let r = reshape { t = t.reshaped(r) }
      guard perm.count == t.shape.count else { throw fail("internal: permutation rank") }
      id = try constantValue(t.transposed(perm), name: name)
    case .dq(var d):
      if let r = reshape {
        if let a = d.axis {
          // Only 1s may be added or removed (a 1-D conv's weights lifted to 2-D); the
          // quantized axis keeps its place among the other dimensions.
          let old = d.data.shape
          let pad = r.count - old.count
          if pad >= 0, Array(r.suffix(old.count)) == old {
            d.axis = a + pad
          } else if old[a] != 1, old.filter({ $0 != 1 }) == r.filter({ $0 != 1 }) {
            let k = old[..<a].filter { $0 != 1 }.count
            d.axis = r.indices.filter { r[$0] != 1 }[k]
          } else {
            throw fail("cannot reshape per-axis quantized '\(name)' from \(old) to \(r)")
          }
        }
        d.data = d.data.reshaped(r)
      }
      guard perm.count == d.data.shape.count else { throw fail("internal: permutation rank") }
      var (_, shift) = try irElement(d.data.dataType, what: "'\(name)'")
      if let n = d.narrow { shift = n.shift }
      var q = Quantization(scales: d.scales, zeroPoints: d.zeroPoints.map { $0 - shift }, axis: nil)
      if let a = d.axis { q.axis = perm.firstIndex(of: a) }
      let c = try constantValue(d.data.transposed(perm), name: name + "_q", quant: q, narrow: d.narrow)
      id = try emit(.dequantize, [c], .f32, nil, name: name)
    case .value(let v):
      var p = try toPlain(v)
      if let r = reshape, r != p.shape { p = try reshapeTo(p, r, name: name + "_r") }
      let src = try toPlain(p).id
      id =
        perm == Array(0..<perm.count)
        ? src : try emitLike(.transpose(perm: perm), [src], from: src, name: name + "_t")
    }
    materialized[key] = id
    return id
  }

  // MARK: attributes

  func attr(_ name: String) -> Onnx_AttributeProto? { node.attribute.first { $0.name == name } }

  func int(_ name: String, _ d: Int) throws -> Int {
    guard let a = attr(name) else { return d }
    guard a.type == .int || (a.type == .undefined && a.hasI) else { throw fail("attribute '\(name)' must be an int") }
    return Int(a.i)
  }

  func ints(_ name: String) throws -> [Int]? {
    guard let a = attr(name) else { return nil }
    guard a.type == .ints || a.type == .undefined else { throw fail("attribute '\(name)' must be a list of ints") }
    return a.ints.map { Int($0) }
  }

  func float(_ name: String, _ d: Float) throws -> Float {
    guard let a = attr(name) else { return d }
    guard a.type == .float || (a.type == .undefined && a.hasF) else { throw fail("attribute '\(name)' must be a float") }
    return a.f
  }

  func string(_ name: String, _ d: String) throws -> String {
    guard let a = attr(name) else { return d }
    guard a.type == .string || a.type == .undefined else { throw fail("attribute '\(name)' must be a string") }
    return String(decoding: a.s, as: UTF8.self)
  }

  /// Input i's name, or nil when absent or empty.
  func input(_ i: Int) -> String? {
    i < node.input.count && !node.input[i].isEmpty ? node.input[i] : nil
  }

  func requireInput(_ i: Int) throws -> String {
    guard let n = input(i) else { throw fail("input \(i) is missing") }
    return n
  }

  func output(_ i: Int = 0) throws -> String {
    guard i < node.output.count, !node.output[i].isEmpty else { throw fail("output \(i) is missing") }
    return node.output[i]
  }

  func normAxis(_ a: Int, rank: Int) throws -> Int {
    let r = a < 0 ? a + rank : a
    guard r >= 0 && r < max(rank, 1) else { throw fail("axis \(a) is out of range for rank \(rank)") }
    return r
  }
}
