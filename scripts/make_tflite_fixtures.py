#!/usr/bin/env python3
"""Builds tiny .tflite models for tinyc's TFLite importer tests and fuzz seeds.

The converter never writes some operator forms the importer must handle (STRIDED_SLICE with
negative strides, begin/end masks or shrink_axis_mask; PADV2; MEAN over
a negative axis; FULLY_CONNECTED with keep_num_dims and no bias; DEPTHWISE_CONV_2D with a depth
multiplier of 2; SQUEEZE; CONV_2D and MAX_POOL_2D with different H and W strides, dilations and
windows), so this script writes them with the schema's object API (the generated
Python classes shipped in `tflite-micro`). Each model is then run by TFLite Micro (whose
Prepare checks every output shape against its own rules) on a fixed input, and the input and
every graph output are written next to it as JSON: the Swift tests compare the imported graph
against those shapes and recompute the strided slices from the imported attributes.

    pip install tflite-micro
    python3 scripts/make_tflite_fixtures.py Tests/TFLiteFrontendTests/Fixtures
    cp Tests/TFLiteFrontendTests/Fixtures/tiny_ops.tflite Fuzz/corpus/tflite/
"""
import json
import pathlib
import sys

import flatbuffers
import numpy as np
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

F32, I32 = s.TensorType.FLOAT32, s.TensorType.INT32


class ModelBuilder:
    def __init__(self):
        self.tensors, self.buffers, self.ops, self.codes = [], [s.BufferT()], [], []

    def tensor(self, name, shape, ttype=F32, data=None):
        t = s.TensorT()
        t.name, t.shape, t.type = name, list(shape), ttype
        if data is not None:
            b = s.BufferT()
            b.data = list(np.asarray(data).tobytes())
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        else:
            t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const_i32(self, name, values):
        v = np.asarray(values, dtype=np.int32)
        return self.tensor(name, v.shape, I32, v)

    def op(self, code, inputs, outputs, options_type=0, options=None):
        if code not in self.codes:
            self.codes.append(code)
        o = s.OperatorT()
        o.opcodeIndex = self.codes.index(code)
        o.inputs, o.outputs = list(inputs), list(outputs)
        o.builtinOptionsType, o.builtinOptions = options_type, options
        self.ops.append(o)

    def finish(self, inputs, outputs, extra_subgraphs=()):
        sg = s.SubGraphT()
        sg.tensors, sg.operators, sg.inputs, sg.outputs, sg.name = self.tensors, self.ops, inputs, outputs, "main"
        m = s.ModelT()
        m.version, m.subgraphs, m.buffers, m.description = 3, [sg], self.buffers, "tinyc importer fixture"
        m.subgraphs += list(extra_subgraphs)
        m.operatorCodes = []
        for c in self.codes:
            oc = s.OperatorCodeT()
            oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = c, min(c, 127), 1
            m.operatorCodes.append(oc)
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def strided_slice(begin_mask=0, end_mask=0, shrink=0, offset=False):
    o = s.StridedSliceOptionsT()
    o.beginMask, o.endMask, o.shrinkAxisMask, o.offset = begin_mask, end_mask, shrink, offset
    return s.BuiltinOptions.StridedSliceOptions, o


