#!/usr/bin/env python3
"""Build the small example .tflite models in Examples/.

Usage:
    python3 scripts/make_examples.py [--out-dir Examples] [--only NAME ...]

Each model is a few Keras layers (for the weighted ops) and TensorFlow ops, with weights drawn from
fixed seeds (nothing is trained), converted by the TFLite converter:
  - int8 models: full-integer post-training quantization (optimizations=[DEFAULT], a representative
    dataset of 32 random uniform(-1, 1) inputs, int8 input and output, per-channel int8 weights);
  - quant_io_s: the same but float32 input and output (so QUANTIZE and DEQUANTIZE appear);
  - float_s: no optimization, all float32.
At the end it prints each model's operator histogram, runs each model once in TFLite Micro, and asserts
that the builtins listed in REQUIRED_OPS are all covered (and which of them exist in both int8 and float32).
Needs the versions in scripts/requirements-goldens.txt.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers as L  # noqa: E402
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import list_ops  # noqa: E402
import tflm_goldens  # noqa: E402

REQUIRED_OPS = [
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "RESHAPE",
    "SQUEEZE", "SOFTMAX", "ADD", "SUB", "MUL", "CONCATENATION", "PAD", "MEAN", "QUANTIZE",
    "DEQUANTIZE", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "HARD_SWISH", "TRANSPOSE",
    "STRIDED_SLICE",
]
# Ops that only exist on one side by nature.
INT8_ONLY = {"QUANTIZE", "DEQUANTIZE"}

MAX_MODEL_BYTES = 150 * 1024


# ----------------------------------------------------------------------------------------------
# helpers

def _bn(name, channels, rng):
    """A BatchNormalization layer with non-trivial (random, fixed) statistics; folded by the converter."""
    bn = L.BatchNormalization(name=name, epsilon=1e-3)
    bn.build((None, None, None, channels))
    bn.set_weights([
        rng.uniform(0.6, 1.4, channels).astype(np.float32),   # gamma
        rng.uniform(-0.2, 0.2, channels).astype(np.float32),  # beta
        rng.uniform(-0.2, 0.2, channels).astype(np.float32),  # moving mean
        rng.uniform(0.5, 1.5, channels).astype(np.float32),   # moving variance
    ])
    return bn


def _bias_init():
    return keras.initializers.RandomUniform(-0.1, 0.1)


def conv(filters, k, stride=1, padding="same", name=None, use_bias=True):
    return L.Conv2D(filters, k, strides=stride, padding=padding, name=name, use_bias=use_bias,
                    bias_initializer=_bias_init())


def dwconv(k, stride=1, padding="same", name=None):
    return L.DepthwiseConv2D(k, strides=stride, padding=padding, name=name,
                             bias_initializer=_bias_init())


def dense(units, name=None):
    return L.Dense(units, name=name, bias_initializer=_bias_init())


def hard_swish(x):
    # The pattern the converter turns into one HARD_SWISH op.
    return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


_TAPPED = None  # when a list, tap() records the input of the head layer (eager runs only)


def tap(layer, x):
    """Calls the model's last weighted layer; records its input while fit_head() runs the model."""
    if _TAPPED is not None:
        _TAPPED.append(np.asarray(x).reshape(-1))
    return layer(x)


def fit_head(net, data, target_std=2.0):
    """Random weights and global pooling make the classifier's input nearly the same for every random
    input, so the logits would be constant (and the softmax flat). The only "training": refit the head
    (Dense or 1x1 Conv) on random data so that its outputs are centered (bias = -mean) with a standard
    deviation of `target_std` over those inputs (weights scaled per output)."""
    global _TAPPED
    _TAPPED = []
    try:
        for x in data:
            net(tf.constant(x[None] if x.ndim == len(net.fixed_input_shape) - 1 else x))
        feats = np.stack(_TAPPED)
    finally:
        _TAPPED = None
    w, b = net.head.get_weights()
    w2 = w.reshape(-1, w.shape[-1])
    z = feats @ w2
    scale = target_std / np.maximum(z.std(axis=0), 1e-6)
    w2 = w2 * scale
    b = -(z * scale).mean(axis=0) + 0.1 * b
    net.head.set_weights([w2.reshape(w.shape).astype(np.float32), b.astype(np.float32)])


