#!/usr/bin/env python3
"""Compares every integer layer of tinyc's lowered ONNX graph with ONNX Runtime.

    python3 scripts/ort_layers.py MODEL.onnx INPUT.npy DUMP_DIR [--json]

DUMP_DIR holds tinyc's per-op results for the integer graph (as `tinyc run X.tir
--dump-tensors DIR` writes them, with manifest.json); each op's `onnx:op N` location names the
ONNX node it came from, and so the quantized ONNX tensor it stands for (the output of the
QuantizeLinear that follows node N, or node N's own integer output).

Two comparisons per layer, both against ONNX Runtime with graph optimizations off (the
configuration of the goldens in ../shared/models/onnx):
- propagated: the whole model on INPUT, every quantized tensor read out. Differences here
  accumulate from layer to layer.
- local: the part of the ONNX graph between the layer's quantized inputs and its quantized
  output, run on tinyc's own values of those inputs. This is the error of one layer alone;
  between an integer kernel (fixed-point requantization, round half away from zero) and
  ONNX's QDQ semantics (float between the nodes, round half to even) it is expected to be
  at most 1 LSB.

Prints a table, or JSON with --json. Needs onnx and onnxruntime.
"""

import json
import os
import sys

import numpy as np
import onnx
import onnx.helper
import onnxruntime as ort


def session(model):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def to_onnx_layout(value, shape):
    """`value` (tinyc's, 4-D activations in NHWC) in the ONNX tensor's NCHW shape, or None.

    A 4-D value is taken as NHWC even when its shape reads the same both ways (C = H = W):
    the importer converts every 4-D activation of a CNN to NHWC, and runs 1-D ones as
    [N, 1, L, C]."""
    shape = tuple(shape)
    if value.ndim == 4 and (value.shape[0], value.shape[3], value.shape[1], value.shape[2]) == shape:
        return value.transpose(0, 3, 1, 2)
    # A 1-D activation [N, C, L] runs as NHWC [N, 1, L, C].
    if value.ndim == 4 and len(shape) == 3 and value.shape[1] == 1 and (value.shape[0], value.shape[3], value.shape[2]) == shape:
        return value.transpose(0, 3, 1, 2).reshape(shape)
    if value.shape == shape:
        return value
    # A 1-D model's input [N, C, L] comes channels-last, [N, L, C].
    if value.ndim == 3 and (value.shape[0], value.shape[2], value.shape[1]) == shape:
        return value.transpose(0, 2, 1)
    if value.size == int(np.prod(shape)) and [d for d in value.shape if d != 1] == [d for d in shape if d != 1]:
        return value.reshape(shape)
    return None


LAYOUT_OPS = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze"}


def as_onnx_type(value, dtype):
    """tinyc holds uint8 tensors as int8 (value - 128); back to the ONNX element type."""
    if dtype == np.uint8 and value.dtype == np.int8:
        return (value.astype(np.int16) + 128).astype(np.uint8)
    return value.astype(dtype)


