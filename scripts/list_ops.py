#!/usr/bin/env python3
"""Print each .tflite model's operator histogram (subgraph 0), with tensor types.

Usage:
    python3 scripts/list_ops.py MODEL.tflite [MODEL2.tflite ...] [--markdown]

For every model: its size, its input/output types and shapes, and one line per builtin operator:
the count and the element types of its first input and first output (e.g. "CONV_2D x3  INT8->INT8").
Reads the flatbuffer with the schema classes shipped in the `tflite-micro` pip package.
Other scripts import `op_histogram` and `op_type_pairs` from here.
"""

import argparse
import collections
import os
import sys

from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

_OP_NAMES = {v: k for k, v in vars(schema_fb.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k for k, v in vars(schema_fb.TensorType).items() if not k.startswith("_")}


def _model(model_bytes):
    return runtime.convert_bytearray_to_object(bytearray(model_bytes))


def _op_name(model, op):
    code = runtime.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])
    return _OP_NAMES.get(code, "BUILTIN_%d" % code)


def op_histogram(model_bytes):
    """OrderedDict builtin name -> count, in order of first appearance."""
    m = _model(model_bytes)
    h = collections.OrderedDict()
    for op in m.subgraphs[0].operators:
        n = _op_name(m, op)
        h[n] = h.get(n, 0) + 1
    return h


def op_type_pairs(model_bytes):
    """Set of (builtin name, first input type name, first output type name)."""
    m = _model(model_bytes)
    sg = m.subgraphs[0]
    out = set()
    for op in sg.operators:
        tin = _TYPE_NAMES[sg.tensors[op.inputs[0]].type]
        tout = _TYPE_NAMES[sg.tensors[op.outputs[0]].type]
        out.add((_op_name(m, op), tin, tout))
    return out


def describe(path, markdown=False):
    with open(path, "rb") as f:
        data = f.read()
    m = _model(data)
    sg = m.subgraphs[0]

    def sig(ts):
        return ", ".join("%s %s" % (_TYPE_NAMES[sg.tensors[t].type],
                                    "x".join(str(d) for d in sg.tensors[t].shape)) for t in ts)

    types = collections.defaultdict(set)
    for op in sg.operators:
        types[_op_name(m, op)].add("%s->%s" % (_TYPE_NAMES[sg.tensors[op.inputs[0]].type],
                                               _TYPE_NAMES[sg.tensors[op.outputs[0]].type]))
    hist = op_histogram(data)
    lines = []
    if markdown:
        lines.append("`%s` (%d bytes, %d operators; in: %s; out: %s): %s" % (
            os.path.basename(path), len(data), len(sg.operators), sig(sg.inputs), sig(sg.outputs),
            ", ".join("%s×%d" % (k, v) if v > 1 else k for k, v in hist.items())))
    else:
        lines.append("%s: %d bytes, %d operators" % (path, len(data), len(sg.operators)))
        lines.append("  inputs:  %s" % sig(sg.inputs))
        lines.append("  outputs: %s" % sig(sg.outputs))
        for k, v in hist.items():
            lines.append("  %-20s x%-3d %s" % (k, v, " ".join(sorted(types[k]))))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--markdown", action="store_true", help="one summary line per model")
    a = ap.parse_args(argv)
    for p in a.models:
        print(describe(p, a.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