class Net(keras.Model):
    """A Keras model whose call() is `forward` (Keras layers for the weighted ops, TensorFlow ops for the
    rest); `layers_` keeps the layers tracked so that their weights are part of the model."""

    def __init__(self, name, input_shape, forward, layers, head=None):
        super().__init__(name=name)
        self.layers_ = list(layers)
        self.head = head
        self.fixed_input_shape = tuple(input_shape)
        self._forward = forward

    def call(self, x):
        return self._forward(x)


# ----------------------------------------------------------------------------------------------
# models

def ds_cnn_s():
    """DS-CNN keyword spotting, MLPerf-Tiny-like but narrower (16 channels)."""
    rng = np.random.default_rng(11)
    c = 16
    conv0 = conv(c, (10, 4), stride=2, name="conv0", use_bias=False)
    bn0 = _bn("bn0", c, rng)
    blocks = []
    for i in range(3):
        blocks.append((dwconv(3, name="dw%d" % (i + 1)), _bn("bn_dw%d" % (i + 1), c, rng),
                       conv(c, 1, name="pw%d" % (i + 1), use_bias=False), _bn("bn_pw%d" % (i + 1), c, rng)))
    fc = dense(12, name="fc")

    def forward(x):
        y = tf.nn.relu(bn0(conv0(x), training=False))          # 1x25x5x16
        for dw, bdw, pw, bpw in blocks:
            y = tf.nn.relu(bdw(dw(y), training=False))
            y = tf.nn.relu(bpw(pw(y), training=False))
        y = tf.nn.avg_pool2d(y, ksize=(25, 5), strides=1, padding="VALID")  # 1x1x1x16
        y = tf.reshape(y, (1, c))
        return tf.nn.softmax(tap(fc, y))

    flat = [conv0, bn0, fc] + [l for b in blocks for l in b]
    return Net("ds_cnn_s", (1, 49, 10, 1), forward, flat, head=fc)


def mobilenet_s():
    """MobileNet-V2/V3-like: explicit symmetric PAD + valid stride-2 convs (not foldable into SAME), relu6, HARD_SWISH, an inverted residual
    block (ADD), a squeeze-excite gate (MEAN, LOGISTIC, MUL), global average pooling by MEAN, SQUEEZE."""
    stem = conv(8, 3, stride=2, padding="valid", name="stem")
    dw1 = dwconv(3, name="dw1")
    pw1 = conv(16, 1, name="pw1")
    dw2 = dwconv(3, stride=2, padding="valid", name="dw2")
    pw2 = conv(24, 1, name="pw2")
    exp3 = conv(48, 1, name="expand3")
    dw3 = dwconv(3, name="dw3")
    se_r = conv(8, 1, name="se_reduce")
    se_e = conv(48, 1, name="se_expand")
    proj3 = conv(24, 1, name="project3")
    head = conv(10, 1, name="head")

    def forward(x):                                                   # 1x32x32x3
        y = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])               # PAD -> 34x34
        y = tf.nn.relu6(stem(y))                                      # 16x16x8
        y = tf.nn.relu6(dw1(y))
        y = hard_swish(pw1(y))                                        # 16x16x16
        y = tf.pad(y, [[0, 0], [1, 1], [1, 1], [0, 0]])               # PAD -> 18x18
        y = tf.nn.relu6(dw2(y))                                       # 8x8x16
        y = hard_swish(pw2(y))                                        # 8x8x24
        r = tf.nn.relu6(exp3(y))                                      # 8x8x48
        r = tf.nn.relu6(dw3(r))
        s = tf.reduce_mean(r, axis=[1, 2], keepdims=True)             # MEAN 1x1x1x48
        s = tf.sigmoid(se_e(tf.nn.relu(se_r(s))))                     # LOGISTIC
        r = r * s                                                     # MUL (broadcast)
        y = y + proj3(r)                                              # ADD 8x8x24
        y = tf.reduce_mean(y, axis=[1, 2], keepdims=True)             # MEAN 1x1x1x24
        y = tap(head, y)                                              # 1x1x1x10
        y = tf.squeeze(y, axis=[1, 2], name=SQUEEZE_MARK)             # SQUEEZE 1x10
        return tf.nn.softmax(y)

    return Net("mobilenet_s", (1, 32, 32, 3), forward,
               [stem, dw1, pw1, dw2, pw2, exp3, dw3, se_r, se_e, proj3, head], head=head)


