#!/usr/bin/env python3
"""Chooses the ONNX operator conformance tests that tinyc's ONNX path should run.

The tests ship inside the `onnx` pip package, under
onnx/backend/test/data/node/<test name>/:
    model.onnx                     a graph of one node (the "_expanded" variants:
                                   the same operator written as a graph of simpler ones)
    test_data_set_0/input_<i>.pb   serialized onnx.TensorProto, one per graph input
    test_data_set_0/output_<j>.pb  serialized onnx.TensorProto, the expected outputs

A test is kept when
  - every node of its graph is one of OPS below (so "_expanded" variants count
    when they decompose into operators of the list),
  - every graph input and output is a dense tensor with a fully known static shape
    and no zero-sized dimension,
  - the data inputs (input 0 of each node fed by the graph) are float32, int8 or
    uint8; other graph inputs may also be int64 (shapes, axes, pads, indices,
    starts/ends) or int32 (QLinearConv's bias): a tinyc test treats those as
    constants read from input_<i>.pb,
  - outputs are float32, int8 or uint8 (int64 for Shape),
  - no node runs in training mode (BatchNormalization training_mode=1).

Usage: python3 scripts/onnx/select_node_tests.py [--details]
Writes scripts/onnx/node_tests.txt (one test directory name per line, sorted).
"""

import argparse
import os
import sys

import onnx
from onnx import TensorProto

OPS = {
    "Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "PRelu", "Sigmoid",
    "HardSigmoid", "HardSwish", "Tanh", "MaxPool", "AveragePool", "GlobalAveragePool",
    "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Concat", "Reshape", "Flatten",
    "Transpose", "Softmax", "LogSoftmax", "Pad", "ReduceMean", "Squeeze", "Unsqueeze",
    "Slice", "Constant", "Identity", "Dropout", "Shape", "Gather", "Cast",
    "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
}

DATA_TYPES = {TensorProto.FLOAT, TensorProto.INT8, TensorProto.UINT8}
PARAM_TYPES = DATA_TYPES | {TensorProto.INT64, TensorProto.INT32}


def node_dir() -> str:
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")


def tensor_info(vi):
    """(elem_type, dims) of a ValueInfoProto, or None when it is not a static dense tensor."""
    if vi.type.WhichOneof("value") != "tensor_type":
        return None
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    dims = []
    for d in tt.shape.dim:
        if d.WhichOneof("value") != "dim_value" or d.dim_value <= 0:
            return None
        dims.append(d.dim_value)
    return tt.elem_type, dims


def check(path: str):
    """Returns (ok, reason, ops, opset)."""
    model = onnx.load(os.path.join(path, "model.onnx"))
    g = model.graph
    ops = [n.op_type for n in g.node]
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if any(n.domain not in ("", "ai.onnx") for n in g.node):
        return False, "non-default domain", ops, opset
    if not set(ops) <= OPS:
        return False, "ops " + ",".join(sorted(set(ops) - OPS)), ops, opset
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
           for n in g.node for a in n.attribute):
        return False, "subgraph attribute", ops, opset
    if any(a.name == "training_mode" and a.i != 0 for n in g.node for a in n.attribute):
        return False, "training_mode", ops, opset
    data_inputs = {n.input[0] for n in g.node if n.input}
    initializers = {t.name for t in g.initializer}
    for vi in g.input:
        if vi.name in initializers:
            continue
        info = tensor_info(vi)
        if info is None:
            return False, f"input {vi.name} not a static tensor", ops, opset
        allowed = DATA_TYPES if vi.name in data_inputs else PARAM_TYPES
        if info[0] not in allowed:
            return False, f"input {vi.name} type {TensorProto.DataType.Name(info[0])}", ops, opset
    for vi in g.output:
        info = tensor_info(vi)
        if info is None:
            return False, f"output {vi.name} not a static tensor", ops, opset
        allowed = DATA_TYPES | ({TensorProto.INT64} if ops == ["Shape"] else set())
        if info[0] not in allowed:
            return False, f"output {vi.name} type {TensorProto.DataType.Name(info[0])}", ops, opset
    return True, "", ops, opset


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--details", action="store_true", help="print each kept test's ops and opset, and why others were dropped")
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_tests.txt"))
    args = ap.parse_args()

    root = node_dir()
    kept = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if not os.path.isfile(os.path.join(path, "model.onnx")):
            continue
        model = onnx.load(os.path.join(path, "model.onnx"), load_external_data=False)
        if not any(n.op_type in OPS for n in model.graph.node):
            continue
        ok, reason, ops, opset = check(path)
        if ok:
            kept.append(name)
            if args.details:
                print(f"keep {name:60s} opset {opset:2d}  {' '.join(ops)}")
        elif args.details:
            print(f"drop {name:60s} {reason}")
    with open(args.output, "w") as f:
        f.write("".join(n + "\n" for n in kept))
    print(f"{len(kept)} tests written to {args.output} (onnx {onnx.__version__}, {root})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
