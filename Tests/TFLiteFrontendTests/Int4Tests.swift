import Foundation
import Testing
import TinyIR

@testable import TFLiteFrontend

/// INT4 weights (Examples/int4_cnn.tflite, made by scripts/make_int4_examples.py): TFLite packs
/// them two per byte, low nibble first, dense over the tensor; they import as packed `i4`
/// constants. Their numerics against TFLite Micro are checked layer by layer in
/// InterpreterTests' ExampleLayerTests; here the import itself and hostile variants.
@Suite struct Int4Tests {
  static func model() throws -> [UInt8] {
    try #require(Paths.bytes(Paths.examples.appendingPathComponent("int4_cnn.tflite")))
  }

  @Test func weightsImportAsPackedI4() throws {
    let g = try importTFLite(try Self.model(), fileName: "int4_cnn.tflite")
    let weighted = g.ops.filter {
      switch $0.kind {
      case .conv2d, .depthwiseConv2d, .fullyConnected: return true
      default: return false
      }
    }
    #expect(weighted.count == 4)
    // (shape, quantization axis, number of scales, packed bytes) of each weight tensor, in op order.
    let expected: [([Int], Int?, Int, Int)] = [
      ([7, 3, 3, 3], 0, 7, 95), ([1, 3, 3, 7], 3, 7, 32), ([16, 1, 1, 7], 0, 16, 56), ([6, 16], nil, 1, 48),
    ]
    for (op, (shape, axis, scales, bytes)) in zip(weighted, expected) {
      let w = op.inputs[1]
      let t = g.type(of: w)
      #expect(t.elementType == .i4 && t.shape == shape)
      #expect(t.quantization?.axis == axis && t.quantization?.scales.count == scales)
      #expect(t.quantization?.zeroPoints.allSatisfy { $0 == 0 } == true)
      let c = try #require(g.constants[w])
      #expect(c.bytes.count == bytes)
      // The values use the whole 4-bit range the script wrote (-8 only where the largest
      // magnitude is negative) and unpack within it.
      let values = NDArray(shape: shape, elementType: .i4, bytes: c.bytes).integers
      #expect(values.count == shape.reduce(1, *))
      #expect(values.allSatisfy { (-8...7).contains($0) })
    }
    // Odd counts: conv0's 189 values end in the low nibble of byte 94; filter 1 starts at
    // element 27, the high nibble of byte 13.
    let c0 = try #require(g.constants[weighted[0].inputs[1]])
    let v0 = NDArray(shape: [189], elementType: .i4, bytes: c0.bytes).integers
    let hi13 = Int(c0.bytes[13] >> 4)
    #expect(v0[27] == (hi13 >= 8 ? hi13 - 16 : hi13))
    let lo94 = Int(c0.bytes[94] & 15)
    #expect(v0[188] == (lo94 >= 8 ? lo94 - 16 : lo94))
    #expect(g.constantBytes == 95 + 32 + 56 + 48 + 4 * (7 + 7 + 16 + 6))
  }

  // MARK: Hostile variants, one thing wrong at a time.

  func expectError(
    _ text: String, at position: TFLiteError.Position,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ change: (inout [UInt8], ModelMap) throws -> Void
  ) throws {
    var bytes = try Self.model()
    let map = try ModelMap(bytes)
    try change(&bytes, map)
    switch attempt(bytes, "int4.tflite") {
    case .graph: Issue.record("imported fine, expected '\(text)'", sourceLocation: sourceLocation)
    case .otherError(let e): Issue.record("threw \(e)", sourceLocation: sourceLocation)
    case .error(let e):
      #expect(e.description.hasPrefix("int4.tflite: \(text)"), "\(e)", sourceLocation: sourceLocation)
      #expect(e.position == position, "\(e)", sourceLocation: sourceLocation)
      let oneLine = !e.description.contains(where: \.isNewline)
      #expect(oneLine, sourceLocation: sourceLocation)
    }
  }

  func typeField(_ map: ModelMap, _ tensor: Int) throws -> Int {
    try #require(try map.tensors[tensor].field(Schema.Tensor.type, size: 1))
  }

  @Test func wrongBufferLengths() throws {
    // conv0's weights (tensor 8, buffer 9): 7x3x3x3 = 189 values need 95 bytes.
    try expectError(
      "buffer 9 has 94 bytes, but shape [7, 3, 3, 3] of INT4 needs 95 (two 4-bit values per byte, the last one padded)",
      at: .tensor(8)
    ) { b, m in b.put32(94, at: try #require(try m.vectorPosition(m.buffers[9], Schema.Buffer.data))) }
    // A shape that claims 4 input channels needs 7x3x3x4 / 2 = 126 bytes.
    try expectError("buffer 9 has 95 bytes, but shape [7, 3, 3, 4] of INT4 needs 126", at: .tensor(8)) { b, m in
      b.put32(4, at: try #require(try m.vectorPosition(m.tensors[8], Schema.Tensor.shape)) + 16)
    }
    // The same buffer read as INT8 is half the bytes it needs.
    try expectError("buffer 9 has 95 bytes, but shape [7, 3, 3, 3] of INT8 needs 189", at: .tensor(8)) { b, m in
      b[try typeField(m, 8)] = UInt8(Schema.TensorType.int8)
    }
  }

  @Test func int4OutsideWeights() throws {
    try expectError("INT4 is supported only for constant weights", at: .tensor(0)) { b, m in
      b[try typeField(m, 0)] = UInt8(Schema.TensorType.int4)
    }
    try expectError("INT4 is supported only for constant weights", at: .tensor(9)) { b, m in
      b[try typeField(m, 9)] = UInt8(Schema.TensorType.int4)
    }
    try expectError("reads INT4 tensor 7 as input 2; INT4 is supported only for the weights", at: .op(0, "CONV_2D")) {
      b, m in b[try typeField(m, 7)] = UInt8(Schema.TensorType.int4)
    }
    try expectError("has INT4 weights (tensor 8) without quantization scales", at: .op(0, "CONV_2D")) { b, m in
      let q = try #require(try m.tensors[8].table(Schema.Tensor.quantization, "q"))
      b.put32(0, at: try #require(try m.vectorPosition(q, Schema.Quantization.scale)))
    }
  }

  @Test func truncatedAndFlippedNeverCrash() throws {
    let bytes = try Self.model()
    var rejected = 0
    var cases = 0
    func check(_ b: [UInt8], _ what: String) {
      cases += 1
      switch attempt(b) {
      case .graph: break
      case .error(let e):
        rejected += 1
        if e.description.contains(where: \.isNewline) { Issue.record("\(what): multi-line error \(e)") }
      case .otherError(let e): Issue.record("\(what): threw \(Swift.type(of: e)): \(e)")
      }
    }
    for n in 0..<bytes.count { check(Array(bytes[0..<n]), "truncated at \(n)") }
    #expect(rejected == bytes.count, "every truncation must be rejected")
    var rng = SplitMix64(seed: 0x1234_0004)
    for variant in 0..<300 {
      var b = bytes
      for _ in 0..<(1 + Int(rng.next() % 3)) { b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 + rng.next() % 255) }
      check(b, "variant \(variant)")
    }
    #expect(rejected > bytes.count)
  }
}
