// swift-tools-version: 6.2
// libFuzzer target for the TFLite importer. A separate package so that the sanitizer build
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
      swiftSettings: [.treatAllWarnings(as: .error)])
  ]
)
