import Foundation
import Testing
import TinyIR

@testable import TinyPasses

/// `mixed-precision` on a two-layer graph whose figures are worked out by hand: each tensor
/// 1x8x8x4 is 256 B at 8 bits; the arena holds two of them at each step (512 B); Flash is
/// 2·16 B of weights + 2·16 B of biases + 2·4·8 B of multipliers and shifts = 128 B.
@Suite struct MixedPrecisionTests {
  typealias R = Rewrite

  static let weights = [10, -20, 30, -40, 50, -60, 70, -80, 90, -100, 110, -120, 127, -1, 2, -3]
  static let weights2 = [-5, 15, -25, 35, 45, -55, 65, -75, 85, -95, 105, -115, 125, -127, 0, 7]

  static let graph = """
    graph @mp(%x: 1x8x8x4xi8 q(0.02, -128)) -> (1x8x8x4xi8 q(0.02, -128)) {
      %w = const 4x1x1x4xi8 q(axis 0, [0.01, 0.01, 0.01, 0.01], [0, 0, 0, 0]) dense<\(R.hex(int8: weights))>
      %b = const 4xi32 q(axis 0, [0.0002, 0.0002, 0.0002, 0.0002], [0, 0, 0, 0]) dense<\(R.hex(int32: [100, -210, 300, 7]))>
      %w2 = const 4x1x1x4xi8 q(axis 0, [0.01, 0.01, 0.01, 0.01], [0, 0, 0, 0]) dense<\(R.hex(int8: weights2))>
      %b2 = const 4xi32 q(axis 0, [0.0005, 0.0005, 0.0005, 0.0005], [0, 0, 0, 0]) dense<\(R.hex(int32: [170, -34, 0, 85]))>
      %a = conv2d(%x, %w, %b) {stride [1, 1], act relu} : 1x8x8x4xi8 q(0.05, -128) loc(tflite:op 0 "a")
      %y = conv2d(%a, %w2, %b2) {stride [1, 1], act relu} : 1x8x8x4xi8 q(0.02, -128) loc(tflite:op 1 "y")
      return %y
    }

    """

  static func figures(_ g: Graph) throws -> (flash: Int, ram: Int) {
    (FlashModel(g).total, try planMemory(g, strategy: .best).arenaBytes)
  }

  @Test func startingFiguresAreTheHandCountedOnes() throws {
    let f = try Self.figures(try Parser.parse(Self.graph))
    #expect(f.flash == 128 && f.ram == 512)
  }

  /// RAM 400 B: the peak (step 0: %x and %a) holds one tensor that may be cut, %a (not the model
  /// input); at 4 bits it covers the same [0, 12.75] with scale 0.85 and zero point −8, and the
  /// next layer's bias moves onto 0.85·0.01: B' = round(B·0.05/0.85) = [10, −2, 0, 5].
  @Test func ramBudgetCutsTheActivationLiveAtThePeak() throws {
    let expected = Self.graph
      .replacingOccurrences(of: ": 1x8x8x4xi8 q(0.05, -128)", with: ": 1x8x8x4xi4 q(0.85, -8)")
      .replacingOccurrences(
        of: "q(axis 0, [0.0005, 0.0005, 0.0005, 0.0005], [0, 0, 0, 0]) dense<\(R.hex(int32: [170, -34, 0, 85]))>",
        with: "q(axis 0, [0.0085, 0.0085, 0.0085, 0.0085], [0, 0, 0, 0]) dense<\(R.hex(int32: [10, -2, 0, 5]))>")
    let out = try R.run(mixedPrecision(), options: ["ram": "400"], on: Self.graph)
    #expect(out == Printer().print(try Parser.parse(expected)))
    // 128 + 256 at each step.
    #expect(try Self.figures(try Parser.parse(out)) == (128, 384))
  }

  /// Flash 120 B: %w and %w2 hold equal shares, the earlier one is halved (16 → 8 B), on a
  /// symmetric ±7 grid per channel; its own bias follows the new weight scales.
  @Test func flashBudgetHalvesTheEarlierOfEqualLayers() throws {
    let out = try Parser.parse(try R.run(mixedPrecision(), options: ["flash": "120"], on: Self.graph))
    #expect(try Self.figures(out) == (120, 512))
    let w = try #require(out.values.firstIndex { $0.name == "w" }.map(ValueID.init))
    let t = out.type(of: w)
    #expect(t.elementType == .i4 && t.quantization?.axis == 0)
    let q = try #require(t.quantization)
    let ints = try #require(out.integerConstant(w))
    #expect(ints.allSatisfy { (-7...7).contains($0) })
    // Every weight within half a step (or the clipping the scale search chose) of its real value.
    for (k, v) in ints.enumerated() {
      let real = 0.01 * Float(Self.weights[k])
      let s = q.scales[k / 4]
      #expect(abs(Float(v) * s - real) <= max(s / 2, abs(real) - 7 * s) + 1e-6)
    }
    let b = try #require(out.values.firstIndex { $0.name == "b" }.map(ValueID.init))
    let bias = try #require(out.integerConstant(b))
    for c in 0..<4 {
      // The real bias B·S_x·S_w on the new grid S_x·S_w'[c] (no ties at these values).
      let expected = (Double([100, -210, 300, 7][c]) * 0.01 / Double(q.scales[c])).rounded()
      #expect(Double(bias[c]) == expected)
    }
    #expect(out.type(of: ValueID(w.index)).byteCount == 8)
  }

