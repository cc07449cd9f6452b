import ONNXFrontend
import TinyIR

/// libFuzzer entry point for the ONNX reader: any bytes must give either an `ONNXError` or
/// a graph that passes the verifier; anything else (a crash, a trap, another error type,
/// an unverifiable graph, a multi-line message) is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
  do {
    let graph = try importONNX(bytes: bytes, fileName: "fuzz.onnx")
    do {
      try Verifier.verify(graph)
    } catch {
      preconditionFailure("imported graph does not verify: \(error)")
    }
  } catch let error as ONNXError {
    precondition(!error.description.contains("\n"), "multi-line error: \(error)")
  } catch {
    preconditionFailure("unexpected error type: \(error)")
  }
  // The tensor reader on its own (node tests' .pb files).
  _ = try? ONNXTensor(serialized: bytes)
  return 0
}
