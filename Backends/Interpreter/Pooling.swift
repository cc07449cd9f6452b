import TinyIR

/// AVERAGE_POOL_2D and MAX_POOL_2D, as TFLite's reference kernels (integer_ops/pooling.h):
/// the window is clamped to the image, so only valid positions count; the int8 average
/// rounds half away from zero (`(sum ± count/2) / count`, C division); no requantization
/// (TFLite keeps the input's scale and zero point), then the activation clamp.
func preparePool(
  _ c: OpContext, window w: Window, filterH: Int, filterW: Int, act: Activation, max isMax: Bool
) throws -> Kernel {
  let x = c.x.shape
  let y = c.y.shape
  let (batches, inH, inW, depth) = (x[0], x[1], x[2], x[3])
  let (outH, outW) = (y[1], y[2])
  /// Calls body(outIndex, [input flat indices]) for each output element.
  @Sendable func windows(_ body: (Int, [Int]) -> Void) {
    var taps: [Int] = []
    taps.reserveCapacity(filterH * filterW)
    var o = 0
    for b in 0..<batches {
      for oy in 0..<outH {
        for ox in 0..<outW {
          let iy0 = oy * w.strideH - w.padding.top
          let ix0 = ox * w.strideW - w.padding.left
          let fy0 = Swift.max(0, -iy0)
          let fy1 = Swift.min(filterH, inH - iy0)
          let fx0 = Swift.max(0, -ix0)
          let fx1 = Swift.min(filterW, inW - ix0)
          for ch in 0..<depth {
            taps.removeAll(keepingCapacity: true)
            if fy0 < fy1 && fx0 < fx1 {
              for fy in fy0..<fy1 {
                for fx in fx0..<fx1 {
                  taps.append(((b * inH + iy0 + fy) * inW + ix0 + fx) * depth + ch)
                }
              }
            }
            body(o, taps)
            o += 1
          }
        }
      }
    }
  }
  let count = c.y.elementCount
  switch try c.numeric() {
  case .float:
    let (lo, hi) = floatActivationRange(act)
    return { ins in
      let input = try ins[0].floats()
      var out = [Float](repeating: 0, count: count)
      var empty = false
      windows { o, taps in
        if isMax {
          var m = -Float.greatestFiniteMagnitude
          for t in taps { m = Swift.max(m, input[t]) }
          out[o] = clampFloat(m, lo, hi)
        } else {
          if taps.isEmpty { empty = true }
          var total: Float = 0
          for t in taps { total += input[t] }
          out[o] = clampFloat(total / Float(taps.count), lo, hi)
        }
      }
      if empty { throw KernelError("a pooling window lies entirely outside the input") }
      return [.f32(out)]
    }
  case .int8:
    let (lo, hi) = try quantizedActivationRange(act, c.y)
    return { ins in
      let input = try ins[0].int8s()
      var out = [Int8](repeating: 0, count: count)
      var empty = false
      input.withUnsafeBufferPointer { xp in
        windows { o, taps in
          if isMax {
            var m = Int8.min
            for t in taps { m = Swift.max(m, xp[t]) }
            out[o] = clampToInt8(Int32(m), lo, hi)
          } else {
            if taps.isEmpty {
              empty = true
              return
            }
            var acc: Int32 = 0
            for t in taps { acc = acc &+ Int32(xp[t]) }
            let n = Int32(taps.count)
            acc = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n
            out[o] = clampToInt8(acc, lo, hi)
          }
        }
      }
      if empty { throw KernelError("a pooling window lies entirely outside the input") }
      return [.i8(out)]
    }
  }
}
