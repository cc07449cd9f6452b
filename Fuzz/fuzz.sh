#!/bin/sh
# Builds a libFuzzer target and runs it.
#   ./fuzz.sh [SECONDS] [tflite|onnx]     default: 600 seconds, tflite
# New inputs go to .build-fuzz/corpus-NAME, crashes to .build-fuzz/crashes, the log to fuzz-0.log.
set -eu
cd "$(dirname "$0")"
seconds=${1:-600}
which=${2:-tflite}
case "$which" in
  tflite) product=FuzzTFLite; seeds=corpus/tflite ;;
  onnx) product=FuzzONNX; seeds=corpus/onnx ;;
  *) echo "usage: ./fuzz.sh [SECONDS] [tflite|onnx]" >&2; exit 2 ;;
esac
# SwiftPM passes --sanitize=fuzzer and --sanitize=address to swiftc as two -sanitize= flags, and
# the second replaces the first: without -sanitize-coverage the binary has AddressSanitizer but
# no coverage, and libFuzzer mutates blind ("no interesting inputs were found").
swift build -c debug --scratch-path .build-fuzz --sanitize=fuzzer --sanitize=address \
  -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp --product "$product"
mkdir -p ".build-fuzz/corpus-$which" .build-fuzz/crashes
SWIFT_BACKTRACE=enable=no ".build-fuzz/debug/$product" -max_total_time="$seconds" -jobs=1 \
  -max_len=32768 -use_value_profile=1 -print_final_stats=1 -artifact_prefix=.build-fuzz/crashes/ \
  ".build-fuzz/corpus-$which" "$seeds"
tail -8 fuzz-0.log
ls .build-fuzz/crashes