  @Test func anInfeasibleBudgetIsOneLineWithTheSmallestReachableFigures() throws {
    #expect {
      try R.run(mixedPrecision(), options: ["ram": "100"], on: Self.graph)
    } throws: { e in
      "\(e)"
        == "pass mixed-precision: cannot meet RAM ≤ 100 B: with every tensor that may be cut at 2 bits, "
        + "the smallest reachable is Flash 104 B and RAM 320 B"
    }
  }

  /// A 2-bit weight is ternary: −1, 0, +1 times its channel's scale.
  @Test func twoBitWeightsAreTernary() throws {
    let out = try Parser.parse(try R.run(mixedPrecision(), options: ["flash": "104"], on: Self.graph))
    #expect(try Self.figures(out).flash == 104)
    for name in ["w", "w2"] {
      let v = try #require(out.values.firstIndex { $0.name == name }.map(ValueID.init))
      #expect(out.type(of: v).elementType == .i2)
      #expect(try #require(out.integerConstant(v)).allSatisfy { (-1...1).contains($0) })
    }
  }

  static func bitsFile(_ json: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("bits-\(UUID().uuidString).json").path
    try Data(json.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test func aBitsFileImposesTheAssignment() throws {
    let path = try Self.bitsFile(#"{"tensors": {"a": 2, "w2": 4}}"#)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let out = try Parser.parse(try R.run(mixedPrecision(), options: ["bits": path], on: Self.graph))
    let table = PrecisionTable(out).rows.map { "\($0.name):\($0.kind.rawValue):\($0.bits):\($0.bytes)" }
    #expect(table == ["w:weight:8:16", "a:activation:2:64", "w2:weight:4:8"])
    let a = try #require(out.values.firstIndex { $0.name == "a" }.map(ValueID.init))
    #expect(out.type(of: a).quantization == Quantization(scale: 4.25, zeroPoint: -2))
  }

  @Test(arguments: [
    (#"{"tensors": {"x": 4}}"#, "%x keeps its width"),
    (#"{"tensors": {"nope": 4}}"#, "no tensor %nope in the graph"),
    (#"{"tensors": {"a": 3}}"#, "%a: bits must be 8, 4 or 2, got 3"),
    (#"{"tensors": ["a"]}"#, "not a bits file"),
    ("{", "not a bits file"),
  ])
  func badBitsFilesAreOneLineErrors(_ json: String, _ message: String) throws {
    let path = try Self.bitsFile(json)
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect {
      try R.run(mixedPrecision(), options: ["bits": path], on: Self.graph)
    } throws: { e in
      "\(e)".contains(message) && !"\(e)".contains("\n")
    }
  }

  final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ s: String) { lock.withLock { storage.append(s) } }
    var all: [String] { lock.withLock { storage } }
  }

  @Test func explainSaysEachCutAndWhy() throws {
    let lines = Lines()
    let pm = try PassManager(
      pipeline: "mixed-precision{ram=400,flash=120,explain}", passes: [mixedPrecision(explain: { lines.append($0) })])
    var g = try Parser.parse(Self.graph)
    try pm.run(&g)
    #expect(
      lines.all == [
        "mixed-precision: start: Flash 128 B (budget 120 B), RAM (arena) 512 B (budget 400 B)",
        "  Flash 128 B > 120 B: the weights with the largest share of Flash (12.5 %); %w 8 → 4 bits",
        "  RAM 512 B > 400 B: peak at step 0 (conv2d, tflite:op 0 \"a\") with 512 B live; %a is the widest tensor "
          + "live there that may be cut (8 bits, 256 B); %a 8 → 4 bits",
        "mixed-precision: done after 2 cuts: Flash 120 B, RAM (arena) 384 B",
      ])
  }

  /// Tied tensors change together: a max pool keeps its input's quantization.
  @Test func aPoolAndItsInputAreCutTogether() throws {
    let text = Self.graph
      .replacingOccurrences(
        of: "  %y = conv2d(%a,",
        with: "  %p = max_pool2d(%a) {filter [1, 1], stride [1, 1]} : 1x8x8x4xi8 q(0.05, -128) loc(tflite:op 2 \"p\")\n  %y = conv2d(%p,")
    let g = try Parser.parse(text)
    let c = PrecisionCandidates(g)
    let a = try #require(g.values.firstIndex { $0.name == "a" }.map(ValueID.init))
    let p = try #require(g.values.firstIndex { $0.name == "p" }.map(ValueID.init))
    #expect(c.groupOf[a] != nil && c.groupOf[a] == c.groupOf[p])
    let out = try Parser.parse(try R.run(mixedPrecision(), options: ["ram": "400"], on: text))
    #expect(out.type(of: a).elementType == .i4 && out.type(of: p) == out.type(of: a).with(shape: [1, 8, 8, 4]))
  }

  @Test func sizesParse() throws {
    #expect(try parseByteSize("64KiB") == 65536)
    #expect(try parseByteSize("128KB") == 128_000)
    #expect(try parseByteSize("1.5MiB") == 1_572_864)
    #expect(try parseByteSize("2MB") == 2_000_000)
    #expect(try parseByteSize("40960B") == 40960)
    #expect(try parseByteSize("131072") == 131072)
    for bad in ["64kb", "-1", "KiB", "1e30", "0.3B", ""] {
      #expect(throws: PassError.self) { try parseByteSize(bad) }
    }
  }

  @Test func optionsAreChecked() throws {
    #expect(throws: PassError.self) { try R.run(mixedPrecision(), options: [:], on: Self.graph) }
    #expect(throws: PassError.self) { try R.run(mixedPrecision(), options: ["ram": "lots"], on: Self.graph) }
    #expect(throws: PassError.self) { try R.run(mixedPrecision(), options: ["rom": "1"], on: Self.graph) }
  }
}
