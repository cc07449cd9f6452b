#!/usr/bin/env python3
"""Builds tinyc's small ONNX example models and their ONNX Runtime goldens.

    pip install onnx==1.22.0 onnxruntime      (ONNX Runtime 1.32.0 made the committed files)
    python3 scripts/make_onnx_examples.py [--out Examples/onnx] [--check]

Models (NCHW, input "input" float32 1x3x16x16 unless said, output "probs" float32 1x10):
  cnn_float.onnx   float CNN built with onnx.helper (fixed numpy seeds):
                   Conv 3x3 pads 1 (3->8) -> BatchNormalization -> Relu -> MaxPool 2x2
                   -> depthwise Conv 3x3 pads 1 (group 8) -> Clip [0, 6]
                   -> pointwise Conv 1x1 (8->16) -> Relu -> GlobalAveragePool -> Flatten
                   -> Gemm (16->10, transB) -> Softmax
  cnn_qdq.onnx     cnn_float quantized by onnxruntime.quantization.quantize_static:
                   QDQ format, per-channel int8 weights, int8 activations, MinMax
                   calibration on CALIB_COUNT random inputs, after quant_pre_process
                   (which folds the BatchNormalization into the first Conv).
  cnn_qdq_u8.onnx  the same with uint8 activations (quantize_static's default
                   activation type), int8 per-channel weights.
  cnn1d_float.onnx a 1-D CNN over 10 features x 49 frames (input 1x10x49), as PyTorch
                   exports Conv1d/BatchNorm1d: see build_float_cnn1d.
  cnn1d_qdq.onnx   cnn1d_float quantized as cnn_qdq.
  cnn_qop.onnx     the same function written with the BatchNormalization folded into
                   the first Conv (in numpy) and the classifier as MatMul + Add (ONNX
                   has no standard QOperator Gemm: ORT would emit com.microsoft QGemm),
                   quantized in QOperator format (per-channel int8 weights, int8
                   activations, same calibration) with op_types_to_quantize =
                   QOP_OP_TYPES: QLinearConv, QLinearMatMul, QuantizeLinear,
                   DequantizeLinear and int8 MaxPool; Add, GlobalAveragePool, Flatten
                   and Softmax stay float.

Goldens (ONNX Runtime, CPUExecutionProvider, graph optimizations disabled):
  golden/<stem>.input<k>.npy    k = 0..2, numpy default_rng(k).uniform(-1, 1) as float32
  golden/<stem>.output<k>.npy   the model's output for that input
  golden/layers/<stem>.json     the nodes in graph order: index, name, op_type, and for each
                                output its file, ONNX value name, shape and dtype
  golden/layers/<stem>.input0/node<i>.npy   node i's output for golden input 0
                                (node<i>_<j>.npy for an output j > 0), from the same run
                                with every node output made a graph output

--check re-runs ONNX Runtime on the committed models and compares with the committed
goldens (outputs and layers) without writing anything (exit status 1 on a mismatch).
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 8
INPUT_SHAPE = (1, 3, 16, 16)
NUM_CLASSES = 10
GOLDEN_COUNT = 3
CALIB_COUNT = 8
CALIB_SEED = 1000
# Ops that ORT's QOperator quantizer turns into standard ONNX int8 ops (QLinearConv,
# QLinearMatMul, int8 MaxPool; Relu and Clip fold into the preceding QLinearConv's
# output range). Gemm, Add, GlobalAveragePool and Softmax would become com.microsoft
# contrib ops (QGemm, QLinearAdd, ...), so they stay float between DequantizeLinear
# and QuantizeLinear.
QOP_OP_TYPES = ["Conv", "MatMul", "Relu", "Clip", "MaxPool"]


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def build_float_cnn(classifier: str = "gemm", fold_bn: bool = False) -> onnx.ModelProto:
    """The float CNN. classifier is "gemm" (Gemm transB=1) or "matmul" (MatMul + Add).

    fold_bn=True writes the same function with the BatchNormalization folded into
    the first Conv (w' = w * g, b' = (b - mean) * g + beta, g = scale / sqrt(var + eps)).
    """
    rng = np.random.default_rng(20261122)

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    c1, c2, ncls = 8, 16, NUM_CLASSES
    inits = [
        const("conv1.w", he((c1, 3, 3, 3), 27)),
        const("conv1.b", rng.uniform(-0.1, 0.1, c1).astype(np.float32)),
        const("bn1.scale", rng.uniform(0.5, 1.5, c1).astype(np.float32)),
        const("bn1.bias", rng.uniform(-0.2, 0.2, c1).astype(np.float32)),
        const("bn1.mean", rng.uniform(-0.3, 0.3, c1).astype(np.float32)),
        const("bn1.var", rng.uniform(0.5, 2.0, c1).astype(np.float32)),
        const("dw.w", he((c1, 1, 3, 3), 9)),
        const("dw.b", rng.uniform(-0.1, 0.1, c1).astype(np.float32)),
        const("clip.min", np.float32(0.0)),
        const("clip.max", np.float32(6.0)),
        const("pw.w", he((c2, c1, 1, 1), c1)),
        const("pw.b", rng.uniform(-0.1, 0.1, c2).astype(np.float32)),
    ]
    fc_w = (rng.standard_normal((ncls, c2)) * np.sqrt(1.0 / c2)).astype(np.float32)
    fc_b = rng.uniform(-0.1, 0.1, ncls).astype(np.float32)

    eps = 1e-3
    if fold_bn:
        p = {t.name: numpy_helper.to_array(t) for t in inits}
        gain = p["bn1.scale"] / np.sqrt(p["bn1.var"] + np.float32(eps))
        folded = {
            "conv1.w": (p["conv1.w"] * gain[:, None, None, None]).astype(np.float32),
            "conv1.b": ((p["conv1.b"] - p["bn1.mean"]) * gain + p["bn1.bias"]).astype(np.float32),
        }
        inits = [const(t.name, folded[t.name]) if t.name in folded else t
                 for t in inits if not t.name.startswith("bn1.")]
        head = [
            helper.make_node("Conv", ["input", "conv1.w", "conv1.b"], ["bn1"], name="conv1",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        ]
    else:
        head = [
            helper.make_node("Conv", ["input", "conv1.w", "conv1.b"], ["conv1"], name="conv1",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
            helper.make_node("BatchNormalization", ["conv1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"],
                             ["bn1"], name="bn1", epsilon=eps),
        ]
    nodes = head + [
        helper.make_node("Relu", ["bn1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "dw.w", "dw.b"], ["dw"], name="dw",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=c1),
        helper.make_node("Clip", ["dw", "clip.min", "clip.max"], ["relu6"], name="relu6"),
        helper.make_node("Conv", ["relu6", "pw.w", "pw.b"], ["pw"], name="pw", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["pw"], ["relu2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["relu2"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flat", axis=1),
    ]
    if classifier == "gemm":
        inits += [const("fc.w", fc_w), const("fc.b", fc_b)]
        nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], name="fc", transB=1))
    elif classifier == "matmul":
        inits += [const("fc.wT", np.ascontiguousarray(fc_w.T)), const("fc.b", fc_b)]
        nodes.append(helper.make_node("MatMul", ["flat", "fc.wT"], ["fc.mm"], name="fc.matmul"))
        nodes.append(helper.make_node("Add", ["fc.mm", "fc.b"], ["logits"], name="fc.add"))
    else:
        raise ValueError(classifier)
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1))

    return make_model(nodes, inits, "tinyc_cnn", INPUT_SHAPE)


def make_model(nodes, inits, name: str, input_shape) -> onnx.ModelProto:
    """A checked model of `nodes`: input "input" float32 `input_shape`, output "probs" 1x10."""
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, NUM_CLASSES])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="tinyc scripts/make_onnx_examples.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


INPUT_SHAPE_1D = (1, 10, 49)


def build_float_cnn1d() -> onnx.ModelProto:
    """A 1-D float CNN over 10 features × 49 frames (a keyword spotter's MFCC input, as
    PyTorch's Conv1d/BatchNorm1d export it): Conv 1-D k3 pads 1 (10->16) -> BatchNormalization
    -> Relu -> depthwise Conv 1-D k3 dilation 2 pads 2 (group 16) -> Relu -> MaxPool k2 s2
    -> Conv 1-D k1 (16->24) -> Relu -> GlobalAveragePool -> Flatten -> Gemm (24->10) -> Softmax.
    """
    rng = np.random.default_rng(20261123)

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    c0, c1, c2, ncls = INPUT_SHAPE_1D[1], 16, 24, NUM_CLASSES
    inits = [
        const("conv1.w", he((c1, c0, 3), 3 * c0)),
        const("conv1.b", rng.uniform(-0.1, 0.1, c1).astype(np.float32)),
        const("bn1.scale", rng.uniform(0.5, 1.5, c1).astype(np.float32)),
        const("bn1.bias", rng.uniform(-0.2, 0.2, c1).astype(np.float32)),
        const("bn1.mean", rng.uniform(-0.3, 0.3, c1).astype(np.float32)),
        const("bn1.var", rng.uniform(0.5, 2.0, c1).astype(np.float32)),
        const("dw.w", he((c1, 1, 3), 3)),
        const("dw.b", rng.uniform(-0.1, 0.1, c1).astype(np.float32)),
        const("pw.w", he((c2, c1, 1), c1)),
        const("pw.b", rng.uniform(-0.1, 0.1, c2).astype(np.float32)),
        const("fc.w", (rng.standard_normal((ncls, c2)) * np.sqrt(1.0 / c2)).astype(np.float32)),
        const("fc.b", rng.uniform(-0.1, 0.1, ncls).astype(np.float32)),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv1.w", "conv1.b"], ["conv1"], name="conv1", kernel_shape=[3], pads=[1, 1]),
        helper.make_node("BatchNormalization", ["conv1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"],
                         ["bn1"], name="bn1", epsilon=1e-5),
        helper.make_node("Relu", ["bn1"], ["relu1"], name="relu1"),
        helper.make_node("Conv", ["relu1", "dw.w", "dw.b"], ["dw"], name="dw", kernel_shape=[3], pads=[2, 2],
                         dilations=[2], group=c1),
        helper.make_node("Relu", ["dw"], ["relu2"], name="relu2"),
        helper.make_node("MaxPool", ["relu2"], ["pool"], name="pool", kernel_shape=[2], strides=[2]),
        helper.make_node("Conv", ["pool", "pw.w", "pw.b"], ["pw"], name="pw", kernel_shape=[1]),
        helper.make_node("Relu", ["pw"], ["relu3"], name="relu3"),
        helper.make_node("GlobalAveragePool", ["relu3"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flat", axis=1),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    return make_model(nodes, inits, "tinyc_cnn1d", INPUT_SHAPE_1D)


def input_shape(model) -> tuple:
    """The (fixed) shape of a model's first input."""
    return tuple(d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim)


def golden_input(k: int, shape=INPUT_SHAPE) -> np.ndarray:
    return np.random.default_rng(k).uniform(-1.0, 1.0, shape).astype(np.float32)


def session(path: str):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def quantize(float_model: onnx.ModelProto, out_path: str, fmt: str, op_types=None,
             optimize: bool = True, uint8_activations: bool = False) -> None:
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(CALIB_SEED)
            self.batches = iter([{"input": rng.uniform(-1.0, 1.0, input_shape(float_model)).astype(np.float32)}
                                 for _ in range(CALIB_COUNT)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "float.onnx")
        pre = os.path.join(tmp, "pre.onnx")
        onnx.save(float_model, src)
        quant_pre_process(src, pre, skip_optimization=not optimize)
        quantize_static(
            pre, out_path, Reader(),
            quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
            op_types_to_quantize=op_types,
            per_channel=True,
            activation_type=QuantType.QUInt8 if uint8_activations else QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    model = onnx.load(out_path)
    # Drop the opset imports of domains no node uses (ORT lists every domain it knows).
    used = {n.domain for n in model.graph.node}
    kept = [o for o in model.opset_import if o.domain in ("", "ai.onnx") or o.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, out_path)


def summary(path: str) -> str:
    model = onnx.load(path)
    counts = {}
    for n in model.graph.node:
        key = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
        counts[key] = counts.get(key, 0) + 1
    opsets = ", ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import)
    ops = ", ".join(f"{k}x{v}" for k, v in sorted(counts.items()))
    return f"{os.path.basename(path)}: {os.path.getsize(path)} bytes, opsets [{opsets}], {ops}"


def write_goldens(model_path: str, golden_dir: str) -> None:
    stem = os.path.splitext(os.path.basename(model_path))[0]
    sess = session(model_path)
    name = sess.get_inputs()[0].name
    for k in range(GOLDEN_COUNT):
        x = golden_input(k, input_shape(onnx.load(model_path)))
        (y,) = sess.run(None, {name: x})
        np.save(os.path.join(golden_dir, f"{stem}.input{k}.npy"), x)
        np.save(os.path.join(golden_dir, f"{stem}.output{k}.npy"), y)


def write_layer_goldens(model_path: str, golden_dir: str) -> None:
    """Every node's outputs for golden input 0, so that a mismatch can be traced to one node.
    Outputs of type int4 / uint4 get no file (ONNX Runtime cannot hand them to numpy): such a
    node is listed with "outputs": []."""
    import json
    stem = os.path.splitext(os.path.basename(model_path))[0]
    model = onnx.shape_inference.infer_shapes(onnx.load(model_path), strict_mode=True)
    g = model.graph
    graph_outputs = {o.name for o in g.output}
    typed = {vi.name: vi for vi in list(g.value_info) + list(g.output)}
    four_bit = {n for n, vi in typed.items() if vi.type.tensor_type.elem_type in (TensorProto.INT4, TensorProto.UINT4)}
    for n in g.node:
        for name in n.output:
            if name and name not in graph_outputs and name not in four_bit:
                g.output.append(typed[name])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "all.onnx")
        onnx.save(model, path)
        sess = session(path)
        names = [o.name for o in sess.get_outputs()]
        values = dict(zip(names, sess.run(None, {g.input[0].name: golden_input(0, input_shape(onnx.load(model_path)))})))
    out_dir = os.path.join(golden_dir, "layers", f"{stem}.input0")
    os.makedirs(out_dir, exist_ok=True)
    index = []
    for i, n in enumerate(g.node):
        outs = []
        for j, name in enumerate(n.output):
            if not name or name in four_bit:
                continue
            file = f"node{i}.npy" if j == 0 else f"node{i}_{j}.npy"
            v = values[name]
            np.save(os.path.join(out_dir, file), v)
            outs.append({"file": file, "name": name, "shape": list(v.shape), "dtype": str(v.dtype)})
        index.append({"index": i, "name": n.name, "op_type": n.op_type, "outputs": outs})
    with open(os.path.join(golden_dir, "layers", f"{stem}.json"), "w") as f:
        f.write('{"model": %s, "input": %s, "nodes": [\n' % (
            json.dumps(os.path.basename(model_path)), json.dumps(f"{stem}.input0.npy")))
        f.write(",\n".join(" " + json.dumps(entry) for entry in index))
        f.write("\n]}\n")


def check_goldens(model_path: str, golden_dir: str) -> bool:
    stem = os.path.splitext(os.path.basename(model_path))[0]
    sess = session(model_path)
    name = sess.get_inputs()[0].name
    ok = True
    for k in range(GOLDEN_COUNT):
        x = np.load(os.path.join(golden_dir, f"{stem}.input{k}.npy"))
        want = np.load(os.path.join(golden_dir, f"{stem}.output{k}.npy"))
        if not np.array_equal(x, golden_input(k, input_shape(onnx.load(model_path)))):
            print(f"{stem}.input{k}.npy: not default_rng({k}).uniform(-1, 1)")
            ok = False
        (got,) = sess.run(None, {name: x})
        if not np.array_equal(got, want):
            print(f"{stem} input {k}: max |diff| {np.max(np.abs(got - want))}")
            ok = False
    with tempfile.TemporaryDirectory() as tmp:
        write_layer_goldens(model_path, tmp)
        fresh_dir = os.path.join(tmp, "layers", f"{stem}.input0")
        kept_dir = os.path.join(golden_dir, "layers", f"{stem}.input0")
        fresh, kept = sorted(os.listdir(fresh_dir)), sorted(os.listdir(kept_dir))
        if fresh != kept:
            print(f"{stem} layers: files differ")
            return False
        for f in fresh:
            if not np.array_equal(np.load(os.path.join(fresh_dir, f)), np.load(os.path.join(kept_dir, f))):
                print(f"{stem} layers/{f}: differs")
                ok = False
    return ok


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(root, "Examples", "onnx"))
    ap.add_argument("--check", action="store_true", help="compare ONNX Runtime with the committed goldens, write nothing")
    args = ap.parse_args()
    golden_dir = os.path.join(args.out, "golden")
    stems = ["cnn_float", "cnn_qdq", "cnn_qdq_u8", "cnn_qop", "cnn1d_float", "cnn1d_qdq"]

    if args.check:
        ok = all([check_goldens(os.path.join(args.out, s + ".onnx"), golden_dir) for s in stems])
        print("goldens match ONNX Runtime" if ok else "MISMATCH")
        return 0 if ok else 1

    os.makedirs(golden_dir, exist_ok=True)
    float_path = os.path.join(args.out, "cnn_float.onnx")
    float_model = build_float_cnn("gemm")
    onnx.save(float_model, float_path)
    quantize(float_model, os.path.join(args.out, "cnn_qdq.onnx"), "qdq")
    quantize(float_model, os.path.join(args.out, "cnn_qdq_u8.onnx"), "qdq", uint8_activations=True)
    float1d = build_float_cnn1d()
    onnx.save(float1d, os.path.join(args.out, "cnn1d_float.onnx"))
    quantize(float1d, os.path.join(args.out, "cnn1d_qdq.onnx"), "qdq")
    # No ORT pre-optimization here: it would fuse MatMul + Add back into Gemm.
    quantize(build_float_cnn("matmul", fold_bn=True), os.path.join(args.out, "cnn_qop.onnx"), "qop",
             op_types=QOP_OP_TYPES, optimize=False)
    for s in stems:
        path = os.path.join(args.out, s + ".onnx")
        write_goldens(path, golden_dir)
        write_layer_goldens(path, golden_dir)
        print(summary(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
