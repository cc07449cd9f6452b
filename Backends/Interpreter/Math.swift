#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The C library's float functions, as TFLite's float kernels call them (std::exp on float,
/// std::log, std::tanh).
enum CMath {
  @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }
  @inline(__always) static func log(_ x: Float) -> Float { logf(x) }
  @inline(__always) static func tanh(_ x: Float) -> Float { tanhf(x) }
  @inline(__always) static func sqrt(_ x: Float) -> Float { sqrtf(x) }
}
