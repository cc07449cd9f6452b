// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
  name: "tinyc",
  products: [
    .executable(name: "tinyc", targets: ["tinyc"]),
    .library(name: "TinyC", targets: ["TinyC"]),
    .library(name: "TFLiteFrontend", targets: ["TFLiteFrontend"]),
    .library(name: "ONNXFrontend", targets: ["ONNXFrontend"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
  ],
  targets: [
    .target(name: "TinyIR", path: "IR", swiftSettings: swiftSettings),
    .target(
      name: "TinyPasses", dependencies: ["TinyIR", "Interpreter"], path: "Passes", swiftSettings: swiftSettings),
    .target(
      name: "Interpreter", dependencies: ["TinyIR"], path: "Backends/Interpreter",
      swiftSettings: swiftSettings),
    .target(
      name: "CMSISBackend", dependencies: ["TinyIR", "TinyPasses"], path: "Backends/CMSIS",
      swiftSettings: swiftSettings),
    .target(
      name: "TFLiteFrontend", dependencies: ["TinyIR"], path: "Sources/TFLiteFrontend",
      swiftSettings: swiftSettings),
    .target(
      name: "ONNXFrontend",
      dependencies: ["TinyIR", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      path: "Sources/ONNXFrontend", swiftSettings: swiftSettings),
    .target(
      name: "TinyC",
      dependencies: [
        "TinyIR", "TinyPasses", "Interpreter", "CMSISBackend", "TFLiteFrontend", "ONNXFrontend",
      ],
      path: "Sources/TinyC", swiftSettings: swiftSettings),
    .executableTarget(
      name: "tinyc",
      dependencies: [
        "TinyC", "TinyIR", "TinyPasses", "CMSISBackend", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Sources/tinyc", swiftSettings: swiftSettings),
    .executableTarget(
      name: "tinyc-bench", dependencies: ["TinyC", "TinyIR", "TinyPasses", "CMSISBackend", "Interpreter", "TFLiteFrontend"],
      path: "bench/TinyBench", swiftSettings: swiftSettings),
    .testTarget(name: "TinyIRTests", dependencies: ["TinyIR"], swiftSettings: swiftSettings),
    .testTarget(
      name: "TinyPassesTests", dependencies: ["TinyPasses", "Interpreter", "TFLiteFrontend"], exclude: ["Fixtures"],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "TFLiteFrontendTests", dependencies: ["TFLiteFrontend", "TinyIR"], exclude: ["Fixtures"],
      swiftSettings: swiftSettings),
    .testTarget(
      name: "InterpreterTests", dependencies: ["Interpreter", "TinyC"], swiftSettings: swiftSettings),
    .testTarget(
      name: "ONNXFrontendTests", dependencies: ["ONNXFrontend", "TinyC", "Interpreter"],
      exclude: ["passing_node_tests.txt"], swiftSettings: swiftSettings),
    .testTarget(
      name: "CMSISBackendTests", dependencies: ["CMSISBackend", "TinyC"], swiftSettings: swiftSettings),
    .testTarget(name: "TinyCTests", dependencies: ["TinyC"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
  ]
)
