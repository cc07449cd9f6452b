import Foundation
import Interpreter
import Testing
import TinyIR
import TinyPasses

/// Helpers shared by the rewriting-pass tests (fold-batchnorm, fuse-activations, fold-constants,
/// eliminate-dead-code, quantize, lower-qdq).
enum Rewrite {
  /// The `dense<…>` body of f32 values (little-endian hex), for writing test graphs by hand.
  static func hex(_ floats: [Float]) -> String { hexBytes(NDArray(shape: [floats.count], floats: floats).bytes) }

  /// The `dense<…>` body of int8 codes.
  static func hex(int8 values: [Int]) -> String { hexBytes(values.map { UInt8(bitPattern: Int8($0)) }) }

  /// The `dense<…>` body of int32 codes.
  static func hex(int32 values: [Int32]) -> String { hexBytes(NDArray(shape: [values.count], int32s: values).bytes) }

  static func hexBytes(_ b: [UInt8]) -> String {
    b.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
  }

  /// Parses and verifies `text`, runs `pass` with `options` through a pass manager (which
  /// verifies the result), and returns the printed result.
  static func run(_ pass: Pass, options: [String: String] = [:], on text: String) throws -> String {
    var g = try Parser.parse(text)
    try Verifier.verify(g)
    try PassManager([pass.with(options: options)]).run(&g)
    return Printer().print(g)
  }

  /// Deterministic pseudo-random floats in [lo, hi) (a 64-bit LCG; tests need no quality).
  struct Numbers {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next(_ lo: Float = -1, _ hi: Float = 1) -> Float {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return lo + (hi - lo) * Float(state >> 40) / Float(1 << 24)
    }
    mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] { (0..<n).map { _ in next(lo, hi) } }
  }

  /// Random float inputs for every graph input.
  static func randomInputs(_ g: Graph, _ rng: inout Numbers, _ lo: Float = -1, _ hi: Float = 1) -> [NDArray] {
    g.inputs.map { NDArray(shape: g.type(of: $0).shape, floats: rng.floats(g.type(of: $0).elementCount, lo, hi)) }
  }

  /// Largest absolute difference between two float arrays of the same size.
  static func maxDifference(_ a: NDArray, _ b: NDArray) -> Float {
    #expect(a.count == b.count)
    return zip(a.floats, b.floats).map { abs($0 - $1) }.max() ?? 0
  }

  /// Real values of an int8 array under per-tensor quantization.
  static func dequantized(_ a: NDArray, _ q: Quantization) -> [Float] {
    a.integers.map { q.scale * Float($0 - q.zeroPoint) }
  }

  /// Codes of real values under per-tensor int8 quantization (round half away, clamp).
  static func quantized(_ x: [Float], _ q: Quantization, shape: [Int]) -> NDArray {
    NDArray(
      shape: shape,
      int8s: x.map { Int8(max(-128, min(127, Int(($0 / q.scale).rounded(.toNearestOrAwayFromZero)) + q.zeroPoint))) })
  }

  static func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] } ?? 0 }

  /// The repository root (two levels above this file's folder).
  static var repoRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }
}

extension Rewrite {
  /// Writes a float32 `.npy` file (format 1.0, C order).
  static func writeNpy(_ floats: [Float], shape: [Int], to path: String) throws {
    try Npy.write(NDArray(shape: shape, floats: floats), path: path)
  }

  /// A fresh empty temporary folder.
  static func temporaryFolder(_ name: String) throws -> String {
    let path = NSTemporaryDirectory() + "tinyc-\(name)-\(UInt64.random(in: 0..<UInt64.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }
}