def main(argv):
    as_json = "--json" in argv
    args = [a for a in argv if a != "--json"]
    if len(args) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    model_path, input_path, dump = args
    model = onnx.load(model_path, load_external_data=True)
    g = model.graph
    initializers = {i.name for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    # The quantized ONNX tensor each tinyc op stands for.
    manifest = json.load(open(os.path.join(dump, "manifest.json")))
    layers = []  # (tinyc op index, kind, onnx tensor, tinyc file)
    for op in manifest["operators"]:
        loc = op.get("location", "")
        if not loc.startswith("onnx:op ") or len(op["outputs"]) != 1 or op["outputs"][0]["type"] == "f32":
            continue
        node = g.node[int(loc.split()[1])]
        out = node.output[0]
        tensor = out
        if node.op_type != "QuantizeLinear":
            # The QuantizeLinear that reads node N's output, maybe through layout ops that
            # tinyc moved to the integer side (a Flatten between a pool and its quantize).
            t = out
            while len(consumers.get(t, [])) == 1 and consumers[t][0].op_type in LAYOUT_OPS:
                t = consumers[t][0].output[0]
            qs = [c for c in consumers.get(t, []) if c.op_type == "QuantizeLinear"]
            if len(qs) == 1:
                tensor = qs[0].output[0]
        layers.append((op["index"], op["kind"], tensor, os.path.join(dump, op["outputs"][0]["file"])))
    # An ONNX tensor several tinyc ops share a location with: the last one computes it.
    last = {t: i for i, (_, _, t, _) in enumerate(layers)}
    layers = [l for i, l in enumerate(layers) if last[l[2]] == i]
    mine = {t: np.load(f) for (_, _, t, f) in layers}

    graph_input = g.input[0].name
    x = np.load(input_path)

    # Propagated: the whole model, every mapped tensor read out.
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    present = {o.name for o in exposed.graph.output}
    for t in mine:
        if t not in present:
            exposed.graph.output.append(onnx.ValueInfoProto(name=t))
    names = [o.name for o in exposed.graph.output]
    full = dict(zip(names, session(exposed).run(None, {graph_input: x})))

    # Local: each layer on tinyc's own values of its quantized inputs.
    def part(tensor):
        """The nodes from the layer's quantized inputs to `tensor`, and those inputs."""
        found, nodes, stack, seen = [], [], [tensor], set()
        while stack:
            t = stack.pop()
            if t in seen:
                continue
            seen.add(t)
            if t != tensor and (t in mine or t == graph_input):
                found.append(t)
            elif t in producer:
                n = producer[t]
                if all(id(n) != id(m) for m in nodes):
                    nodes.append(n)
                stack.extend(i for i in n.input if i and i not in initializers)
        order = {id(n): k for k, n in enumerate(g.node)}
        nodes.sort(key=lambda n: order[id(n)])
        used = {i for n in nodes for i in n.input}
        value = lambda t: onnx.helper.make_tensor_value_info(
            t, onnx.helper.np_dtype_to_tensor_dtype(full[t].dtype if t in full else x.dtype), None)
        sub = onnx.helper.make_graph(
            nodes, "layer", [value(t) for t in found], [value(tensor)],
            [i for i in g.initializer if i.name in used])
        m = onnx.helper.make_model(sub, opset_imports=model.opset_import)
        m.ir_version = model.ir_version
        return found, m

    rows = []
    for index, kind, tensor, _ in layers:
        want_shape = full[tensor].shape
        got = to_onnx_layout(as_onnx_type(mine[tensor], full[tensor].dtype), want_shape)
        row = {"op": index, "kind": kind, "tensor": tensor, "elements": int(full[tensor].size)}
        if got is None:
            row["error"] = f"shape {list(mine[tensor].shape)} does not map to {list(want_shape)}"
            rows.append(row)
            continue
        d = np.abs(got.astype(np.int64) - full[tensor].astype(np.int64))
        row["propagated"] = {"differing": int((d != 0).sum()), "largest": int(d.max())}
        inputs, sub = part(tensor)
        feeds = {}
        for t in inputs:
            if t == graph_input:
                feeds[t] = x
            else:
                v = to_onnx_layout(as_onnx_type(mine[t], full[t].dtype), full[t].shape)
                if v is None:
                    break
                feeds[t] = v
        if len(feeds) == len(inputs):
            local = session(sub).run(None, feeds)[0]
            d = np.abs(got.astype(np.int64) - local.astype(np.int64))
            row["local"] = {"differing": int((d != 0).sum()), "largest": int(d.max())}
        rows.append(row)

    if as_json:
        print(json.dumps({"model": os.path.basename(model_path), "layers": rows}))
    else:
        print(f"{'op':>3} {'kind':18} {'elements':>8} {'local':>14} {'propagated':>14}  onnx tensor")
        for r in rows:
            cell = lambda k: f"{r[k]['differing']} (max {r[k]['largest']})" if k in r else "-"
            print(f"{r['op']:>3} {r['kind']:18} {r['elements']:>8} {cell('local'):>14} {cell('propagated'):>14}  {r['tensor'][-40:]}")
            if "error" in r:
                print("    " + r["error"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
