import Foundation
import Interpreter
import Testing
import TinyIR

@testable import TinyPasses

@Suite struct FuseActivationsTests {
  typealias R = Rewrite

  static let float = """
    graph @f(%x: 1x4x4x2xf32, %z: 1x4x4x2xf32) -> (1x4x4x2xf32) {
      %w = const 2x1x1x2xf32 dense<\(R.hex([1, -2, 0.5, 3]))>
      %c = conv2d(%x, %w) {stride [1, 1]} : 1x4x4x2xf32 loc(onnx "conv")
      %r = clip(%c) {min 0.0, max 6.0} : 1x4x4x2xf32 loc(onnx "clip")
      %a = add(%r, %z) : 1x4x4x2xf32 loc(onnx "add")
      %b = relu(%a) : 1x4x4x2xf32 loc(onnx "relu")
      %p = max_pool2d(%b) {filter [2, 2], stride [1, 1]} : 1x3x3x2xf32 loc(onnx "pool")
      %q = clip(%p) {min -0.5, max 2.0} : 1x3x3x2xf32 loc(onnx "clip2")
      %s = relu6(%q) : 1x3x3x2xf32 loc(onnx "relu6")
      %t = reshape(%s) {shape [1, 18]} : 1x18xf32 loc(onnx "reshape")
      %u = relu(%t) : 1x18xf32 loc(onnx "relu_after_reshape")
      %v = reshape(%u) {shape [1, 3, 3, 2]} : 1x3x3x2xf32 loc(onnx "back")
      %o = pad(%v) {paddings [0, 0, 0, 1, 0, 1, 0, 0]} : 1x4x4x2xf32 loc(onnx "pad")
      return %o
    }

    """

  @Test func floatActivationsFuseIntoTheirProducers() throws {
    // clip [0, 6] is relu6; clip [-0.5, 2] then relu6 intersect to clip [0, 2]; a relu after a
    // reshape has no producer to fuse into.
    let after = """
      graph @f(%x: 1x4x4x2xf32, %z: 1x4x4x2xf32) -> (1x4x4x2xf32) {
        %w = const 2x1x1x2xf32 dense<\(R.hex([1, -2, 0.5, 3]))>
        %r = conv2d(%x, %w) {stride [1, 1], act relu6} : 1x4x4x2xf32 loc(onnx "clip")
        %b = add(%r, %z) {act relu} : 1x4x4x2xf32 loc(onnx "relu")
        %s = max_pool2d(%b) {filter [2, 2], stride [1, 1], act [0.0, 2.0]} : 1x3x3x2xf32 loc(onnx "relu6")
        %t = reshape(%s) {shape [1, 18]} : 1x18xf32 loc(onnx "reshape")
        %u = relu(%t) : 1x18xf32 loc(onnx "relu_after_reshape")
        %v = reshape(%u) {shape [1, 3, 3, 2]} : 1x3x3x2xf32 loc(onnx "back")
        %o = pad(%v) {paddings [0, 0, 0, 1, 0, 1, 0, 0]} : 1x4x4x2xf32 loc(onnx "pad")
        return %o
      }

      """
    #expect(try R.run(fuseActivations, on: Self.float) == after)
  }

  @Test func fusingPreservesFloatOutputs() throws {
    let g = try Parser.parse(Self.float)
    var fused = g
    try PassManager([fuseActivations]).run(&fused)
    #expect(fused.ops.count == g.ops.count - 4)
    var rng = R.Numbers(seed: 3)
    for _ in 0..<5 {
      let x = R.randomInputs(g, &rng, -3, 3)
      let d = R.maxDifference(try Interpreter(g).run(x)[0], try Interpreter(fused).run(x)[0])
      #expect(d <= 1e-5, "largest difference \(d)")
    }
  }

  @Test func notFusedWhenTheProducerHasAnotherUser() throws {
    let text = """
      graph @f(%x: 1x4xf32, %y: 1x4xf32) -> (1x4xf32, 1x4xf32) {
        %a = add(%x, %y) : 1x4xf32 loc(onnx "add")
        %r = relu(%a) : 1x4xf32 loc(onnx "relu")
        return %r, %a
      }

      """
    #expect(try R.run(fuseActivations, on: text) == text)
  }

  static let quantized = """
    graph @q(%x: 1x4xi8 q(0.1, -3), %y: 1x4xi8 q(0.1, -3)) -> (1x4xi8 q(0.2, -128)) {
      %a = add(%x, %y) : 1x4xi8 q(0.2, -128) loc(tflite:op 0 "add")
      %r = relu(%a) : 1x4xi8 q(0.2, -128) loc(tflite:op 1 "relu")
      return %r
    }

    """

  @Test func quantizedActivationWithTheSameQuantizationFuses() throws {
    let after = """
      graph @q(%x: 1x4xi8 q(0.1, -3), %y: 1x4xi8 q(0.1, -3)) -> (1x4xi8 q(0.2, -128)) {
        %r = add(%x, %y) {act relu} : 1x4xi8 q(0.2, -128) loc(tflite:op 1 "relu")
        return %r
      }

      """
    #expect(try R.run(fuseActivations, on: Self.quantized) == after)
    // Bit-exact on every int8 input pair of a sweep.
    let g = try Parser.parse(Self.quantized)
    let fused = try Parser.parse(after)
    for k in stride(from: -128, to: 128, by: 4) {
      let x = NDArray(shape: [1, 4], int8s: [Int8(k), Int8(k / 2), 0, Int8(-k / 3)])
      let y = NDArray(shape: [1, 4], int8s: [Int8(-k / 4), 7, Int8(k), -100])
      #expect(try Interpreter(g).run([x, y]) == Interpreter(fused).run([x, y]))
    }
  }

  @Test func quantizedActivationThatRequantizesStays() throws {
    let text = Self.quantized.replacingOccurrences(
      of: "%r = relu(%a) : 1x4xi8 q(0.2, -128)", with: "%r = relu(%a) : 1x4xi8 q(0.1, -128)"
    ).replacingOccurrences(of: "-> (1x4xi8 q(0.2, -128))", with: "-> (1x4xi8 q(0.1, -128))")
    #expect(text != Self.quantized)
    #expect(try R.run(fuseActivations, on: text) == text)
  }
}
