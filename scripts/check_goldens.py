#!/usr/bin/env python3
"""Re-run TFLite Micro and check the committed goldens (needs scripts/requirements-goldens.txt).

Usage:
    python3 scripts/check_goldens.py [--examples Examples] [--shared ../shared/models] [--models]

1. Regenerates every Examples/golden file from the committed Examples/*.tflite into a temporary
   directory (make_goldens.py) and requires each .npy/.json to be byte-identical to the committed one.
2. If the shared reference models are present (default: ../shared/models beside the repo, or
   $TINYC_SHARED_MODELS), reruns tflm_goldens.py on every tflite/golden/<stem>.input<k>.npy and requires
   every layer output, the manifest and the final output to equal the shared goldens bit for bit.
3. With --models, also rebuilds the example models (make_examples.py) and reports whether they are
   byte-identical to the committed ones (a different TensorFlow version may legitimately differ:
   reported, not failed).
Prints "N passed, N failed" at the end and exits non-zero on any failure.
"""

import argparse
import filecmp
import glob
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_goldens  # noqa: E402
import tflm_goldens  # noqa: E402


def check_examples(examples, results):
    committed = os.path.join(examples, "golden")
    with tempfile.TemporaryDirectory() as tmp:
        for p in sorted(glob.glob(os.path.join(examples, "*.tflite"))):
            make_goldens.make(p, tmp, 3)
        fresh = sorted(os.path.relpath(f, tmp) for f in glob.glob(os.path.join(tmp, "**", "*"), recursive=True)
                       if os.path.isfile(f))
        for rel in fresh:
            a = os.path.join(committed, rel)
            ok = os.path.exists(a) and filecmp.cmp(a, os.path.join(tmp, rel), shallow=False)
            results.append(("examples/" + rel, ok))
            if not ok:
                print("MISMATCH examples golden:", rel)


def check_shared(shared, results):
    tdir = os.path.join(shared, "tflite")
    for model in sorted(glob.glob(os.path.join(tdir, "*.tflite"))):
        stem = os.path.splitext(os.path.basename(model))[0]
        with open(model, "rb") as f:
            data = f.read()
        ref_json = os.path.join(tdir, "golden", "layers", stem + ".json")
        if not os.path.exists(ref_json):
            continue
        manifest = tflm_goldens.layer_manifest(data, os.path.basename(model))
        with open(ref_json) as f:
            results.append(("shared/%s.json" % stem, json.load(f) == manifest))
        for xin in sorted(glob.glob(os.path.join(tdir, "golden", stem + ".input*.npy"))):
            k = xin[len(os.path.join(tdir, "golden", stem + ".input")):-len(".npy")]
            outs, tensors = tflm_goldens.run_tflm(data, [np.load(xin)])
            ok = np.array_equal(outs[0], np.load(os.path.join(tdir, "golden", "%s.output%s.npy" % (stem, k))))
            layer_dir = os.path.join(tdir, "golden", "layers", "%s.input%s" % (stem, k))
            for op in manifest["operators"]:
                for o in op["outputs"]:
                    ref = np.load(os.path.join(layer_dir, o["file"]))
                    v = tensors[o["tensor"]].reshape(o["shape"])
                    if ref.dtype != v.dtype or not np.array_equal(ref, v):
                        ok = False
                        print("MISMATCH shared %s input%s op %d %s" % (stem, k, op["index"], op["op"]))
            results.append(("shared/%s.input%s" % (stem, k), ok))


def check_models(examples, results):
    import subprocess
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, os.path.join(HERE, "make_examples.py"), "--out-dir", tmp],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results.append(("make_examples.py runs", r.returncode == 0))
        for p in sorted(glob.glob(os.path.join(tmp, "*.tflite"))):
            c = os.path.join(examples, os.path.basename(p))
            same = os.path.exists(c) and filecmp.cmp(c, p, shallow=False)
            print("model %s: %s" % (os.path.basename(p), "byte-identical" if same
                                    else "differs from the committed one (TensorFlow version?)"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", default=os.path.join(HERE, "..", "Examples"))
    ap.add_argument("--shared", default=os.environ.get(
        "TINYC_SHARED_MODELS", os.path.join(HERE, "..", "..", "shared", "models")))
    ap.add_argument("--models", action="store_true")
    a = ap.parse_args(argv)
    results = []
    check_examples(a.examples, results)
    if os.path.isdir(os.path.join(a.shared, "tflite")):
        check_shared(a.shared, results)
    else:
        print("shared models not found at %s: skipped" % a.shared)
    if a.models:
        check_models(a.examples, results)
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