def tiny_ops():
    B = s.BuiltinOperator
    m = ModelBuilder()
    rng = np.random.default_rng(7)
    x = m.tensor("x", [2, 5, 6])

    def ss(name, shape, b, e, st, **kw):
        out = m.tensor(name, shape)
        t, o = strided_slice(**kw)
        m.op(B.STRIDED_SLICE, [x, m.const_i32(name + "/b", b), m.const_i32(name + "/e", e),
                               m.const_i32(name + "/s", st)], [out], t, o)
        return out

    reverse = ss("slice_reverse", [2, 2, 3], [0, 1, -1], [2, -1, 0], [1, 2, -2])
    shrink = ss("slice_shrink", [5, 3], [1, 0, 2], [2, 0, 5], [1, 1, 1], begin_mask=2, end_mask=2, shrink=1)
    middle = ss("slice_middle", [2, 2, 3], [0, 1, 1], [2, 3, 4], [1, 1, 1])
    masked = ss("slice_masked", [2, 3, 6], [1, -3, 4], [0, 9, 0], [-1, 1, 1], begin_mask=5, end_mask=5)

    padded = m.tensor("padv2", [2, 6, 8])
    m.op(B.PADV2, [x, m.const_i32("paddings", [[0, 0], [1, 0], [0, 2]]),
                   m.tensor("pad_value", [], F32, np.zeros((), np.float32))], [padded],
         s.BuiltinOptions.PadV2Options, s.PadV2OptionsT())

    mean = m.tensor("mean", [2, 5])
    ro = s.ReducerOptionsT()
    ro.keepDims = False
    m.op(B.MEAN, [x, m.const_i32("axes", [-1])], [mean], s.BuiltinOptions.ReducerOptions, ro)

    fc = m.tensor("fc", [2, 5, 3])
    fo = s.FullyConnectedOptionsT()
    fo.keepNumDims = True
    w = m.tensor("fc/w", [3, 6], F32, rng.uniform(-1, 1, (3, 6)).astype(np.float32))
    m.op(B.FULLY_CONNECTED, [x, w, -1], [fc], s.BuiltinOptions.FullyConnectedOptions, fo)

    cat = m.tensor("concat", [2, 2, 6])
    co = s.ConcatenationOptionsT()
    co.axis = -1
    m.op(B.CONCATENATION, [reverse, middle], [cat], s.BuiltinOptions.ConcatenationOptions, co)

    x4 = m.tensor("x4", [1, 2, 5, 6])
    rs = s.ReshapeOptionsT()
    rs.newShape = [1, 2, 5, 6]
    m.op(B.RESHAPE, [x, m.const_i32("x4/shape", [1, 2, 5, 6])], [x4], s.BuiltinOptions.ReshapeOptions, rs)
    dw = m.tensor("dw", [1, 1, 4, 12])
    do = s.DepthwiseConv2DOptionsT()
    do.padding, do.strideW, do.strideH, do.depthMultiplier = s.Padding.VALID, 1, 1, 2
    do.dilationWFactor, do.dilationHFactor = 1, 1
    dww = m.tensor("dw/w", [1, 2, 2, 12], F32, rng.uniform(-1, 1, (1, 2, 2, 12)).astype(np.float32))
    dwb = m.tensor("dw/b", [12], F32, rng.uniform(-1, 1, (12,)).astype(np.float32))
    m.op(B.DEPTHWISE_CONV_2D, [x4, dww, dwb], [dw], s.BuiltinOptions.DepthwiseConv2DOptions, do)
    sq = m.tensor("squeeze", [4, 12])
    so = s.SqueezeOptionsT()
    so.squeezeDims = [0, 1]
    m.op(B.SQUEEZE, [dw], [sq], s.BuiltinOptions.SqueezeOptions, so)

    # Asymmetric stride, dilation and window, so that a swapped H/W field shows.
    conv = m.tensor("conv", [1, 2, 3, 3])
    cv = s.Conv2DOptionsT()
    cv.padding, cv.strideH, cv.strideW, cv.dilationHFactor, cv.dilationWFactor = s.Padding.SAME, 1, 2, 2, 1
    cv.fusedActivationFunction = s.ActivationFunctionType.RELU6
    cw = m.tensor("conv/w", [3, 2, 3, 6], F32, rng.uniform(-1, 1, (3, 2, 3, 6)).astype(np.float32))
    cb = m.tensor("conv/b", [3], F32, rng.uniform(-1, 1, (3,)).astype(np.float32))
    m.op(B.CONV_2D, [x4, cw, cb], [conv], s.BuiltinOptions.Conv2DOptions, cv)
    pool = m.tensor("maxpool", [1, 1, 5, 6])
    po = s.Pool2DOptionsT()
    po.padding, po.strideH, po.strideW, po.filterHeight, po.filterWidth = s.Padding.SAME, 2, 1, 1, 2
    m.op(B.MAX_POOL_2D, [x4], [pool], s.BuiltinOptions.Pool2DOptions, po)

    outputs = [shrink, masked, padded, mean, fc, cat, sq, conv, pool]
    return m.finish([x], outputs), [x], outputs, m


