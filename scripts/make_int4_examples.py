#!/usr/bin/env python3
"""A TFLite model with INT4 weights (Examples/int4_cnn.tflite) and its TFLite Micro goldens.

    python3 scripts/make_int4_examples.py            # writes Examples/int4_cnn.tflite and its goldens
    python3 scripts/make_int4_examples.py --check    # rebuilds in memory, compares with the committed files

The model is a small int8 CNN made like the other examples (`make_examples.py`: Keras layers, fixed seeds,
the TFLite converter's full-integer quantization), whose CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED
weights are then rewritten as INT4 tensors, as a 4-bit weight quantizer (e.g. ai-edge-quantizer's int4
weight recipe) would write them:
  - the float weights w = s8 * q8 are requantized symmetrically to 4 bits, s4 = max|w| / 8 and
    q4 = clip(round(w / s4), -8, 7) (the largest magnitude lands on -8 or 7): per output channel for the convolutions
    (axis 0, and axis 3 for the depthwise one), per tensor for the fully connected layer (the layout
    CMSIS-NN's arm_fully_connected_s4 takes);
  - the INT32 bias is requantized to the new bias scale s_in * s4: round(b8 * s8 / s4);
  - the buffer holds ceil(n / 2) bytes, two values per byte, element 2k in the low nibble, element 2k+1
    in the high nibble, dense over the flattened tensor (TFLite's `UnpackDenseInt4IntoInt8` reads it that
    way: tensorflow/lite/kernels/internal/portable_tensor_utils).
Activations stay int8 (TFLite Micro's int4 path: int8 input and output, int4 filter).

Goldens: `make_goldens.py`'s layout (golden/<stem>.input<k>.npy etc., golden/layers/...) from the real
TFLite Micro (pip tflite-micro), three inputs.
"""

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import list_ops  # noqa: E402
import make_examples as mx  # noqa: E402
import make_goldens  # noqa: E402

STEM = "int4_cnn"


def int4_cnn():
    """conv 3x3 (7) -> depthwise 3x3 -> conv 1x1 (16) -> max pool 2 -> average pool 5 -> dense 6."""
    conv0 = mx.conv(7, 3, name="conv0")
    dw = mx.dwconv(3, name="dw1")
    pw = mx.conv(16, 1, name="pw1")
    fc = mx.dense(6, name="fc")

    def forward(x):                                                    # 1x10x10x3
        y = tf.nn.relu(conv0(x))                                       # 1x10x10x7
        y = tf.nn.relu6(dw(y))
        y = tf.nn.relu(pw(y))                                          # 1x10x10x16
        y = tf.nn.max_pool2d(y, ksize=2, strides=2, padding="VALID")   # 1x5x5x16
        y = tf.nn.avg_pool2d(y, ksize=5, strides=1, padding="VALID")   # 1x1x1x16
        y = tf.reshape(y, (1, 16))
        return mx.tap(fc, y)

    # 7 filters of 3x3x3 (189 values) and a 3x3x7 depthwise kernel (63): odd counts, so filter rows start
    # mid-byte and the last byte's high nibble is padding, the cases a per-row packing would get wrong.
    return mx.Net(STEM, (1, 10, 10, 3), forward, [conv0, dw, pw, fc], head=fc)


def pack_int4(q):
    """Two values per byte, element 2k in the low nibble; an odd count leaves the last high nibble 0."""
    flat = (np.asarray(q, np.int64).reshape(-1) & 0xF).astype(np.uint8)
    if flat.size % 2:
        flat = np.append(flat, np.uint8(0))
    return (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8)


