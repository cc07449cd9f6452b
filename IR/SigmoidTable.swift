import Foundation

extension KernelParams {
  /// The table TFLite's int16 LOGISTIC and TANH kernels interpolate (tanh(x) = 2·sigmoid(2x) − 1):
  /// sigmoid at x = i/24, i = 0...255, in unsigned 0.16 fixed point. Each sample is moved by
  /// −Δ²/16 (its second difference over the neighbouring samples), the correction that centres
  /// the error of linear interpolation between samples, then rounded; the last entry is the
  /// saturated 65535. Computed here from that rule (every rounded value is at least 0.0039 away
  /// from a rounding tie, so Double arithmetic gives it exactly); the int16 example layers'
  /// bit-exactness with TFLite Micro checks it.
  public static let sigmoidTable16: [UInt16] = {
    func f(_ i: Int) -> Double { 65536 / (1 + exp(-Double(i) / 24)) }
    return (0..<256).map { i in
      guard i < 255 else { return 65535 }
      let corrected = f(i) - (f(i - 1) - 2 * f(i) + f(i + 1)) / 16
      return UInt16(min(65535, corrected.rounded()))
    }
  }()
}