def rejected_models():
    """Models TFLite can describe but the importer must refuse, each with the reason expected."""
    B = s.BuiltinOperator
    models = {}

    m = ModelBuilder()
    x = m.tensor("x", [2, 5, 6])
    y = m.tensor("y", [2, 1, 2])
    t, o = strided_slice(offset=True)
    m.op(B.STRIDED_SLICE, [x, m.const_i32("b", [0, 1, 1]), m.const_i32("e", [2, 2, 3]),
                           m.const_i32("s", [1, 1, 1])], [y], t, o)
    models["offset"] = (m.finish([x], [y]), "offset = true is not supported")

    m = ModelBuilder()
    x = m.tensor("x", [2, 5, 6])
    y = m.tensor("y", [2, 5, 2])
    t, o = strided_slice()
    m.op(B.STRIDED_SLICE, [x, m.const_i32("b", [1]), m.const_i32("e", [3]), m.const_i32("s", [1])], [y], t, o)
    models["short_spec"] = (m.finish([x], [y]), "one entry per input dimension")

    m = ModelBuilder()
    x = m.tensor("x", [1, 4])
    y = m.tensor("y", [1, 4])
    wo = s.WhileOptionsT()
    wo.condSubgraphIndex, wo.bodySubgraphIndex = 1, 2
    m.op(B.WHILE, [x], [y], s.BuiltinOptions.WhileOptions, wo)
    m.op(B.CUSTOM, [y], [m.tensor("z", [1, 4])])
    m.op(B.TANH, [x], [m.tensor("w", [1, 4])])
    cond, body = s.SubGraphT(), s.SubGraphT()
    cond.name, body.name = "cond", "body"
    models["while"] = (m.finish([x], [y], [cond, body]),
                       "unsupported operators: 0 (WHILE), 1 (CUSTOM ''); the model has 3 subgraphs")

    m = ModelBuilder()
    x = m.tensor("x", [1, 4], s.TensorType.INT64)
    y = m.tensor("y", [1, 4], s.TensorType.INT64)
    m.op(B.RELU, [x], [y])
    models["int64"] = (m.finish([x], [y]), "element type INT64 is not supported except for constants (16x8 biases) (tensor 0)")
    return models


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "Tests/TFLiteFrontendTests/Fixtures")
    out.mkdir(parents=True, exist_ok=True)
    data, inputs, outputs, m = tiny_ops()
    (out / "tiny_ops.tflite").write_bytes(data)
    x = np.arange(60, dtype=np.float32).reshape(2, 5, 6) / 4 - 7
    interp = runtime.Interpreter.from_bytes(data)
    interp.set_input(x, 0)
    interp.invoke()
    golden = {"input": {"tensor": inputs[0], "shape": list(x.shape), "values": x.ravel().tolist()},
              "outputs": []}
    for k, t in enumerate(outputs):
        y = np.asarray(interp.get_output(k))
        assert list(y.shape) == m.tensors[t].shape, (m.tensors[t].name, y.shape)
        golden["outputs"].append({"tensor": t, "name": m.tensors[t].name, "shape": list(y.shape),
                                  "values": [float(v) for v in y.ravel()]})
    (out / "tiny_ops.tflm.json").write_text(json.dumps(golden) + "\n")
    print(f"{out}/tiny_ops.tflite: {len(data)} bytes, {len(m.ops)} operators; TFLite Micro ran it")
    expected = {}
    for name, (data, reason) in rejected_models().items():
        (out / f"reject_{name}.tflite").write_bytes(data)
        expected[f"reject_{name}.tflite"] = reason
    (out / "reject.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"{len(expected)} models the importer must reject: {out}/reject.json")


if __name__ == "__main__":
    main()
