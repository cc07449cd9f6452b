import TinyIR

/// SOFTMAX over the last axis. int8 as TFLite's reference (reference/softmax.h): the input
/// difference to the row maximum is rescaled by `input_beta_multiplier << left_shift`
/// (PreprocessSoftmaxScaling with 5 integer bits), exponentiated in gemmlowp fixed point
/// (Q5.26 in, Q0.31 out), summed in Q12.19, and divided through a fixed-point reciprocal;
/// differences below `diff_min` (CalculateInputRadius) give the output minimum. The int8
/// output is quantized with scale 1/256 and zero point -128, as TFLM requires.
func prepareSoftmax(_ c: OpContext, beta: Float) throws -> Kernel {
  let depth = c.x.shape.last ?? 1
  let rows = depth == 0 ? 0 : c.x.elementCount / depth
  switch try c.numeric() {
  case .float:
    return { ins in
      let x = try ins[0].floats()
      var out = [Float](repeating: 0, count: x.count)
      for r in 0..<rows {
        let base = r * depth
        var m = -Float.greatestFiniteMagnitude
        for i in 0..<depth { m = max(m, x[base + i]) }
        var sum: Float = 0
        for i in 0..<depth {
          let e = CMath.exp((x[base + i] - m) * beta)
          out[base + i] = e
          sum += e
        }
        for i in 0..<depth { out[base + i] /= sum }
      }
      return [.f32(out)]
    }
  case .int8:
    guard c.x.elementType == .i8, c.y.elementType == .i8 else { throw KernelError("int8 softmax needs i8 tensors") }
    let (sIn, _) = try c.quant(c.x, "input")
    let (sOut, zpOut) = try c.quant(c.y, "result")
    guard zpOut == -128, sOut == 1.0 / 256 else {
      throw KernelError("int8 softmax output must be quantized with scale 1/256 and zero point -128")
    }
    let scaledDiffIntegerBits = 5
    let accumulationIntegerBits = 12
    // PreprocessSoftmaxScaling.
    let real = min(
      Double(beta) * Double(sIn) * Double(1 << (31 - scaledDiffIntegerBits)), Double((Int64(1) << 31) - 1))
    let (multiplier, leftShift) = QuantMath.quantizeMultiplier(real)
    let diffMin = -FixedPoint.inputRadius(integerBits: scaledDiffIntegerBits, leftShift: leftShift)
    @Sendable func rescaledDiff(_ diff: Int32) -> Int32 {
      // MultiplyByQuantizedMultiplierGreaterThanOne.
      FixedPoint.mul(diff &* Int32(truncatingIfNeeded: 1 << leftShift), multiplier)
    }
    return { ins in
      let x = try ins[0].int8s()
      var out = [Int8](repeating: 0, count: x.count)
      for r in 0..<rows {
        let base = r * depth
        var maxInRow = Int8.min
        for i in 0..<depth { maxInRow = max(maxInRow, x[base + i]) }
        var sumOfExps: Int32 = 0
        for i in 0..<depth {
          let diff = Int32(x[base + i]) - Int32(maxInRow)
          if diff >= diffMin {
            let e = FixedPoint.expOnNegativeValues(rescaledDiff(diff), integerBits: scaledDiffIntegerBits)
            sumOfExps = sumOfExps &+ FixedPoint.rescale(e, from: 0, to: accumulationIntegerBits)
          }
        }
        let (shiftedScale, numBitsOverUnit) = FixedPoint.reciprocal(
          sumOfExps, integerDigits: accumulationIntegerBits)
        let exponent = numBitsOverUnit + 31 - 8
        guard exponent >= 0 && exponent <= 31 else { throw KernelError("softmax sum out of range") }
        for i in 0..<depth {
          let diff = Int32(x[base + i]) - Int32(maxInRow)
          if diff >= diffMin {
            let e = FixedPoint.expOnNegativeValues(rescaledDiff(diff), integerBits: scaledDiffIntegerBits)
            let unsat = FixedPoint.divideByPOT(FixedPoint.mul(shiftedScale, e), exponent)
            out[base + i] = clampToInt8(unsat &- 128, -128, 127)
          } else {
            out[base + i] = -128
          }
        }
      }
      return [.i8(out)]
    }
  }
}

/// LOG_SOFTMAX over the last axis, float only (TFLite's reference float kernel).
func prepareLogSoftmax(_ c: OpContext) throws -> Kernel {
  guard try c.numeric() == .float else { throw KernelError("log_softmax is supported for f32 only") }
  let depth = c.x.shape.last ?? 1
  let rows = depth == 0 ? 0 : c.x.elementCount / depth
  return { ins in
    let x = try ins[0].floats()
    var out = [Float](repeating: 0, count: x.count)
    for r in 0..<rows {
      let base = r * depth
      var m = -Float.greatestFiniteMagnitude
      for i in 0..<depth { m = max(m, x[base + i]) }
      var sum: Float = 0
      for i in 0..<depth { sum += CMath.exp(x[base + i] - m) }
      let logSum = CMath.log(sum)
      for i in 0..<depth { out[base + i] = x[base + i] - m - logSum }
    }
    return [.f32(out)]
  }
}