def resnet_s():
    """ResNet-8-like on 16x16x3: two residual blocks with ADD skips (one with a 1x1 stride-2 shortcut)."""
    rng = np.random.default_rng(13)
    c0 = conv(16, 3, name="conv0", use_bias=False)
    b0 = _bn("bn0", 16, rng)
    c1a, c1b = conv(16, 3, name="b1_conv_a"), conv(16, 3, name="b1_conv_b")
    c2a, c2b = conv(32, 3, stride=2, name="b2_conv_a"), conv(32, 3, name="b2_conv_b")
    sc2 = conv(32, 1, stride=2, name="b2_shortcut")
    fc = dense(10, name="fc")

    def forward(x):                                                   # 1x16x16x3
        y = tf.nn.relu(b0(c0(x), training=False))                     # 16x16x16
        r = c1b(tf.nn.relu(c1a(y)))
        y = tf.nn.relu(y + r)                                         # ADD (relu fused)
        r = c2b(tf.nn.relu(c2a(y)))                                   # 8x8x32
        y = tf.nn.relu(sc2(y) + r)
        y = tf.nn.avg_pool2d(y, ksize=8, strides=8, padding="VALID")  # 1x1x1x32
        y = tf.reshape(y, (1, 32))
        return tf.nn.softmax(tap(fc, y))

    return Net("resnet_s", (1, 16, 16, 3), forward, [c0, b0, c1a, c1b, c2a, c2b, sc2, fc], head=fc)


def op_zoo(name):
    """Every required builtin (but QUANTIZE/DEQUANTIZE) in one small graph. Used for ops_int8 and float_s.
    Standalone RELU/RELU6 follow ops the converter does not fuse them into (CONCATENATION)."""
    c0 = conv(8, 3, name="conv0")
    dw = dwconv(3, stride=2, name="dw")
    c1 = conv(8, 1, name="conv1")
    fc = dense(10, name="fc")

    def forward(x):                                                   # 1x8x8x4
        a = c0(x)                                                     # CONV_2D 8x8x8
        b = tf.nn.leaky_relu(a, alpha=0.2)                            # LEAKY_RELU
        c = tf.sigmoid(a)                                             # LOGISTIC
        d = tf.tanh(a)                                                # TANH
        e = tf.nn.relu(tf.concat([b, c, d], axis=3))                  # CONCATENATION, RELU 8x8x24
        g = tf.nn.max_pool2d(e, ksize=2, strides=2, padding="VALID")  # MAX_POOL_2D 4x4x24
        h = tf.nn.avg_pool2d(e, ksize=2, strides=2, padding="VALID")  # AVERAGE_POOL_2D 4x4x24
        m = tf.nn.relu6(g * h)                                        # MUL (relu6 fused)
        s = g - h                                                     # SUB
        t = tf.transpose(s, [0, 2, 1, 3])                             # TRANSPOSE
        u = hard_swish(c1(tf.nn.relu(dw(x))))                         # DEPTHWISE_CONV_2D, CONV_2D, HARD_SWISH 4x4x8
        v = tf.pad(u, [[0, 0], [1, 0], [0, 1], [0, 0]])               # PAD 5x5x8
        v = tf.reduce_mean(v, axis=[1, 2], keepdims=True)             # MEAN 1x1x1x8
        v = tf.squeeze(v, axis=[1, 2], name=SQUEEZE_MARK)             # SQUEEZE 1x8
        w = t[:, 0:4:2, 1:4:2, :] + m[:, 1:4:2, 0:4:2, :]             # STRIDED_SLICE x2, ADD 1x2x2x24
        w = tf.reshape(w, (1, 96))                                    # RESHAPE
        z = tap(fc, tf.nn.relu6(tf.concat([w, v], axis=1)))          # RELU6, FULLY_CONNECTED 1x10
        return tf.nn.softmax(z)                                       # SOFTMAX

    return Net(name, (1, 8, 8, 4), forward, [c0, dw, c1, fc], head=fc)


def quant_io_s():
    """int8 inside, float32 input and output: QUANTIZE in front, DEQUANTIZE at the end."""
    c0 = conv(8, 3, stride=2, name="conv0")
    dw = dwconv(3, name="dw")
    c1 = conv(16, 1, name="conv1")
    fc = dense(6, name="fc")

    def forward(x):                                                   # 1x12x12x2
        y = tf.nn.relu(c0(x))                                         # 6x6x8
        y = tf.nn.relu6(dw(y))
        y = tf.nn.relu(c1(y))                                         # 6x6x16
        y = tf.nn.max_pool2d(y, ksize=2, strides=2, padding="VALID")  # 3x3x16
        y = tf.reshape(y, (1, 144))
        return tf.tanh(tap(fc, y))

    return Net("quant_io_s", (1, 12, 12, 2), forward, [c0, dw, c1, fc], head=fc)


