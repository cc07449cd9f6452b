import TFLiteFrontend
import TinyIR

/// libFuzzer entry point: any byte string must import or throw a `TFLiteError`, never crash,
/// hang or allocate without bound. A graph that imports must print (and parse back).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTFLite(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data else { return 0 }
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  do {
    let graph = try importTFLite(bytes, fileName: "fuzz.tflite")
    // Small graphs must also print and parse back (large constants make that too slow).
    if graph.constantBytes <= 1024 {
      let text = Printer().print(graph)
      guard let again = try? Parser.parse(text), Printer().print(again) == text else {
        fatalError("an imported graph does not round-trip through the text form")
      }
    } else {
      _ = Printer(elideOver: 64).print(graph)
    }
  } catch let error as TFLiteError {
    if error.description.contains(where: \.isNewline) { fatalError("error description spans lines") }
  } catch {
    fatalError("importTFLite threw a non-TFLiteError: \(error)")
  }
  return 0
}