def to_int4(data):
    """Rewrite every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weight tensor as packed INT4."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
    from tflite_micro.tensorflow.lite.micro.tools import tflite_flatbuffer_align_wrapper as align

    model = list_ops._model(data)
    sg = model.subgraphs[0]
    axis_of = {fb.BuiltinOperator.CONV_2D: 0, fb.BuiltinOperator.DEPTHWISE_CONV_2D: 3,
               fb.BuiltinOperator.FULLY_CONNECTED: None}
    rewritten = 0
    seen_minus8 = False
    for op in sg.operators:
        oc = model.operatorCodes[op.opcodeIndex]
        code = max(oc.builtinCode, oc.deprecatedBuiltinCode)
        if code not in axis_of:
            continue
        axis = axis_of[code]
        x, w, b = (sg.tensors[i] for i in op.inputs[:3])
        assert w.type == fb.TensorType.INT8 and b.type == fb.TensorType.INT32
        shape = [int(d) for d in w.shape]
        q8 = np.frombuffer(bytes(model.buffers[w.buffer].data), np.int8).reshape(shape).astype(np.float64)
        s8 = np.asarray(w.quantization.scale, np.float64)
        qaxis = int(w.quantization.quantizedDimension)
        bshape = [1] * len(shape)
        bshape[qaxis] = -1
        wf = q8 * (s8.reshape(bshape) if s8.size > 1 else s8[0])
        if axis is None:
            s4 = np.array([np.abs(wf).max() / 8.0])
            q4 = np.clip(np.round(wf / s4[0]), -8, 7)
        else:
            other = tuple(d for d in range(len(shape)) if d != axis)
            s4 = np.abs(wf).max(axis=other) / 8.0
            s4 = np.where(s4 > 0, s4, 1.0)
            ashape = [1] * len(shape)
            ashape[axis] = -1
            q4 = np.clip(np.round(wf / s4.reshape(ashape)), -8, 7)
        s4 = s4.astype(np.float32)
        assert -8 <= q4.min() and q4.max() <= 7 and (q4.min() == -8 or q4.max() == 7)
        seen_minus8 |= q4.min() == -8
        packed = pack_int4(q4.astype(np.int8))
        assert packed.size == (q4.size + 1) // 2
        w.type = fb.TensorType.INT4
        model.buffers[w.buffer].data = packed
        w.quantization.scale = [float(s) for s in s4]
        w.quantization.zeroPoint = [0] * len(s4)
        w.quantization.quantizedDimension = 0 if axis is None else axis
        w.quantization.min, w.quantization.max = None, None

        s_in = float(x.quantization.scale[0])
        b32 = np.frombuffer(bytes(model.buffers[b.buffer].data), np.int32).astype(np.float64)
        s8c = s8 if s8.size == b32.size else np.full(b32.size, s8[0])
        s4c = s4.astype(np.float64) if s4.size == b32.size else np.full(b32.size, float(s4[0]))
        bnew = np.round(b32 * s8c / s4c)
        assert np.abs(bnew).max() < 2**31
        model.buffers[b.buffer].data = bnew.astype("<i4").view(np.uint8)
        bscales = [np.float32(s_in) * np.float32(s) for s in s4]
        b.quantization.scale = [float(s) for s in bscales]
        b.quantization.zeroPoint = [0] * len(bscales)
        b.quantization.quantizedDimension = 0
        rewritten += 1
    assert rewritten == 4 and seen_minus8, rewritten
    out = flatbuffers.Builder(0)
    out.Finish(model.Pack(out), file_identifier=b"TFL3")
    # Re-serialize through the C++ flatbuffer API so that constant buffers are aligned again.
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.tflite"), os.path.join(d, "out.tflite")
        with open(src, "wb") as f:
            f.write(bytes(out.Output()))
        align.align_tflite_model(src, dst)
        with open(dst, "rb") as f:
            return f.read()


def build():
    seed = 41
    keras.utils.set_random_seed(seed)
    net = int4_cnn()
    net(tf.zeros(net.fixed_input_shape, tf.float32))
    mx.fit_head(net, np.random.default_rng(2000 + seed).uniform(
        -1, 1, (64,) + net.fixed_input_shape).astype(np.float32))
    return to_int4(mx.convert(net, "int8", seed))


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", default=os.path.join(here, "..", "Examples"))
    ap.add_argument("--check", action="store_true", help="compare with the committed model, write nothing")
    a = ap.parse_args(argv)
    tf.config.experimental.enable_op_determinism()
    data = build()
    path = os.path.join(a.examples, STEM + ".tflite")
    if a.check:
        with open(path, "rb") as f:
            same = f.read() == data
        print("%s: %s" % (path, "identical" if same else "DIFFERS"))
        return 0 if same else 1
    with open(path, "wb") as f:
        f.write(data)
    print(list_ops.describe(path))
    make_goldens.make(path, os.path.join(a.examples, "golden"), 3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