# name -> (builder, kind, seed); kind: "int8" (int8 in/out), "int8_float_io", "float"
MODELS = {
    "ds_cnn_s": (ds_cnn_s, "int8", 1),
    "mobilenet_s": (mobilenet_s, "int8", 2),
    "resnet_s": (resnet_s, "int8", 3),
    "ops_int8": (lambda: op_zoo("ops_int8"), "int8", 4),
    "float_s": (lambda: op_zoo("float_s"), "float", 5),
    "quant_io_s": (quant_io_s, "int8_float_io", 6),
}


# ----------------------------------------------------------------------------------------------
# conversion

# The converter turns every tf.squeeze with static shapes into RESHAPE. A squeeze named SQUEEZE_MARK is
# turned back into a SQUEEZE operator (SqueezeOptions.squeeze_dims = the squeezed axes) after conversion,
# with the schema's object API; the RESHAPE's shape tensor is dropped if nothing else uses it.
SQUEEZE_MARK = "as_squeeze"


def _compact(model):
    """Drop tensors (subgraph 0) and buffers that nothing refers to; keeps buffer 0 (the empty one)."""
    sg = model.subgraphs[0]
    used = set(int(t) for t in sg.inputs) | set(int(t) for t in sg.outputs)
    for op in sg.operators:
        used |= set(int(t) for t in op.inputs if t >= 0) | set(int(t) for t in op.outputs)
        if op.intermediates is not None:
            used |= set(int(t) for t in op.intermediates)
    keep = [i for i in range(len(sg.tensors)) if i in used]
    remap = {old: new for new, old in enumerate(keep)}
    sg.tensors = [sg.tensors[i] for i in keep]
    sg.inputs = [remap[int(t)] for t in sg.inputs]
    sg.outputs = [remap[int(t)] for t in sg.outputs]
    for op in sg.operators:
        op.inputs = [remap[int(t)] if t >= 0 else -1 for t in op.inputs]
        op.outputs = [remap[int(t)] for t in op.outputs]
        if op.intermediates is not None:
            op.intermediates = [remap[int(t)] for t in op.intermediates]
    if model.signatureDefs:
        for sd in model.signatureDefs:
            for tm in (sd.inputs or []) + (sd.outputs or []):
                tm.tensorIndex = remap[int(tm.tensorIndex)]
    used_buf = {0} | {int(t.buffer) for sgx in model.subgraphs for t in sgx.tensors}
    if model.metadata:
        used_buf |= {int(md.buffer) for md in model.metadata}
    keep_b = [i for i in range(len(model.buffers)) if i in used_buf]
    remap_b = {old: new for new, old in enumerate(keep_b)}
    model.buffers = [model.buffers[i] for i in keep_b]
    for sgx in model.subgraphs:
        for t in sgx.tensors:
            t.buffer = remap_b[int(t.buffer)]
    if model.metadata:
        for md in model.metadata:
            md.buffer = remap_b[int(md.buffer)]


def restore_squeezes(data):
    import tempfile
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
    from tflite_micro.tensorflow.lite.micro.tools import tflite_flatbuffer_align_wrapper as align

    model = list_ops._model(data)
    sg = model.subgraphs[0]
    changed = False
    for op in sg.operators:
        code = model.operatorCodes[op.opcodeIndex]
        out = sg.tensors[op.outputs[0]]
        name = out.name.decode() if isinstance(out.name, bytes) else str(out.name)
        if max(code.builtinCode, code.deprecatedBuiltinCode) != fb.BuiltinOperator.RESHAPE:
            continue
        if SQUEEZE_MARK not in name.split(";")[0]:
            continue
        in_shape = [int(d) for d in sg.tensors[op.inputs[0]].shape]
        out_shape = [int(d) for d in out.shape]
        dims = [i for i, d in enumerate(in_shape) if d == 1]
        # squeeze exactly the unit axes that are not in the output (leading batch axis stays)
        dims = [i for i in dims if i != 0]
        assert [d for i, d in enumerate(in_shape) if i not in dims] == out_shape, (in_shape, out_shape)
        idx = None
        for i, oc in enumerate(model.operatorCodes):
            if max(oc.builtinCode, oc.deprecatedBuiltinCode) == fb.BuiltinOperator.SQUEEZE:
                idx = i
        if idx is None:
            oc = fb.OperatorCodeT()
            oc.builtinCode = fb.BuiltinOperator.SQUEEZE
            oc.deprecatedBuiltinCode = fb.BuiltinOperator.SQUEEZE
            oc.version = 1
            model.operatorCodes.append(oc)
            idx = len(model.operatorCodes) - 1
        op.opcodeIndex = idx
        op.inputs = [op.inputs[0]]
        opts = fb.SqueezeOptionsT()
        opts.squeezeDims = dims
        op.builtinOptionsType = fb.BuiltinOptions.SqueezeOptions
        op.builtinOptions = opts
        changed = True
    if not changed:
        return data
    _compact(model)
    b = flatbuffers.Builder(0)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    # Re-serialize through the C++ flatbuffer API so that constant buffers are aligned again.
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.tflite"), os.path.join(d, "out.tflite")
        with open(src, "wb") as f:
            f.write(bytes(b.Output()))
        align.align_tflite_model(src, dst)
        with open(dst, "rb") as f:
            return f.read()


