// swift-tools-version: 6.2
// libFuzzer targets for the TFLite and ONNX importers. A separate package so that the sanitizer build
// never touches the main package's build folder. See README.md.
import PackageDescription

let package = Package(
  name: "Fuzz",
  dependencies: [.package(name: "tinyc", path: "..")],
  targets: [
    .executableTarget(
      name: "FuzzTFLite",
      dependencies: [.product(name: "TFLiteFrontend", package: "tinyc")],
      path: "Sources/FuzzTFLite",
      swiftSettings: [.treatAllWarnings(as: .error)]),
    .executableTarget(
      name: "FuzzONNX",
      dependencies: [.product(name: "ONNXFrontend", package: "tinyc")],
      path: "Sources/FuzzONNX",
      swiftSettings: [.treatAllWarnings(as: .error)]),
  ]
)
