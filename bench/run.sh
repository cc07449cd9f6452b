#!/usr/bin/env bash
# bench/run.sh - the one command that measures tinyc (see bench/README.md):
#   bash bench/run.sh [extra tinyc-bench options, e.g. --runs 20 --no-qemu]
# Builds tinyc-bench in release (scratch path .build-bench), then benchmarks the example models,
# the MLPerf Tiny models in ../shared/models when present, and the ONNX models, printing
# markdown tables on stdout (progress on stderr). Missing python/tflite-micro/QEMU make
# columns "n/a" with a footnote; they never fail the run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"

scratch="${TINYC_BENCH_SCRATCH:-.build-bench}"
echo "building tinyc-bench (release, --scratch-path $scratch)..." >&2
# A second try only helps in a tree that others edit during the build ("modified during the build").
swift build -c release --scratch-path "$scratch" --product tinyc-bench >&2 ||
  swift build -c release --scratch-path "$scratch" --product tinyc-bench >&2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/tinyc-bench"

models=()
for m in Examples/*.tflite; do [ -e "$m" ] && models+=("$m"); done
for m in ../shared/models/tflite/*.tflite; do [ -e "$m" ] && models+=("$m"); done
for m in Examples/onnx/*.onnx ../shared/models/onnx/*.onnx; do [ -e "$m" ] && models+=("$m"); done

python="${PYTHON:-python3}"
# TINYC_BENCH_WORK=DIR keeps the emitted C, the M4 builds and TFLM's outputs there.
if [ -n "${TINYC_BENCH_WORK:-}" ]; then
  work="$TINYC_BENCH_WORK"
  mkdir -p "$work"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/tinyc-bench.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi

echo "tinyc $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git --no-optional-locks diff --quiet HEAD 2>/dev/null || echo '+local changes'), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
if tflm_version="$("$python" -c 'from importlib.metadata import version; print(version("tflite-micro"))' 2>/dev/null)"; then
  echo "TFLite Micro: pip tflite-micro $tflm_version (Python interpreter, reference kernels)"
else
  echo "TFLite Micro: not available ($python cannot import tflite-micro; pip install tflite-micro)"
fi
if command -v qemu-system-arm >/dev/null && command -v arm-none-eabi-gcc >/dev/null; then
  echo "Cortex-M4: $(arm-none-eabi-gcc --version | head -1), $(qemu-system-arm --version | head -1)"
fi
echo
"$bin" --work "$work" --python "$python" --tflm-script "$here/tflm_time.py" "$@" "${models[@]}"