def convert(net, kind, seed):
    # The model is traced at its fixed input shape (batch 1) and its variables are frozen into constants.
    fn = tf.function(lambda x: net(x, training=False),
                     input_signature=[tf.TensorSpec(net.fixed_input_shape, tf.float32, name="input")],
                     autograph=False)
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
    conv_ = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    if kind in ("int8", "int8_float_io"):
        rep = np.random.default_rng(1000 + seed).uniform(
            -1, 1, (32,) + net.fixed_input_shape).astype(np.float32)

        def representative_dataset():
            for r in rep:
                yield [r]

        conv_.optimizations = [tf.lite.Optimize.DEFAULT]
        conv_.representative_dataset = representative_dataset
        conv_.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if kind == "int8":
            conv_.inference_input_type = tf.int8
            conv_.inference_output_type = tf.int8
        else:
            conv_.inference_input_type = tf.float32
            conv_.inference_output_type = tf.float32
    return conv_.convert()


def build(name):
    builder, kind, seed = MODELS[name]
    keras.utils.set_random_seed(seed)
    net = builder()
    net(tf.zeros(net.fixed_input_shape, tf.float32))  # creates the weights
    if net.head is not None:
        fit_head(net, np.random.default_rng(2000 + seed).uniform(
            -1, 1, (64,) + net.fixed_input_shape).astype(np.float32))
    return restore_squeezes(convert(net, kind, seed)), kind


def check_runs_in_tflm(data):
    m = list_ops._model(data)
    sg = m.subgraphs[0]
    inputs = []
    for t in sg.inputs:
        tt = sg.tensors[t]
        shape = tuple(int(d) for d in tt.shape)
        if tt.type == 9:  # INT8
            inputs.append(np.zeros(shape, np.int8))
        else:
            inputs.append(np.zeros(shape, np.float32))
    outs, _ = tflm_goldens.run_tflm(data, inputs)
    return outs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out-dir", default=os.path.join(here, "..", "Examples"))
    ap.add_argument("--only", action="append", default=None, choices=sorted(MODELS))
    a = ap.parse_args(argv)
    os.makedirs(a.out_dir, exist_ok=True)
    tf.config.experimental.enable_op_determinism()

    names = a.only or list(MODELS)
    pairs = set()
    for name in names:
        data, kind = build(name)
        path = os.path.join(a.out_dir, name + ".tflite")
        with open(path, "wb") as f:
            f.write(data)
        print(list_ops.describe(path))
        assert len(data) < MAX_MODEL_BYTES, "%s is %d bytes" % (name, len(data))
        check_runs_in_tflm(data)
        print("  runs in TFLite Micro: ok")
        pairs |= list_ops.op_type_pairs(data)

    if a.only:
        return 0
    present = {p[0] for p in pairs}
    missing = [o for o in REQUIRED_OPS if o not in present]
    assert not missing, "builtins not covered: %s" % missing

    def has(op, t):
        return any(p[0] == op and (p[2] == t or p[1] == t) for p in pairs)

    one_side = [o for o in REQUIRED_OPS if o not in INT8_ONLY and not (has(o, "INT8") and has(o, "FLOAT32"))]
    assert not one_side, "builtins not covered in both int8 and float32: %s" % one_side
    print("coverage: all %d required builtins present; all but %s in both INT8 and FLOAT32"
          % (len(REQUIRED_OPS), sorted(INT8_ONLY)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
