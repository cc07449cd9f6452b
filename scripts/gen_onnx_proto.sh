#!/usr/bin/env bash
# Regenerates Sources/ONNXFrontend/Generated/onnx_subset.pb.swift from
# scripts/onnx/onnx_subset.proto.
#
# Needs:
#   protoc            Debian: apt-get install protobuf-compiler
#   protoc-gen-swift  from swift-protobuf at the version Package.swift pins
#                     (SWIFT_PROTOBUF_VERSION, default 1.39.0). Give an existing
#                     binary with PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift;
#                     otherwise the script clones swift-protobuf into a temporary
#                     directory and builds the plugin there (about half a minute).
#
# Environment:
#   PROTOC_GEN_SWIFT        path to a protoc-gen-swift binary (skips the build)
#   SWIFT_PROTOBUF_VERSION  tag to build the plugin from (default 1.39.0)
#   SWIFT_PROTOBUF_REPO     where to clone from (default: the local mirror
#                           /opt/swift-packages/apple/swift-protobuf.git if it
#                           exists, else https://github.com/apple/swift-protobuf)
#   KEEP_PLUGIN_DIR=1       keep the temporary build directory and print its path
#
# The generated file is committed; `swift build` never runs protoc.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
proto_dir="$root/scripts/onnx"
proto_name="onnx_subset.proto"
out_dir="$root/Sources/ONNXFrontend/Generated"
version="${SWIFT_PROTOBUF_VERSION:-1.39.0}"

command -v protoc >/dev/null || {
    echo "error: protoc not found (apt-get install protobuf-compiler)" >&2
    exit 1
}

plugin="${PROTOC_GEN_SWIFT:-}"
if [[ -z "$plugin" ]]; then
    repo="${SWIFT_PROTOBUF_REPO:-}"
    if [[ -z "$repo" ]]; then
        if [[ -d /opt/swift-packages/apple/swift-protobuf.git ]]; then
            repo=/opt/swift-packages/apple/swift-protobuf.git
        else
            repo=https://github.com/apple/swift-protobuf
        fi
    fi
    work="$(mktemp -d "${TMPDIR:-/tmp}/tinyc-protoc-gen-swift.XXXXXX")"
    if [[ "${KEEP_PLUGIN_DIR:-0}" == 1 ]]; then
        echo "building protoc-gen-swift in $work (kept)" >&2
    else
        trap 'rm -rf "$work"' EXIT
    fi
    echo "building protoc-gen-swift $version from $repo" >&2
    git clone --quiet --depth 1 --branch "$version" "$repo" "$work/swift-protobuf" 2>/dev/null ||
        { git clone --quiet "$repo" "$work/swift-protobuf" &&
          git -C "$work/swift-protobuf" checkout --quiet "$version"; }
    (cd "$work/swift-protobuf" && swift build -c release --product protoc-gen-swift >&2)
    plugin="$work/swift-protobuf/.build/release/protoc-gen-swift"
fi
[[ -x "$plugin" ]] || { echo "error: $plugin is not an executable" >&2; exit 1; }

mkdir -p "$out_dir"
protoc \
    --plugin=protoc-gen-swift="$plugin" \
    --proto_path="$proto_dir" \
    --swift_out="$out_dir" \
    --swift_opt=Visibility=Public \
    "$proto_dir/$proto_name"

echo "wrote $out_dir/${proto_name%.proto}.pb.swift ($("$plugin" --version 2>/dev/null || echo "protoc-gen-swift"))" >&2
