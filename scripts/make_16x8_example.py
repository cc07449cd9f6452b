#!/usr/bin/env python3
"""Build Examples/ops_16x8.tflite and bias32_16x8.tflite: 16x8 cases keras_cnn_16x8 lacks, with TFLM goldens.

Usage:
    python3 scripts/make_16x8_example.py [--out-dir Examples] [--no-goldens]

A small Keras 3 CNN (batch fixed at 1, random weights and biases from fixed seeds) converted by the stock
TFLite converter (TensorFlow 2.21) with supported_ops = [EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
and a representative dataset of 32 uniform(-1, 1) inputs, float32 input and output (the converter's default):
QUANTIZE (f32 -> int16), CONV_2D with fused RELU, MUL by a scalar (a BatchNormalization after the RELU),
MAX_POOL_2D, DEPTHWISE_CONV_2D with fused RELU6, ADD (residual), a stride-2 VALID CONV_2D, AVERAGE_POOL_2D,
MEAN (GlobalAveragePooling2D), FULLY_CONNECTED with int64 biases, LOGISTIC, MUL (squeeze-excite), TANH,
SOFTMAX and DEQUANTIZE (int16 -> f32).
bias32_16x8: CONV_2D (fused RELU) -> RESHAPE -> FULLY_CONNECTED with int32 biases
(converter option _experimental_full_integer_quantization_bias_type = tf.int32), which TFLite Micro runs
with 32-bit accumulators and the 32-bit requantization. (Not on a depthwise convolution: TFLite Micro
reads a 16x8 depthwise bias as int64 whatever its type, so tinyc refuses an int32 one there.)
Goldens: scripts/make_goldens.py (TFLite Micro, every layer).
"""

import argparse
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers as L  # noqa: E402


def build():
    keras.utils.set_random_seed(1)
    bias = "random_normal"
    inp = keras.Input((16, 16, 3), batch_size=1)
    x = L.Conv2D(8, 3, padding="same", activation="relu", bias_initializer=bias)(inp)
    x = L.BatchNormalization()(x)
    x = L.MaxPooling2D(2)(x)
    y = L.DepthwiseConv2D(3, padding="same", activation="relu6", bias_initializer=bias)(x)
    y = L.Conv2D(8, 1, bias_initializer=bias)(y)
    x = L.Add()([x, y])
    x = L.Conv2D(12, 3, strides=2, padding="valid", bias_initializer=bias)(x)
    x = L.AveragePooling2D(2)(x)
    m = L.GlobalAveragePooling2D()(x)
    s = L.Dense(12, activation="sigmoid", bias_initializer=bias)(m)
    x = L.Multiply()([m, s])
    x = L.Dense(16, activation="tanh", bias_initializer=bias)(x)
    x = L.Dense(10, bias_initializer=bias)(x)
    return keras.Model(inp, L.Softmax()(x))


def build_bias32():
    keras.utils.set_random_seed(3)
    inp = keras.Input((8, 8, 2), batch_size=1)
    x = L.Conv2D(6, 3, activation="relu", bias_initializer="random_normal")(inp)
    x = L.Dense(10, bias_initializer="random_normal")(L.Flatten()(x))
    return keras.Model(inp, x)


def convert(model, shape, bias32):
    rng = np.random.default_rng(0)

    def representative_dataset():
        for _ in range(32):
            yield [rng.uniform(-1, 1, (1,) + shape).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset
    conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    if bias32:
        conv._experimental_full_integer_quantization_bias_type = tf.int32
    return conv.convert()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out-dir", default=os.path.join(root, "Examples"))
    ap.add_argument("--no-goldens", action="store_true")
    args = ap.parse_args()
    paths = []
    for name, model, shape, bias32 in [("ops_16x8", build(), (16, 16, 3), False),
                                       ("bias32_16x8", build_bias32(), (8, 8, 2), True)]:
        path = os.path.join(args.out_dir, name + ".tflite")
        with open(path, "wb") as f:
            f.write(convert(model, shape, bias32))
        print("wrote", path)
        paths.append(path)
    if not args.no_goldens:
        subprocess.check_call([sys.executable, os.path.join(root, "scripts", "make_goldens.py"),
                               "--examples", args.out_dir] + paths)


if __name__ == "__main__":
    main()
