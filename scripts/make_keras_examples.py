#!/usr/bin/env python3
"""Build small Keras 3 models and convert them with the stock TFLite converter, default settings.

Usage:
    python3 scripts/make_keras_examples.py [--out-dir Examples] [--only NAME ...] [--no-goldens]

Unlike scripts/make_examples.py (which traces at a fixed batch of 1), these models go through
`tf.lite.TFLiteConverter.from_keras_model(model)` exactly as a user's would: the batch dimension stays
dynamic (shape_signature -1), so the converter writes Flatten/Reshape as SHAPE -> STRIDED_SLICE -> PACK ->
RESHAPE chains, Conv1D as EXPAND_DIMS -> CONV_2D -> RESHAPE/SQUEEZE, GlobalAveragePooling1D as a 3-D MEAN.
  - int8 models: optimizations=[DEFAULT], a representative dataset of 32 uniform(-1, 1) inputs, int8 input
    and output (full-integer);
  - keras_cnn_16x8: the same CNN (same weights) quantized 16x8 (int16 activations, int8 weights, int64
    bias) with supported_ops = [EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8], int16 in/out.
Weights are random from fixed seeds; BatchNormalization layers get random (fixed) statistics; the models
are trained for a few steps on synthetic data so that the outputs depend on the input. Writes
Examples/keras_*.tflite and, unless --no-goldens, their TFLite Micro goldens (scripts/make_goldens.py).

With --fixtures it also writes the importer's test fixtures to Tests/TFLiteFrontendTests/Fixtures:
  keras_dense_dynamic.tflite  Dense 32-64-8 weights-only ("dynamic range") quantized (no representative
                            dataset): float activations, int8 weights (first layer), which TFLite Micro refuses;
  keras_gap_f16.tflite      keras_gap converted with supported_types=[float16] (FLOAT16 weights, DEQUANTIZE),
                            with keras_gap_f16.input0.npy and the output of LiteRT (tf.lite.Interpreter;
                            TFLite Micro has no FLOAT16 DEQUANTIZE) in keras_gap_f16.output0.npy;
  keras_cnn_qdim3.tflite    keras_cnn_int8 with quantized_dimension = 3 on its 1-D per-channel tensors (the
                            biases), as older converters wrote, and its TFLite Micro output for the golden
                            input 0 in keras_cnn_qdim3.output0.npy.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import list_ops  # noqa: E402
import make_goldens  # noqa: E402

MAX_MODEL_BYTES = 64 * 1024


def _randomize_bn(model, rng):
    """Random (fixed) BatchNormalization statistics, so that folding them is not a no-op."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([
                rng.uniform(0.6, 1.4, c).astype(np.float32),
                rng.uniform(-0.2, 0.2, c).astype(np.float32),
                rng.uniform(-0.2, 0.2, c).astype(np.float32),
                rng.uniform(0.5, 1.5, c).astype(np.float32),
            ])


def cnn():
    """Conv2D + BatchNormalization + ReLU + MaxPool, twice, Flatten, Dense, softmax."""
    return keras.Sequential([
        keras.Input((12, 12, 1)),
        L.Conv2D(8, 3, padding="same", use_bias=False),
        L.BatchNormalization(),
        L.ReLU(),
        L.MaxPooling2D(2),
        L.Conv2D(8, 3, padding="same"),
        L.BatchNormalization(),
        L.ReLU(),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(16, activation="relu"),
        L.Dense(4, activation="softmax"),
    ], name="keras_cnn")


def har():
    """1-D HAR-style CNN: Conv1D x2, GlobalAveragePooling1D, Dense, softmax (input: 32 steps x 3 axes)."""
    return keras.Sequential([
        keras.Input((32, 3)),
        L.Conv1D(8, 5, activation="relu"),
        L.Conv1D(8, 3, padding="same", activation="relu"),
        L.GlobalAveragePooling1D(),
        L.Dense(6, activation="softmax"),
    ], name="keras_har")


