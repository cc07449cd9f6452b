#!/usr/bin/env python3
"""Golden outputs of the example models from TFLite Micro (reference kernels).

Usage:
    python3 scripts/make_goldens.py [--examples Examples] [--count 3] [MODEL.tflite ...]

For each model (default: every Examples/*.tflite) and k = 0..count-1:
  input k  = numpy default_rng(k) over the input dtype's whole range
             (int: rng.integers(min, max + 1, size=shape).astype(dtype); float32: rng.uniform(-1, 1, size=shape)),
             the same recipe as the shared reference goldens;
  writes   golden/<stem>.input<k>.npy, golden/<stem>.output<k>.npy,
           golden/layers/<stem>.json (per-operator manifest, same layout as tflm_goldens.py's manifest.json),
           golden/layers/<stem>.input<k>/op<i>.npy (op<i>_<j>.npy for an output j > 0).
One fresh TFLM interpreter (kPreserveAllTensors) per input. Models with one input and one output only.
"""

import argparse
import glob
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tflm_goldens  # noqa: E402

_NP_TYPES = {"INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "INT32": np.int32, "FLOAT32": np.float32}


def golden_input(k, shape, dtype):
    rng = np.random.default_rng(k)
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)
    return rng.uniform(-1, 1, size=shape).astype(dtype)


def input_spec(model_bytes):
    m = tflm_goldens.load_model_object(model_bytes)
    sg = m.subgraphs[0]
    specs = []
    for t in sg.inputs:
        tt = sg.tensors[t]
        specs.append((tuple(int(d) for d in tt.shape), _NP_TYPES[tflm_goldens._TYPE_NAMES[tt.type]]))
    return specs, len(sg.outputs)


def make(model_path, golden_dir, count):
    stem = os.path.splitext(os.path.basename(model_path))[0]
    with open(model_path, "rb") as f:
        data = f.read()
    specs, n_out = input_spec(data)
    if len(specs) != 1 or n_out != 1:
        raise SystemExit("%s: %d inputs / %d outputs; only 1/1 supported" % (model_path, len(specs), n_out))
    layers_dir = os.path.join(golden_dir, "layers")
    os.makedirs(layers_dir, exist_ok=True)
    manifest = tflm_goldens.layer_manifest(data, os.path.basename(model_path))
    tflm_goldens.write_json(manifest, os.path.join(layers_dir, stem + ".json"))
    shape, dtype = specs[0]
    for k in range(count):
        x = golden_input(k, shape, dtype)
        outputs, tensors = tflm_goldens.run_tflm(data, [x])
        np.save(os.path.join(golden_dir, "%s.input%d.npy" % (stem, k)), x)
        np.save(os.path.join(golden_dir, "%s.output%d.npy" % (stem, k)), outputs[0])
        d = os.path.join(layers_dir, "%s.input%d" % (stem, k))
        if os.path.isdir(d):
            shutil.rmtree(d)
        tflm_goldens.write_layers(manifest, tensors, d)
    print("%s: %d operators, %d inputs" % (stem, len(manifest["operators"]), count))


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--examples", default=os.path.join(here, "..", "Examples"))
    ap.add_argument("--golden-dir", default=None, help="default: <examples>/golden")
    ap.add_argument("--count", type=int, default=3)
    a = ap.parse_args(argv)
    models = a.models or sorted(glob.glob(os.path.join(a.examples, "*.tflite")))
    golden_dir = a.golden_dir or os.path.join(a.examples, "golden")
    for p in models:
        make(p, golden_dir, a.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
