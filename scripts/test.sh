#!/usr/bin/env bash
# Runs every test tinyc has. Installs what the tests need when it is missing:
# the Cortex-M cross compiler and QEMU (Debian packages) for the emitted-C tests.
# Python is needed only for the ONNX tests that read data from pip packages (onnx's node tests,
# ONNX Runtime as the per-layer reference); without them those tests skip with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null 2>&1 || need+=(qemu-system-arm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${need[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } \
      || echo "test.sh: could not install ${need[*]}; the tests that need them will be skipped"
  else
    echo "test.sh: ${need[*]} missing and cannot install (not root); the QEMU tests will be skipped"
  fi
fi

# ONNX's own operator conformance tests ship inside the onnx pip package (1.22.0; later
# versions dropped the node test data). Without it those tests skip with a note.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import onnx, sys; sys.exit(onnx.__version__ != '1.22.0')" 2>/dev/null; then
  echo "test.sh: installing onnx==1.22.0 (ONNX node conformance tests)"
  python3 -m pip install -q onnx==1.22.0 || echo "test.sh: could not install onnx; the conformance tests will skip"
fi
# ONNX Runtime, the reference for the per-layer check of the quantized ONNX models (scripts/ort_layers.py);
# 1.32.0 is the version that made the goldens in ../shared/models/onnx.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import onnxruntime" 2>/dev/null; then
  echo "test.sh: installing onnxruntime==1.32.0 (per-layer check against ONNX Runtime)"
  python3 -m pip install -q onnxruntime==1.32.0 || echo "test.sh: could not install onnxruntime; the per-layer ONNX Runtime test will skip"
fi

swift format lint --strict -r IR Passes Backends Sources Tests
swift build --build-tests -c debug
swift test --skip-build --disable-xctest
