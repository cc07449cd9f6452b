import Testing
import TinyIR

@testable import TinyPasses

@Suite struct EliminateDeadCodeTests {
  typealias R = Rewrite

  @Test func unusedOpsAndConstantsGo() throws {
    let before = """
      graph @g(%x: 1x4xf32, %unused_input: 1x4xf32) -> (1x4xf32) {
        %k = const 4xf32 dense<\(R.hex([1, 2, 3, 4]))>
        %j = const 4xf32 dense<\(R.hex([5, 6, 7, 8]))>
        %m = mul(%x, %k) : 1x4xf32 loc(onnx "m")
        %n = relu(%m) : 1x4xf32 loc(onnx "n")
        %y = add(%x, %j) : 1x4xf32 loc(onnx "y")
        return %y
      }

      """
    // The chain mul → relu dies as a whole; the graph input stays (it is the interface).
    let after = """
      graph @g(%x: 1x4xf32, %unused_input: 1x4xf32) -> (1x4xf32) {
        %j = const 4xf32 dense<\(R.hex([5, 6, 7, 8]))>
        %y = add(%x, %j) : 1x4xf32 loc(onnx "y")
        return %y
      }

      """
    #expect(try R.run(eliminateDeadCode, on: before) == after)
  }

  @Test func aGraphWithNoDeadCodeIsUnchanged() throws {
    let text = """
      graph @g(%x: 1x4xf32) -> (1x4xf32, 1x4xf32) {
        %k = const 4xf32 dense<\(R.hex([1, 2, 3, 4]))>
        %m = mul(%x, %k) : 1x4xf32 loc(onnx "m")
        %n = relu(%m) : 1x4xf32 loc(onnx "n")
        return %n, %m
      }

      """
    #expect(try R.run(eliminateDeadCode, on: text) == text)
    #expect(throws: PassError.self) { try R.run(eliminateDeadCode, options: ["x": "1"], on: text) }
  }
}
