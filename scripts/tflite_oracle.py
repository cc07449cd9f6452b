#!/usr/bin/env python3
"""Independent oracle for tinyc's TFLite importer.

Reads .tflite files with the TFLite schema's official generated Python classes (shipped in the
`tflite-micro` pip package: `convert_bytearray_to_object` gives a ModelT with every table) and
writes one JSON file per model describing subgraph 0: operators (builtin name, inputs, outputs,
the scalar fields of their builtin options) and tensors (shape, type, buffer, constant byte count and FNV-1a-64 digest of the bytes, the
first quantization scales and zero points, quantized dimension). The Swift tests compare
`importTFLite` against these files, so they need no Python at test time.

    pip install tflite-micro
    python3 scripts/tflite_oracle.py Tests/TFLiteFrontendTests/Fixtures/oracle \
        ../shared/models/tflite/*.tflite Examples/*.tflite
"""
import json
import pathlib
import sys

import numpy as np
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

KEEP = 4  # scales / zero points written per tensor (plus their count)


def enum_names(cls):
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


OPS = enum_names(schema.BuiltinOperator)
TYPES = enum_names(schema.TensorType)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def ints(v):
    return [] if v is None else [int(x) for x in v]


def options(o):
    """The scalar fields of a builtin options table (object API names, e.g. strideH)."""
    if o is None:
        return {}
    out = {}
    for k, v in vars(o).items():
        if isinstance(v, (bool, np.bool_)):
            out[k] = bool(v)
        elif isinstance(v, (int, np.integer)):
            out[k] = int(v)
        elif isinstance(v, (float, np.floating)):
            out[k] = float(v)
    return out


def describe(path, raw):
    model = runtime.convert_bytearray_to_object(bytearray(raw))
    sg = model.subgraphs[0]
    operators = []
    for i, op in enumerate(sg.operators or []):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.deprecatedBuiltinCode, code.builtinCode)
        operators.append({"index": i, "opcode": OPS.get(builtin, f"BUILTIN_{builtin}"),
                          "inputs": ints(op.inputs), "outputs": ints(op.outputs),
                          "options": options(op.builtinOptions)})
    tensors = []
    for j, t in enumerate(sg.tensors or []):
        buf = model.buffers[t.buffer] if model.buffers and t.buffer < len(model.buffers) else None
        data = bytes(bytearray(buf.data)) if buf is not None and buf.data is not None else b""
        if not data and buf is not None and buf.offset > 1:
            data = raw[buf.offset:buf.offset + buf.size]
        q = t.quantization
        scales = [float(s) for s in (q.scale if q is not None and q.scale is not None else [])]
        zps = ints(q.zeroPoint) if q is not None else []
        tensors.append({
            "index": j,
            "name": t.name.decode() if isinstance(t.name, bytes) else (t.name or ""),
            "shape": ints(t.shape),
            "type": TYPES.get(t.type, str(t.type)),
            "buffer": int(t.buffer),
            "bytes": len(data),
            "fnv1a64": fnv1a64(data) if data else "",
            "scale_count": len(scales),
            "scales": scales[:KEEP],
            "zero_points": zps[:KEEP],
            "quantized_dimension": int(q.quantizedDimension) if q is not None else 0,
        })
    return {"file": path.name, "file_bytes": len(raw), "file_fnv1a64": fnv1a64(raw),
            "subgraphs": len(model.subgraphs), "inputs": ints(sg.inputs),
            "outputs": ints(sg.outputs), "operators": operators, "tensors": tensors}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[2:]:
        path = pathlib.Path(name)
        desc = describe(path, path.read_bytes())
        target = out / (path.stem + ".json")
        target.write_text(json.dumps(desc, indent=1) + "\n")
        print(f"{target}: {len(desc['operators'])} operators, {len(desc['tensors'])} tensors")


if __name__ == "__main__":
    main()
