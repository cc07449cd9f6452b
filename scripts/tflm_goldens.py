#!/usr/bin/env python3
"""Run a .tflite model in TFLite Micro (reference kernels) and dump every operator's output.

Usage:
    python3 scripts/tflm_goldens.py MODEL.tflite --input X.npy [--input X2.npy ...] -o DIR [--output Y.npy ...]

Writes
    DIR/op<i>.npy        operator i's output 0 (DIR/op<i>_<j>.npy for its output j > 0)
    DIR/manifest.json    {"model": ..., "operators": [{"index", "op", "outputs": [{"file", "tensor", "name",
                          "shape", "type", "scale", "zero_point"}]}]}
and, with --output, the model's final output(s) (one --output per model output, in order).

The interpreter is TFLite Micro's Python package (`tflite-micro`), created fresh for each call with
InterpreterConfig.kPreserveAllTensors so that every intermediate tensor can be read after invoke().
Tensors that carry no quantization (float32, int32 shapes, ...) get "scale": [] and "zero_point": [].

Other scripts import `run_tflm`, `layer_manifest` and `write_layers` from here.
"""

import argparse
import json
import os
import sys

import numpy as np
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

_OP_NAMES = {v: k for k, v in vars(schema_fb.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k for k, v in vars(schema_fb.TensorType).items() if not k.startswith("_")}


def load_model_object(model_bytes):
    """ModelT (flatbuffer object API) of a .tflite file's bytes."""
    return runtime.convert_bytearray_to_object(bytearray(model_bytes))


def builtin_name(model, opcode_index):
    code = runtime.get_builtin_code_from_operator_code(model.operatorCodes[opcode_index])
    return _OP_NAMES.get(code, "BUILTIN_%d" % code)


def _as_str(name):
    if name is None:
        return ""
    if isinstance(name, (bytes, bytearray)):
        return name.decode("utf-8")
    return str(name)


def _quant_lists(tensor):
    q = tensor.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        return [], []
    scale = [float(np.float32(s)) for s in q.scale]
    zp = [int(z) for z in q.zeroPoint] if q.zeroPoint is not None else []
    return scale, zp


def layer_manifest(model_bytes, model_name):
    """The per-operator manifest (subgraph 0), without touching the interpreter."""
    model = load_model_object(model_bytes)
    sg = model.subgraphs[0]
    ops = []
    for i, op in enumerate(sg.operators):
        outs = []
        for j, t_index in enumerate(op.outputs):
            t = sg.tensors[t_index]
            scale, zp = _quant_lists(t)
            outs.append({
                "file": "op%d.npy" % i if j == 0 else "op%d_%d.npy" % (i, j),
                "tensor": int(t_index),
                "name": _as_str(t.name),
                "shape": [int(d) for d in (t.shape if t.shape is not None else [])],
                "type": _TYPE_NAMES.get(t.type, str(t.type)),
                "scale": scale,
                "zero_point": zp,
            })
        ops.append({"index": i, "op": builtin_name(model, op.opcodeIndex), "outputs": outs})
    return {"model": model_name, "operators": ops}


def run_tflm(model_bytes, inputs, arena_size=None):
    """Run one inference in a fresh TFLM interpreter.

    Returns (outputs, tensors): outputs is the list of the model's outputs, tensors maps each
    operator output tensor index (subgraph 0) to its value after invoke.
    """
    model = load_model_object(model_bytes)
    sg = model.subgraphs[0]
    if len(inputs) != len(sg.inputs):
        raise ValueError("model has %d inputs, %d given" % (len(sg.inputs), len(inputs)))
    if arena_size is None:
        arena_size = max(len(model_bytes) * 10, 1 << 20)
    interp = runtime.Interpreter.from_bytes(
        bytes(model_bytes), arena_size=arena_size,
        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    for k, x in enumerate(inputs):
        d = interp.get_input_details(k)
        x = np.asarray(x)
        if x.dtype != d["dtype"] or tuple(x.shape) != tuple(d["shape"]):
            raise ValueError("input %d: got %s %s, model wants %s %s"
                             % (k, x.dtype, x.shape, np.dtype(d["dtype"]), tuple(d["shape"])))
        interp.set_input(x, k)
    interp.invoke()
    outputs = [np.array(interp.get_output(k), copy=True) for k in range(len(sg.outputs))]
    tensors = {}
    for op in sg.operators:
        for t_index in op.outputs:
            # GetTensor returns {"tensor_data": ndarray, "shape": ..., "dtype": ...}
            t = interp.GetTensor(int(t_index), 0)
            data = t["tensor_data"] if isinstance(t, dict) else t
            tensors[int(t_index)] = np.array(data, copy=True)
    del interp
    return outputs, tensors


def write_layers(manifest, tensors, out_dir):
    """Write op<i>[_<j>].npy for every operator output of one run."""
    os.makedirs(out_dir, exist_ok=True)
    for op in manifest["operators"]:
        for o in op["outputs"]:
            v = tensors[o["tensor"]]
            if list(v.shape) != o["shape"]:
                v = v.reshape(o["shape"])
            np.save(os.path.join(out_dir, o["file"]), v)


def write_json(obj, path):
    """JSON in the layout of the shared goldens (indent 1, no trailing newline)."""
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--input", action="append", required=True, help=".npy, one per model input, in order")
    ap.add_argument("-o", "--out-dir", required=True)
    ap.add_argument("--output", action="append", default=[], help="write final output k to this .npy")
    ap.add_argument("--arena-size", type=int, default=None)
    a = ap.parse_args(argv)

    with open(a.model, "rb") as f:
        model_bytes = f.read()
    inputs = [np.load(p) for p in a.input]
    manifest = layer_manifest(model_bytes, os.path.basename(a.model))
    outputs, tensors = run_tflm(model_bytes, inputs, a.arena_size)
    write_layers(manifest, tensors, a.out_dir)
    write_json(manifest, os.path.join(a.out_dir, "manifest.json"))
    if len(a.output) > len(outputs):
        sys.exit("model has %d outputs, %d --output given" % (len(outputs), len(a.output)))
    for k, p in enumerate(a.output):
        np.save(p, outputs[k])
    return 0


if __name__ == "__main__":
    sys.exit(main())
