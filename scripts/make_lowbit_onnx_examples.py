#!/usr/bin/env python3
"""Low-bit ONNX examples (opset 21) and their ONNX Runtime goldens.

    python3 scripts/make_lowbit_onnx_examples.py [--out Examples/onnx] [--check]

Both models are the same small CNN (input "input" float32 1x3x16x16, output "logits" float32 1x10, NCHW),
weights from numpy default_rng(SEED), activation scales from a float run on CALIB_COUNT random inputs:

    Conv 3x3 pads 1 (3->8) + Relu -> MaxPool 2x2 -> depthwise Conv 3x3 pads 1 (group 8) + Relu
    -> Conv 1x1 (8->16) + Relu -> GlobalAveragePool -> Flatten -> Gemm (16->10, transB)

  cnn_int4_qdq.onnx  QDQ with ONNX's 4-bit types: int8 input, int4 weights (per output channel for the
                     convolutions, per tensor for the Gemm), uint4 activations after every Relu, the
                     MaxPool and the GlobalAveragePool (zero point 0), int32 biases, int8 logits.
  cnn_qcdq.onnx      QCDQ as Brevitas exports low-bit tensors: int8/uint8 containers narrowed by a Clip
                     between QuantizeLinear and DequantizeLinear (min/max as constant inputs):
                       conv1 weights   int8 initializer -> Clip [-7, 7] -> DQ (per channel)   4 bits
                       relu1, pool     uint8 Q -> Clip [0, 15] -> DQ                          4 bits
                       dw weights      float initializer -> Q int8 (per channel) -> Clip [-1, 1] -> DQ   2 bits
                       relu2           uint8 Q -> Clip [0, 3] -> DQ                           2 bits
                       pw weights      int8 initializer -> Clip [-8, 7] -> DQ (per channel)   4 bits
                       relu3           uint8 Q -> Clip [0, 200] -> DQ    (no 2- or 4-bit range: 8 bits)
                       pool            uint8 Q -> DQ                                          8 bits
                       fc weights      int8 initializer -> Clip [-2, 1] -> DQ (per tensor)    2 bits
                     int8 input and logits (no Clip).

Goldens: the layout of make_onnx_examples.py (golden/<stem>.input<k>.npy, .output<k>.npy, k = 0..2,
default_rng(k).uniform(-1, 1); golden/layers/<stem>.json and <stem>.input0/node<i>.npy), from ONNX Runtime
(CPU, graph optimizations disabled). --check re-runs ONNX Runtime and compares, writing nothing.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_onnx_examples as mo  # noqa: E402

OPSET = 21
IR_VERSION = 10
SEED = 20261203
CALIB_COUNT = 16
CALIB_SEED = 1000
SHAPE = (1, 3, 16, 16)


def weights():
    rng = np.random.default_rng(SEED)

    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    return {
        "conv1": (he((8, 3, 3, 3), 27), rng.uniform(-0.1, 0.1, 8).astype(np.float32)),
        "dw": (he((8, 1, 3, 3), 9), rng.uniform(-0.1, 0.1, 8).astype(np.float32)),
        "pw": (he((16, 8, 1, 1), 8), rng.uniform(-0.1, 0.1, 16).astype(np.float32)),
        "fc": (he((10, 16), 16), rng.uniform(-0.1, 0.1, 10).astype(np.float32)),
    }


class Builder:
    def __init__(self):
        self.nodes, self.inits = [], []

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output


def float_graph(b, w, tap=None):
    """The float CNN; `tap(name, x)` may wrap each activation (returns the tensor to use)."""
    tap = tap or (lambda name, x, **_: x)
    x = tap("input_q", "input")
    x = b.node("Conv", [x, w("conv1"), w("conv1_b")], "conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    x = tap("relu1", b.node("Relu", [x], "relu1"))
    x = tap("pool1", b.node("MaxPool", [x], "pool1", kernel_shape=[2, 2], strides=[2, 2]), same_as="relu1")
    x = b.node("Conv", [x, w("dw"), w("dw_b")], "dw", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8)
    x = tap("relu2", b.node("Relu", [x], "relu2"))
    x = b.node("Conv", [x, w("pw"), w("pw_b")], "pw", kernel_shape=[1, 1])
    x = tap("relu3", b.node("Relu", [x], "relu3"))
    x = tap("gap", b.node("GlobalAveragePool", [x], "gap"))
    x = b.node("Flatten", [x], "flat", axis=1)
    x = b.node("Gemm", [x, w("fc"), w("fc_b")], "fc", transB=1)
    return tap("logits", x)


def model(b, out, name):
    graph = helper.make_graph(
        b.nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(SHAPE))],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 10])],
        initializer=b.inits)
    m = helper.make_model(graph, producer_name="tinyc scripts/make_lowbit_onnx_examples.py",
                          opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = IR_VERSION
    onnx.checker.check_model(m, full_check=True)
    return m


def ranges(W):
    """Largest value of each activation over the calibration inputs (float model)."""
    b = Builder()
    names = []

    def tap(name, x, **_):
        if name != "input_q":
            names.append(x)
        return x

    out = float_graph(b, lambda k: b.const(k + "_f", W[k.removesuffix("_b")][1 if k.endswith("_b") else 0]), tap)
    m = model(b, out, "calib")
    for n in names:
        if n != out:
            m.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "f.onnx")
        onnx.save(m, p)
        sess = mo.session(p)
        rng = np.random.default_rng(CALIB_SEED)
        xs = [rng.uniform(-1, 1, SHAPE).astype(np.float32) for _ in range(CALIB_COUNT)]
        outs = [dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input": x}))) for x in xs]
    return {n: float(max(np.abs(o[n]).max() for o in outs)) for n in names}


# Activation quantization per model: tensor -> (container type, bits or clip range).
INT4_ACTS = {"relu1": ("uint4", None), "pool1": ("uint4", None), "relu2": ("uint4", None),
             "relu3": ("uint4", None), "gap": ("uint4", None)}
QCDQ_ACTS = {"relu1": ("uint8", (0, 15)), "pool1": ("uint8", (0, 15)), "relu2": ("uint8", (0, 3)),
             "relu3": ("uint8", (0, 200)), "gap": ("uint8", None)}
# Weights: (bits, per channel, how).
INT4_W = {"conv1": (4, True, "int4"), "dw": (4, True, "int4"), "pw": (4, True, "int4"), "fc": (4, False, "int4")}
QCDQ_W = {"conv1": ((-7, 7), True, "int8 clip"), "dw": ((-1, 1), True, "q clip"),
          "pw": ((-8, 7), True, "int8 clip"), "fc": ((-2, 1), False, "int8 clip")}

NP = {"int8": np.int8, "uint8": np.uint8}
ONNX_T = {"int4": TensorProto.INT4, "uint4": TensorProto.UINT4}


def quantized(kind):
    W = weights()
    R = ranges(W)
    b = Builder()
    acts = INT4_ACTS if kind == "int4" else QCDQ_ACTS
    wq = INT4_W if kind == "int4" else QCDQ_W
    act_scale = {}

    def zero_point(name, container, value=0):
        if container in ONNX_T:
            return _typed_zero(b, name, container, value)
        return b.const(name, np.array(value, NP[container]))

    def qdq(name, x, container, scale, zp=0, clip=None):
        s = b.const(name + "_scale", np.float32(scale))
        z = zero_point(name + "_zp", container, zp)
        q = b.node("QuantizeLinear", [x, s, z], name + "_Q")
        if clip is not None:
            lo = b.const(name + "_lo", np.array(clip[0], NP[container]))
            hi = b.const(name + "_hi", np.array(clip[1], NP[container]))
            q = b.node("Clip", [q, lo, hi], name + "_C")
        return b.node("DequantizeLinear", [q, s, z], name + "_DQ")

    def tap(name, x, same_as=None):
        if name == "input_q":
            act_scale[name] = 1.0 / 127
            return qdq(name, x, "int8", act_scale[name])
        if name == "logits":
            return qdq(name, x, "int8", R[x] / 127)
        container, rng_ = acts[name]
        levels = (15 if container == "uint4" else (rng_[1] if rng_ else 255))
        scale = act_scale[same_as] if same_as else R[x] / levels
        act_scale[name] = scale
        return qdq(name, x, container, scale, clip=rng_)

    prev_scale = {"conv1": "input_q", "dw": "pool1", "pw": "relu2", "fc": "gap"}

    def w(key):
        base = key.removesuffix("_b")
        wf, bf = W[base]
        bits, per_channel, how = wq[base]
        if kind == "int4":
            lo, hi = -8, 7
        else:
            lo, hi = bits
        axes = tuple(range(1, wf.ndim))
        amax = np.abs(wf).max(axis=axes) if per_channel else np.array([np.abs(wf).max()])
        s = (amax / max(hi, -lo)).astype(np.float32)
        shape = (-1,) + (1,) * (wf.ndim - 1)
        sb = s.reshape(shape) if per_channel else s[0]
        if key.endswith("_b"):
            bscale = (np.float32(act_scale[prev_scale[base]]) * s).astype(np.float32)
            bq = np.round(bf / (bscale if per_channel else bscale[0])).astype(np.int32)
            sc = b.const(base + "_bscale", bscale if per_channel else bscale[0])
            q = b.const(base + "_bq", bq)
            return b.node("DequantizeLinear", [q, sc, b.const(base + "_bzp", np.zeros_like(bq) if per_channel else np.int32(0))],
                          base + "_b", **({"axis": 0} if per_channel else {}))
        q = np.clip(np.round(wf / sb), lo, hi).astype(np.int8)
        sc = b.const(base + "_wscale", s if per_channel else s[0])
        axis = {"axis": 0} if per_channel else {}
        if kind == "int4":
            t = helper.make_tensor(base + "_wq", TensorProto.INT4, q.shape, q.flatten().tolist())
            b.inits.append(t)
            z = _typed_zero(b, base + "_wzp", "int4", 0, count=len(s) if per_channel else None)
            return b.node("DequantizeLinear", [base + "_wq", sc, z], base + "_w", **axis)
        z = b.const(base + "_wzp", np.zeros(len(s), np.int8) if per_channel else np.int8(0))
        if how == "q clip":
            # QuantizeLinear of the float initializer, then the Clip (as Brevitas writes weights).
            src = b.node("QuantizeLinear", [b.const(base + "_wf", wf), sc, z], base + "_wQ", **axis)
        else:
            src = b.const(base + "_wq", q)
        lo_, hi_ = b.const(base + "_wlo", np.int8(lo)), b.const(base + "_whi", np.int8(hi))
        c = b.node("Clip", [src, lo_, hi_], base + "_wC")
        return b.node("DequantizeLinear", [c, sc, z], base + "_w", **axis)

    out = float_graph(b, w, tap)
    return model(b, out, "tinyc_cnn_" + kind)


def _typed_zero(b, name, container, value, count=None):
    """A zero point of ONNX type int4 / uint4 (numpy has no 4-bit type)."""
    dims = [] if count is None else [count]
    vals = [value] * (1 if count is None else count)
    b.inits.append(helper.make_tensor(name, ONNX_T[container], dims, vals))
    return name


MODELS = {"cnn_int4_qdq": "int4", "cnn_qcdq": "qcdq"}


def check(path, golden_dir):
    """Outputs and layer goldens of a committed model against a fresh ONNX Runtime run."""
    stem = os.path.splitext(os.path.basename(path))[0]
    sess = mo.session(path)
    ok = True
    for k in range(mo.GOLDEN_COUNT):
        x = np.load(os.path.join(golden_dir, f"{stem}.input{k}.npy"))
        (got,) = sess.run(None, {"input": x})
        if not np.array_equal(got, np.load(os.path.join(golden_dir, f"{stem}.output{k}.npy"))):
            print(f"{stem} input {k}: differs")
            ok = False
    with tempfile.TemporaryDirectory() as tmp:
        mo.write_layer_goldens(path, tmp)
        fresh = os.path.join(tmp, "layers", f"{stem}.input0")
        kept = os.path.join(golden_dir, "layers", f"{stem}.input0")
        if sorted(os.listdir(fresh)) != sorted(os.listdir(kept)):
            print(f"{stem} layers: files differ")
            return False
        for f in os.listdir(fresh):
            if not np.array_equal(np.load(os.path.join(fresh, f)), np.load(os.path.join(kept, f))):
                print(f"{stem} layers/{f}: differs")
                ok = False
    return ok


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(root, "Examples", "onnx"))
    ap.add_argument("--check", action="store_true", help="compare with the committed files, write nothing")
    a = ap.parse_args()
    golden_dir = os.path.join(a.out, "golden")
    ok = True
    for stem, kind in MODELS.items():
        m = quantized(kind)
        path = os.path.join(a.out, stem + ".onnx")
        if a.check:
            with open(path, "rb") as f:
                same = f.read() == m.SerializeToString()
            print(f"{stem}.onnx: {'identical' if same else 'DIFFERS'}")
            ok &= same and check(path, golden_dir)
            continue
        onnx.save(m, path)
        mo.write_goldens(path, golden_dir)
        mo.write_layer_goldens(path, golden_dir)
        print(mo.summary(path))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