def gap():
    """Conv2D + BatchNormalization + ReLU6, DepthwiseConv2D, GlobalAveragePooling2D, Dense."""
    return keras.Sequential([
        keras.Input((10, 10, 3)),
        L.Conv2D(8, 3, strides=2, padding="same"),
        L.BatchNormalization(),
        L.ReLU(6.0),
        L.DepthwiseConv2D(3, padding="same", activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dense(5),
    ], name="keras_gap")


def autoencoder():
    """Dense autoencoder 32 -> 16 -> 4 -> 16 -> 32 (anomaly-detection style)."""
    return keras.Sequential([
        keras.Input((32,)),
        L.Dense(16, activation="relu"),
        L.Dense(4, activation="relu"),
        L.Dense(16, activation="relu"),
        L.Dense(32),
    ], name="keras_ae")


def wide_dense():
    """Dense 32 -> 64 -> 8: weight matrices of 2048 and 512 elements (the converter quantizes weights-only
    only tensors of at least 1024 elements)."""
    return keras.Sequential([
        keras.Input((32,)),
        L.Dense(64, activation="relu"),
        L.Dense(8),
    ], name="keras_wide")


# name -> (builder, kind, seed); kind "int8" or "16x8". keras_cnn_16x8 reuses keras_cnn's trained model.
MODELS = {
    "keras_cnn_int8": (cnn, "int8", 1),
    "keras_cnn_16x8": (cnn, "16x8", 1),
    "keras_har_int8": (har, "int8", 2),
    "keras_gap_int8": (gap, "int8", 3),
    "keras_ae_int8": (autoencoder, "int8", 4),
}


def build_keras(builder, seed):
    keras.utils.set_random_seed(seed)
    model = builder()
    _randomize_bn(model, np.random.default_rng(100 + seed))
    shape = tuple(model.inputs[0].shape[1:])
    rng = np.random.default_rng(200 + seed)
    x = rng.uniform(-1, 1, (64,) + shape).astype(np.float32)
    out_units = model.outputs[0].shape[-1]
    if model.layers[-1].get_config().get("activation") == "softmax":
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        y = rng.integers(0, out_units, 64)
    else:
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        y = x.reshape(64, -1)[:, :out_units] if model.name == "keras_ae" else rng.normal(0, 1, (64, out_units))
    # A few steps so that the outputs depend on the input; BatchNorm stays in inference mode afterwards.
    model.fit(x, y.astype(np.float32) if y.dtype.kind == "f" else y, epochs=3, batch_size=16, verbose=0,
              shuffle=False)
    return model, shape


def convert(model, shape, kind, seed):
    rep = np.random.default_rng(1000 + seed).uniform(-1, 1, (32, 1) + shape).astype(np.float32)

    def representative_dataset():
        for r in rep:
            yield [r]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset
    if kind == "int8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = tf.int16
        conv.inference_output_type = tf.int16
    return conv.convert()


def make_fixtures(cache, out_dir):
    import flatbuffers
    import tflm_goldens
    os.makedirs(out_dir, exist_ok=True)

    def write(name, data):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (name, len(data)))

    wide, _ = build_keras(wide_dense, 5)
    conv = tf.lite.TFLiteConverter.from_keras_model(wide)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    write("keras_dense_dynamic.tflite", conv.convert())

    gap_model, shape = cache.setdefault((gap, 3), build_keras(gap, 3))
    conv = tf.lite.TFLiteConverter.from_keras_model(gap_model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    data = conv.convert()
    write("keras_gap_f16.tflite", data)
    x = make_goldens.golden_input(0, (1,) + shape, np.float32)
    interp = tf.lite.Interpreter(model_content=data)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    np.save(os.path.join(out_dir, "keras_gap_f16.input0.npy"), x)
    np.save(os.path.join(out_dir, "keras_gap_f16.output0.npy"), interp.get_tensor(interp.get_output_details()[0]["index"]))

    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "Examples", "keras_cnn_int8.tflite"), "rb") as f:
        model = tflm_goldens.load_model_object(f.read())
    changed = 0
    for t in model.subgraphs[0].tensors:
        q = t.quantization
        if q is not None and q.scale is not None and len(q.scale) > 1 and len(t.shape) == 1:
            q.quantizedDimension = 3
            changed += 1
    assert changed > 0
    b = flatbuffers.Builder(0)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    data = bytes(b.Output())
    write("keras_cnn_qdim3.tflite", data)
    x = np.load(os.path.join(here, "..", "Examples", "golden", "keras_cnn_int8.input0.npy"))
    outputs, _ = tflm_goldens.run_tflm(data, [x])
    np.save(os.path.join(out_dir, "keras_cnn_qdim3.output0.npy"), outputs[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out-dir", default=os.path.join(here, "..", "Examples"))
    ap.add_argument("--only", action="append", default=None, choices=sorted(MODELS),
                    help="(Keras numbers its layers per process, so only a full run reproduces the committed bytes)")
    ap.add_argument("--no-goldens", action="store_true")
    ap.add_argument("--fixtures", action="store_true", help="also write the importer's test fixtures")
    a = ap.parse_args(argv)
    os.makedirs(a.out_dir, exist_ok=True)
    tf.config.experimental.enable_op_determinism()

    cache = {}
    for name in a.only or list(MODELS):
        builder, kind, seed = MODELS[name]
        if (builder, seed) not in cache:
            cache[(builder, seed)] = build_keras(builder, seed)
        model, shape = cache[(builder, seed)]
        data = convert(model, shape, kind, seed)
        path = os.path.join(a.out_dir, name + ".tflite")
        with open(path, "wb") as f:
            f.write(data)
        print(list_ops.describe(path))
        assert len(data) < MAX_MODEL_BYTES, "%s is %d bytes" % (name, len(data))
        if not a.no_goldens:
            make_goldens.make(path, os.path.join(a.out_dir, "golden"), 3)
    if a.fixtures:
        make_fixtures(cache, os.path.join(here, "..", "Tests", "TFLiteFrontendTests", "Fixtures"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
