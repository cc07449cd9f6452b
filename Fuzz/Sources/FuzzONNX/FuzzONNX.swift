import ONNXFrontend
import TinyIR

/// libFuzzer entry point for the ONNX reader: any bytes must give either an `ONNXError` or
/// a graph that passes the verifier and, when small, prints and parses back to the same
/// text; anything else (a crash, a trap, another error type, an unverifiable graph, a
/// multi-line message) is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data else { return 0 }
  let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
  do {
    let graph = try importONNX(bytes: bytes, fileName: "fuzz.onnx")
    do {
      try Verifier.verify(graph)
    } catch {
      fatalError("imported graph does not verify: \(error)")
    }
    if graph.constantBytes <= 1024 {
      let text = Printer().print(graph)
      guard let again = try? Parser.parse(text), Printer().print(again) == text else {
        fatalError("an imported graph does not round-trip through the text form")
      }
    } else {
      _ = Printer(elideOver: 64).print(graph)
    }
  } catch let error as ONNXError {
    if error.description.contains(where: \.isNewline) { fatalError("multi-line error: \(error)") }
  } catch {
    fatalError("importONNX threw a non-ONNXError: \(error)")
  }
  // The tensor reader on its own (node tests' .pb files).
  _ = try? ONNXTensor(serialized: bytes)
  return 0
}
