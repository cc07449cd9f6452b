#!/usr/bin/env python3
"""Check the tinyc C runtime (Backends/Runtime) bit for bit against TFLite Micro.

Three parts:

1. Models: for every operator of the MLPerf Tiny .tflite models in
   ../shared/models/tflite, feed the golden output of the previous layers (from
   TFLite Micro, golden/layers/<stem>.input<k>/op<i>.npy; the model input for the
   first operator) through the runtime's kernel and compare with TFLite Micro's
   golden output of that operator, exactly.  Quantization parameters are
   computed here the way TFLite Micro computes them (QuantizeMultiplier with
   frexp on doubles, per output channel).

2. Single ops (--ops, on by default): for each op that the models above do not
   exercise (logistic, tanh, hard_swish, leaky_relu, relu, relu6, pad, mean,
   concatenation, transpose, strided slice, sub, mul, max pool, quantize,
   dequantize, ...), build a one-op .tflite model with the schema classes that
   ship in the tflite-micro pip package, run it in TFLite Micro's own
   interpreter on random data, and compare the runtime's kernel with it.
   Float kernels are compared with a small tolerance, int8 ones exactly.

The runtime is compiled with the host gcc into a shared library and loaded
with ctypes.  Needs: pip install tflite-micro numpy.  Exit status 0 when every
check passes.

    python3 scripts/check_runtime.py                # everything
    python3 scripts/check_runtime.py --no-ops       # models only
    python3 scripts/check_runtime.py --models-dir DIR

3. Compilers and QEMU: the runtime compiles warning-free with gcc, clang and
   arm-none-eabi-gcc (Cortex-M4F), and Backends/Runtime/tests/run_qemu_smoke.sh
   passes (Cortex-M4 build under qemu-system-arm: semihosting I/O, exit codes,
   instruction counts, every kernel bit-identical to the host build).
"""

import argparse
import ctypes as C
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME = os.path.join(ROOT, "Backends", "Runtime")
DEFAULT_MODELS = os.path.join(os.path.dirname(ROOT), "shared", "models", "tflite")

# ----------------------------------------------------------------------------
# Build and bind the runtime


def build_runtime(outdir, sanitize=False):
    sources = sorted(glob.glob(os.path.join(RUNTIME, "cmsis_nn", "*.c")) +
                     glob.glob(os.path.join(RUNTIME, "tinyc", "*.c")))
    lib = os.path.join(outdir, "libtinyc_runtime.so")
    cmd = ["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
           "-I", os.path.join(RUNTIME, "cmsis_nn"), "-I", os.path.join(RUNTIME, "tinyc"),
           "-o", lib] + sources + ["-lm"]
    if sanitize:
        cmd[1:1] = ["-fsanitize=undefined", "-fno-sanitize-recover=undefined", "-g"]
    subprocess.run(cmd, check=True)
    return C.CDLL(lib)


class Tile(C.Structure):
    _fields_ = [("w", C.c_int32), ("h", C.c_int32)]


class Act(C.Structure):
    _fields_ = [("min", C.c_int32), ("max", C.c_int32)]


class Dims(C.Structure):
    _fields_ = [("n", C.c_int32), ("h", C.c_int32), ("w", C.c_int32), ("c", C.c_int32)]


class Ctx(C.Structure):
    _fields_ = [("buf", C.c_void_p), ("size", C.c_int32)]


class PerChannel(C.Structure):
    _fields_ = [("multiplier", C.POINTER(C.c_int32)), ("shift", C.POINTER(C.c_int32))]


class PerTensor(C.Structure):
    _fields_ = [("multiplier", C.c_int32), ("shift", C.c_int32)]


class ConvParams(C.Structure):
    _fields_ = [("input_offset", C.c_int32), ("output_offset", C.c_int32), ("stride", Tile),
                ("padding", Tile), ("dilation", Tile), ("activation", Act)]


class DwConvParams(C.Structure):
    _fields_ = [("input_offset", C.c_int32), ("output_offset", C.c_int32), ("ch_mult", C.c_int32),
                ("stride", Tile), ("padding", Tile), ("dilation", Tile), ("activation", Act)]


class PoolParams(C.Structure):
    _fields_ = [("stride", Tile), ("padding", Tile), ("activation", Act)]


class FcParams(C.Structure):
    _fields_ = [("input_offset", C.c_int32), ("filter_offset", C.c_int32), ("output_offset", C.c_int32),
                ("activation", Act)]


def ptr(a, ctype):
    return a.ctypes.data_as(C.POINTER(ctype))


def i8p(a):
    return ptr(a, C.c_int8)


def i32p(a):
    return ptr(a, C.c_int32)


def f32p(a):
    return ptr(a, C.c_float)


def vp(a):
    return C.c_void_p(a.ctypes.data)


def pack_int4(values):
    """Two int4 values per byte, element i in the low nibble of byte i // 2 if
    i is even, in the high nibble if odd (CMSIS-NN s4 and TFLite INT4)."""
    v = (np.asarray(values, np.int8).ravel().astype(np.uint8) & 0x0F)
    if v.size % 2:
        v = np.append(v, np.uint8(0))
    return (v[0::2] | (v[1::2] << 4)).astype(np.uint8).view(np.int8)


# ----------------------------------------------------------------------------
# TFLite's quantization arithmetic, in Python doubles (as quantization_util.cc)


def tflite_round(x):
    """std::round: half away from zero."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def quantize_multiplier(m):
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = int(tflite_round(q * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return q_fixed, shift


def f32(x):
    return np.float32(x)


def fq(x):
    """A scale as TFLite stores it (float32), as a Python float."""
    return float(np.float32(x))


def activation_range(act, scale, zp, qmin=-128, qmax=127):
    """CalculateActivationRangeQuantized (TfLiteRound(f / scale) in float)."""
    def q(f):
        return zp + int(tflite_round(float(f32(f) / f32(scale))))
    if act == 0:  # NONE
        return qmin, qmax
    if act == 1:  # RELU
        return max(qmin, q(0.0)), qmax
    if act == 2:  # RELU_N1_TO_1
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    if act == 3:  # RELU6
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    raise ValueError("activation %d" % act)


def float_activation(act):
    return {0: (-np.inf, np.inf), 1: (0.0, np.inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}[act]


def compute_padding(stride, dilation, in_size, filt, out_size):
    eff = (filt - 1) * dilation + 1
    total = max((out_size - 1) * stride + eff - in_size, 0)
    return total // 2


def calculate_input_radius(int_bits, left_shift, total_signed_bits=31):
    v = 1.0 * ((1 << int_bits) - 1) * (1 << (total_signed_bits - int_bits)) / (1 << left_shift)
    return int(math.floor(v))


def softmax_params(beta, input_scale):
    beta, input_scale = fq(beta), fq(input_scale)
    real = min(beta * input_scale * (1 << (31 - 5)), (1 << 31) - 1.0)
    mult, shift = quantize_multiplier(real)
    diff_min = -calculate_input_radius(5, shift)
    return mult, shift, diff_min


def add_params(s1, s2, so, left_shift=20):
    s1, s2, so = fq(s1), fq(s2), fq(so)
    twice_max = 2 * max(s1, s2)
    m1 = quantize_multiplier(s1 / twice_max)
    m2 = quantize_multiplier(s2 / twice_max)
    mo = quantize_multiplier(twice_max / ((1 << left_shift) * so))
    return m1, m2, mo


def q_of(t):
    """(scales, zero_points) of a tensor (lists), or (None, None)."""
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        return None, None
    return [float(s) for s in q.scale], [int(z) for z in q.zeroPoint]


# ----------------------------------------------------------------------------
# Running one operator through the runtime


class Runner:
    def __init__(self, lib):
        self.lib = lib

    # -- int8 kernels of the CMSIS-NN stand-in

    def conv(self, x, w, b, in_q, w_scales, out_q, opts, depthwise=False, s4=False):
        n, ih, iw, ic = x.shape
        if depthwise:
            _, kh, kw, oc = w.shape
        else:
            oc, kh, kw, _ = w.shape
        sh, sw = opts.strideH, opts.strideW
        dh, dw = opts.dilationHFactor, opts.dilationWFactor
        if opts.padding == 0:  # SAME
            oh, ow = (ih + sh - 1) // sh, (iw + sw - 1) // sw
        else:
            oh = (ih - ((kh - 1) * dh + 1) + sh) // sh
            ow = (iw - ((kw - 1) * dw + 1) + sw) // sw
        ph = compute_padding(sh, dh, ih, kh, oh)
        pw = compute_padding(sw, dw, iw, kw, ow)
        in_s, in_zp = fq(in_q[0]), in_q[1]
        out_s, out_zp = fq(out_q[0]), out_q[1]
        w_scales = [fq(v) for v in w_scales]
        if len(w_scales) == 1:
            w_scales = w_scales * oc
        mults, shifts = zip(*[quantize_multiplier(in_s * ws / out_s) for ws in w_scales])
        mults = np.array(mults, np.int32)
        shifts = np.array(shifts, np.int32)
        lo, hi = activation_range(opts.fusedActivationFunction, out_s, out_zp)
        out = np.zeros((n, oh, ow, oc), np.int8)
        qp = PerChannel(i32p(mults), i32p(shifts))
        # Scratch as the library asks for (im2col in the plain-C build; the stand-in refuses less).
        scratch = C.create_string_buffer(1 << 20)
        ctx = Ctx(C.cast(scratch, C.c_void_p), 1 << 20)
        x = np.ascontiguousarray(x, np.int8)
        w_shape = w.shape
        w = pack_int4(w) if s4 else np.ascontiguousarray(w, np.int8)
        bias = np.ascontiguousarray(b, np.int32) if b is not None else None
        bp = i32p(bias) if bias is not None else None
        sfx = "s4" if s4 else "s8"
        if depthwise:
            p = DwConvParams(-in_zp, out_zp, oc // ic, Tile(sw, sh), Tile(pw, ph), Tile(dw, dh), Act(lo, hi))
            need = getattr(self.lib, "arm_depthwise_conv_wrapper_%s_get_buffer_size" % sfx)(
                C.byref(p), C.byref(Dims(n, ih, iw, ic)), C.byref(Dims(1, kh, kw, oc)), C.byref(Dims(n, oh, ow, oc)))
            rc = getattr(self.lib, "arm_depthwise_conv_wrapper_" + sfx)(
                C.byref(ctx), C.byref(p), C.byref(qp), C.byref(Dims(n, ih, iw, ic)), i8p(x),
                C.byref(Dims(1, kh, kw, oc)), i8p(w), C.byref(Dims(1, 1, 1, oc)), bp,
                C.byref(Dims(n, oh, ow, oc)), i8p(out))
        else:
            p = ConvParams(-in_zp, out_zp, Tile(sw, sh), Tile(pw, ph), Tile(dw, dh), Act(lo, hi))
            need = getattr(self.lib, "arm_convolve_wrapper_%s_get_buffer_size" % sfx)(
                C.byref(p), C.byref(Dims(n, ih, iw, ic)), C.byref(Dims(oc, kh, kw, w_shape[3])),
                C.byref(Dims(n, oh, ow, oc)))
            rc = getattr(self.lib, "arm_convolve_wrapper_" + sfx)(
                C.byref(ctx), C.byref(p), C.byref(qp), C.byref(Dims(n, ih, iw, ic)), i8p(x),
                C.byref(Dims(oc, kh, kw, w_shape[3])), i8p(w), C.byref(Dims(1, 1, 1, oc)), bp,
                C.byref(Dims(n, oh, ow, oc)), i8p(out))
        assert 0 <= need <= (1 << 20) and rc == 0, (need, rc)
        return out

    def fully_connected(self, x, w, b, in_q, w_q, out_q, opts, out_shape, s4=False):
        in_s, in_zp = fq(in_q[0]), in_q[1]
        w_scales, w_zps = [fq(v) for v in w_q[0]], w_q[1]
        out_s, out_zp = fq(out_q[0]), out_q[1]
        oc, depth = w.shape
        batches = x.size // depth
        lo, hi = activation_range(opts.fusedActivationFunction, out_s, out_zp)
        out = np.zeros((batches, oc), np.int8)
        fc = FcParams(-in_zp, -w_zps[0], out_zp, Act(lo, hi))
        x = np.ascontiguousarray(x.reshape(batches, depth), np.int8)
        w = pack_int4(w) if s4 else np.ascontiguousarray(w, np.int8)
        bias = np.ascontiguousarray(b, np.int32) if b is not None else None
        bp = i32p(bias) if bias is not None else None
        ctx = Ctx(None, 0)
        need = self.lib.arm_fully_connected_s8_get_buffer_size(C.byref(Dims(depth, 1, 1, oc)))
        args = (C.byref(Dims(batches, 1, 1, depth)), i8p(x), C.byref(Dims(depth, 1, 1, oc)), i8p(w),
                C.byref(Dims(1, 1, 1, oc)), bp, C.byref(Dims(batches, 1, 1, oc)), i8p(out))
        if len(w_scales) == 1:
            m, s = quantize_multiplier(in_s * w_scales[0] / out_s)
            f = self.lib.arm_fully_connected_s4 if s4 else self.lib.arm_fully_connected_s8
            rc = f(C.byref(ctx), C.byref(fc), C.byref(PerTensor(m, s)), *args)
        else:
            ms, ss = zip(*[quantize_multiplier(in_s * ws / out_s) for ws in w_scales])
            ms = np.array(ms, np.int32)
            ss = np.array(ss, np.int32)
            rc = self.lib.arm_fully_connected_per_channel_s8(
                C.byref(ctx), C.byref(fc), C.byref(PerChannel(i32p(ms), i32p(ss))), *args)
        assert need == 0 and rc == 0, (need, rc)
        return out.reshape(out_shape)

    def pool(self, x, in_q, out_q, opts, is_max):
        n, ih, iw, c = x.shape
        kh, kw = opts.filterHeight, opts.filterWidth
        sh, sw = opts.strideH, opts.strideW
        if opts.padding == 0:
            oh, ow = (ih + sh - 1) // sh, (iw + sw - 1) // sw
        else:
            oh, ow = (ih - kh + sh) // sh, (iw - kw + sw) // sw
        ph = compute_padding(sh, 1, ih, kh, oh)
        pw = compute_padding(sw, 1, iw, kw, ow)
        lo, hi = activation_range(opts.fusedActivationFunction, out_q[0], out_q[1])
        out = np.zeros((n, oh, ow, c), np.int8)
        x = np.ascontiguousarray(x, np.int8)
        p = PoolParams(Tile(sw, sh), Tile(pw, ph), Act(lo, hi))
        f = self.lib.arm_max_pool_s8 if is_max else self.lib.arm_avgpool_s8
        if not is_max:
            assert self.lib.arm_avgpool_s8_get_buffer_size(ow, c) == 0
        rc = f(C.byref(Ctx(None, 0)), C.byref(p), C.byref(Dims(n, ih, iw, c)), i8p(x),
               C.byref(Dims(1, kh, kw, 1)), C.byref(Dims(n, oh, ow, c)), i8p(out))
        assert rc == 0
        return out

    def softmax(self, x, in_q, beta):
        mult, shift, diff_min = softmax_params(beta, in_q[0])
        x = np.ascontiguousarray(x, np.int8)
        out = np.zeros_like(x)
        row = x.shape[-1]
        self.lib.arm_softmax_s8(i8p(x), x.size // row, row, mult, shift, diff_min, i8p(out))
        return out

    def add(self, a, b, qa, qb, qo, act):
        (m1, s1), (m2, s2), (mo, so) = add_params(qa[0], qb[0], qo[0])
        lo, hi = activation_range(act, qo[0], qo[1])
        a = np.ascontiguousarray(a, np.int8)
        b = np.ascontiguousarray(np.broadcast_to(b, a.shape), np.int8)
        out = np.zeros_like(a)
        rc = self.lib.arm_elementwise_add_s8(i8p(a), i8p(b), -qa[1], m1, s1, -qb[1], m2, s2, 20, i8p(out),
                                             qo[1], mo, so, lo, hi, a.size)
        assert rc == 0
        return out

    def mul(self, a, b, qa, qb, qo, act):
        m, s = quantize_multiplier(fq(qa[0]) * fq(qb[0]) / fq(qo[0]))
        lo, hi = activation_range(act, qo[0], qo[1])
        a = np.ascontiguousarray(a, np.int8)
        b = np.ascontiguousarray(np.broadcast_to(b, a.shape), np.int8)
        out = np.zeros_like(a)
        rc = self.lib.arm_elementwise_mul_s8(i8p(a), i8p(b), -qa[1], -qb[1], i8p(out), qo[1], m, s, lo, hi, a.size)
        assert rc == 0
        return out


def check_compilers():
    """Every runtime source compiles warning-free (-Werror) with each C compiler
    found: gcc, clang, and arm-none-eabi-gcc for Cortex-M4F (also the QEMU
    startup and harness).  Returns (passed, failed)."""
    import shutil
    warn = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2"]
    inc = ["-I", os.path.join(RUNTIME, "cmsis_nn"), "-I", os.path.join(RUNTIME, "tinyc"),
           "-I", os.path.join(RUNTIME, "tests"), "-I", os.path.join(RUNTIME, "qemu")]
    bind = ['-DTINYC_MODEL_HEADER="smoke.h"', "-DTINYC_MODEL=smoke"]
    kernels = sorted(glob.glob(os.path.join(RUNTIME, "cmsis_nn", "*.c")) +
                     glob.glob(os.path.join(RUNTIME, "tinyc", "*.c")) +
                     glob.glob(os.path.join(RUNTIME, "tests", "*.c")))
    m4 = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
    host = [f for f in kernels if not f.endswith("icount_check.c")] + [os.path.join(RUNTIME, "host", "host_main.c")]
    setups = [("gcc", [], host, ["-pedantic"]),
              ("clang", [], host, ["-pedantic"]),
              ("arm-none-eabi-gcc", m4, kernels + sorted(glob.glob(os.path.join(RUNTIME, "qemu", "*.c"))), [])]
    passed = failed = 0
    for cc, extra, files, pedantic in setups:
        if shutil.which(cc) is None:
            print("compile: %s not found, skipped" % cc)
            continue
        errors = []
        for f in files:
            strict = pedantic if ("cmsis_nn" in f or os.sep + "tinyc" + os.sep in f) else []
            r = subprocess.run([cc] + warn + strict + extra + inc + bind + ["-c", f, "-o", os.devnull],
                               capture_output=True, text=True)
            if r.returncode != 0:
                errors.append(os.path.relpath(f, RUNTIME) + ":\n" + r.stderr)
        if errors:
            failed += 1
            print("compile: %s: %d of %d files FAILED\n%s" % (cc, len(errors), len(files), "".join(errors)))
        else:
            passed += 1
            print("compile: %s -Wall -Wextra -Werror: %d files clean" % (cc, len(files)))
    return passed, failed


# ----------------------------------------------------------------------------
# Part 1: the models, layer by layer


def load_model(path):
    from tflite_micro.python.tflite_micro import runtime
    with open(path, "rb") as f:
        return runtime.convert_bytearray_to_object(bytearray(f.read()))


def op_name(model, op):
    from tflite_micro.python.tflite_micro import runtime
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s
    code = runtime.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])
    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    return names[code]


NP_TYPES = {0: np.float32, 2: np.int32, 9: np.int8, 3: np.uint8, 7: np.int16}


def const_value(model, t):
    buf = model.buffers[t.buffer]
    if buf is None or buf.data is None or len(buf.data) == 0:
        return None
    return np.frombuffer(bytes(np.asarray(buf.data, np.uint8)), NP_TYPES[t.type]).reshape(t.shape)


def run_model_op(runner, model, name, op, inputs):
    sg = model.subgraphs[0]
    tin = [sg.tensors[i] if i >= 0 else None for i in op.inputs]
    tout = sg.tensors[op.outputs[0]]
    qin = [(q_of(t)[0], q_of(t)[1]) if t is not None else (None, None) for t in tin]
    qo = q_of(tout)
    opts = op.builtinOptions
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return runner.conv(inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None,
                           (qin[0][0][0], qin[0][1][0]), qin[1][0], (qo[0][0], qo[1][0]), opts,
                           depthwise=(name == "DEPTHWISE_CONV_2D"))
    if name == "FULLY_CONNECTED":
        return runner.fully_connected(inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None,
                                      (qin[0][0][0], qin[0][1][0]), qin[1], (qo[0][0], qo[1][0]), opts,
                                      tuple(tout.shape))
    if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return runner.pool(inputs[0], (qin[0][0][0], qin[0][1][0]), (qo[0][0], qo[1][0]), opts,
                           name == "MAX_POOL_2D")
    if name == "SOFTMAX":
        return runner.softmax(inputs[0], (qin[0][0][0], qin[0][1][0]), opts.beta)
    if name == "ADD":
        return runner.add(inputs[0], inputs[1], (qin[0][0][0], qin[0][1][0]), (qin[1][0][0], qin[1][1][0]),
                          (qo[0][0], qo[1][0]), opts.fusedActivationFunction)
    if name == "MUL":
        return runner.mul(inputs[0], inputs[1], (qin[0][0][0], qin[0][1][0]), (qin[1][0][0], qin[1][1][0]),
                          (qo[0][0], qo[1][0]), opts.fusedActivationFunction)
    if name == "RESHAPE":
        return inputs[0].reshape(tout.shape)  # no kernel: the bytes stay as they are
    raise NotImplementedError(name)


def check_models(runner, models_dir, verbose):
    total_ok = True
    summary = []
    golden = os.path.join(models_dir, "golden")
    for path in sorted(glob.glob(os.path.join(models_dir, "*.tflite"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        meta_path = os.path.join(golden, "layers", stem + ".json")
        if not os.path.exists(meta_path):
            continue
        model = load_model(path)
        sg = model.subgraphs[0]
        with open(meta_path) as f:
            meta = json.load(f)
        producer = {}
        for entry in meta["operators"]:
            for j, o in enumerate(entry["outputs"]):
                producer[o["tensor"]] = (entry["index"], o["file"])
        ks = sorted(int(p.split(".input")[1].split(".")[0])
                    for p in glob.glob(os.path.join(golden, stem + ".input*.npy")))
        layers_ok = 0
        tensors_ok = 0
        tensors = 0
        first_bad = None
        for entry in meta["operators"]:
            i = entry["index"]
            op = sg.operators[i]
            name = op_name(model, op)
            assert name == entry["op"], (name, entry["op"])
            layer_ok = True
            for k in ks:
                inputs = []
                for t_idx in op.inputs:
                    if t_idx < 0:
                        inputs.append(None)
                        continue
                    t = sg.tensors[t_idx]
                    v = const_value(model, t)
                    if v is None:
                        if t_idx in producer:
                            _, fname = producer[t_idx]
                            v = np.load(os.path.join(golden, "layers", "%s.input%d" % (stem, k), fname))
                        else:
                            pos = list(sg.inputs).index(t_idx)
                            v = np.load(os.path.join(golden, "%s.input%d.npy" % (stem, k if pos == 0 else k)))
                    inputs.append(v)
                want = np.load(os.path.join(golden, "layers", "%s.input%d" % (stem, k), entry["outputs"][0]["file"]))
                got = run_model_op(runner, model, name, op, inputs)
                tensors += 1
                if got.shape == want.shape and np.array_equal(got, want):
                    tensors_ok += 1
                else:
                    layer_ok = False
                    if verbose:
                        diff = np.abs(got.astype(np.int32) - want.astype(np.int32)) if got.shape == want.shape else None
                        print("  %s op%d %s input%d: MISMATCH %s" % (
                            stem, i, name, k,
                            "shape %s vs %s" % (got.shape, want.shape) if diff is None else
                            "%d of %d differ, max |diff| %d" % (np.count_nonzero(diff), diff.size, diff.max())))
            if layer_ok:
                layers_ok += 1
            elif first_bad is None:
                first_bad = "op%d %s" % (i, name)
        n = len(meta["operators"])
        ok = layers_ok == n
        total_ok &= ok
        line = "%-24s %2d/%2d layers bit-exact (%d/%d tensors over %d inputs)%s" % (
            stem, layers_ok, n, tensors_ok, tensors, len(ks), "" if ok else "; first mismatch: " + first_bad)
        summary.append(line)
        print(line)
    return total_ok, summary


# ----------------------------------------------------------------------------
# Part 2: single ops, against TFLite Micro's interpreter on one-op models


def schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s
    return s


def build_one_op_model(opcode, tensors, op_inputs, op_outputs, opt_type=0, opts=None):
    """A .tflite with one operator.  tensors: dicts with shape, dtype, and
    optionally scale/zp (quantization) and data (constant)."""
    import flatbuffers
    s = schema()
    types = {np.dtype(np.float32): s.TensorType.FLOAT32, np.dtype(np.int8): s.TensorType.INT8,
             np.dtype(np.int32): s.TensorType.INT32, "int4": s.TensorType.INT4}
    m = s.ModelT()
    m.version = 3
    oc = s.OperatorCodeT()
    oc.builtinCode = opcode
    oc.deprecatedBuiltinCode = min(opcode, 127)
    oc.version = 1
    m.operatorCodes = [oc]
    buffers = [s.BufferT()]
    ts = []
    for i, d in enumerate(tensors):
        t = s.TensorT()
        t.shape = np.array(d["shape"], np.int32)
        t.type = types[d["dtype"] if d["dtype"] == "int4" else np.dtype(d["dtype"])]
        t.name = ("t%d" % i).encode()
        if d.get("scale") is not None:
            q = s.QuantizationParametersT()
            q.scale = np.array(np.atleast_1d(d["scale"]), np.float32)
            q.zeroPoint = np.array(np.atleast_1d(d["zp"]), np.int64)
            q.quantizedDimension = d.get("qdim", 0)
            t.quantization = q
        t.buffer = 0
        if d.get("data") is not None:
            b = s.BufferT()
            raw = pack_int4(d["data"]) if d["dtype"] == "int4" else np.ascontiguousarray(d["data"], d["dtype"])
            b.data = np.frombuffer(raw.tobytes(), np.uint8)
            buffers.append(b)
            t.buffer = len(buffers) - 1
        ts.append(t)
    op = s.OperatorT()
    op.opcodeIndex = 0
    op.inputs = np.array(op_inputs, np.int32)
    op.outputs = np.array(op_outputs, np.int32)
    op.builtinOptionsType = opt_type
    op.builtinOptions = opts
    sg = s.SubGraphT()
    sg.tensors = ts
    sg.operators = [op]
    sg.inputs = np.array([i for i in op_inputs if i >= 0 and tensors[i].get("data") is None], np.int32)
    sg.outputs = np.array(op_outputs, np.int32)
    m.subgraphs = [sg]
    m.buffers = buffers
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def run_tflm(model, inputs):
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model, arena_size=1 << 22)
    for i, x in enumerate(inputs):
        it.set_input(x, i)
    it.invoke()
    return it.get_output(0)


def T(shape, dtype, scale=None, zp=None, data=None, qdim=0):
    return dict(shape=list(shape), dtype=dtype, scale=scale, zp=zp, data=data, qdim=qdim)


def opts_of(name, **fields):
    s = schema()
    o = getattr(s, name + "T")()
    for k, v in fields.items():
        setattr(o, k, v)
    return getattr(s.BuiltinOptions, name), o


def lut_activation_params(in_scale):
    """TFLM LOGISTIC/TANH int8 Prepare (kInputIntegerBits = 4)."""
    q, shift = math.frexp(fq(in_scale) * (1 << (31 - 4)))
    mult = int(tflite_round(q * (1 << 31)))
    return mult, shift, calculate_input_radius(4, shift, 31)


def downscale_q15(m):
    """DownScaleInt32ToInt16Multiplier."""
    if m >= (1 << 31) - 1 - (1 << 15):
        return 32767
    return (m + (1 << 15)) >> 16


def out_dims(x, k, stride, dilation, padding):
    eff = (k - 1) * dilation + 1
    return (x + stride - 1) // stride if padding == 0 else (x - eff + stride) // stride


class OpChecks:
    def __init__(self, runner, verbose):
        self.lib = runner.lib
        self.runner = runner
        self.verbose = verbose
        self.rng = np.random.default_rng(1234)
        self.passed = 0
        self.failed = 0

    def i8(self, shape):
        return self.rng.integers(-128, 128, shape, dtype=np.int8)

    def f(self, shape, lo=-2.0, hi=2.0):
        return self.rng.uniform(lo, hi, shape).astype(np.float32)

    def report(self, label, got, want, exact=True):
        got = np.asarray(got)
        want = np.asarray(want)
        if got.shape != want.shape:
            got = got.reshape(want.shape) if got.size == want.size else got
        if exact:
            ok = got.shape == want.shape and np.array_equal(got, want)
        else:
            ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-5)
        detail = ""
        if not ok and got.shape == want.shape:
            d = np.abs(got.astype(np.float64) - want.astype(np.float64))
            detail = " (%d of %d differ, max |diff| %g)" % (np.count_nonzero(d > (0 if exact else 1e-5)), d.size, d.max())
        elif not ok:
            detail = " (shape %s vs %s)" % (got.shape, want.shape)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        if self.verbose or not ok:
            print("  op %-40s %s%s" % (label, "ok" if ok else "MISMATCH", detail))

    # -- int8 activations

    def logistic_tanh(self):
        s = schema()
        x = np.arange(-128, 128, dtype=np.int8).reshape(1, 4, 8, 8)  # every int8 value
        for in_scale, in_zp in ((0.1, 3), (0.02, -20), (0.5, 0), (0.0039, -128), (0.15, 100)):
            mult, shift, radius = lut_activation_params(in_scale)
            for name, code, out_q, fn in (("LOGISTIC", s.BuiltinOperator.LOGISTIC, (1 / 256, -128), self.lib.tinyc_logistic_s8),
                                          ("TANH", s.BuiltinOperator.TANH, (1 / 128, 0), self.lib.tinyc_tanh_s8)):
                model = build_one_op_model(code, [T(x.shape, np.int8, in_scale, in_zp),
                                                  T(x.shape, np.int8, out_q[0], out_q[1])], [0], [1])
                want = run_tflm(model, [x])
                got = np.zeros_like(x)
                fn(i8p(x), x.size, in_zp, radius, mult, shift, i8p(got))
                self.report("%s s8 scale %g zp %d" % (name, in_scale, in_zp), got, want)

    def hard_swish(self):
        s = schema()
        x = np.arange(-128, 128, dtype=np.int8).reshape(1, 4, 8, 8)  # every int8 value
        for in_q, out_q in (((0.05, 3), (0.03, -10)), ((0.02, -128), (0.02, -100)), ((0.1, 10), (0.07, 5)),
                            ((0.3, -5), (0.2, -60))):
            hires = f32(1.0 / 128.0) * f32(in_q[0])
            om, oe = quantize_multiplier(float(hires / f32(out_q[0])))
            rm, re = quantize_multiplier(float(hires / (f32(3.0) / f32(32768.0))))
            model = build_one_op_model(s.BuiltinOperator.HARD_SWISH, [T(x.shape, np.int8, *in_q),
                                                                      T(x.shape, np.int8, *out_q)], [0], [1])
            want = run_tflm(model, [x])
            got = np.zeros_like(x)
            self.lib.tinyc_hard_swish_s8(i8p(x), x.size, in_q[1], out_q[1], downscale_q15(rm), re,
                                         downscale_q15(om), oe, i8p(got))
            self.report("HARD_SWISH s8 %s -> %s" % (in_q, out_q), got, want)

    def leaky_relu(self):
        for alpha, in_q, out_q in ((0.2, (0.05, 3), (0.04, -5)), (0.01, (0.1, -128), (0.1, -128))):
            x = self.i8((2, 4, 4, 3))
            ot, o = opts_of("LeakyReluOptions", alpha=alpha)
            model = build_one_op_model(schema().BuiltinOperator.LEAKY_RELU,
                                       [T(x.shape, np.int8, *in_q), T(x.shape, np.int8, *out_q)], [0], [1], ot, o)
            want = run_tflm(model, [x])
            im, ish = quantize_multiplier(float(f32(in_q[0]) / f32(out_q[0])))
            am, ash = quantize_multiplier(float(f32(in_q[0]) * f32(alpha) / f32(out_q[0])))
            got = np.zeros_like(x)
            self.lib.tinyc_leaky_relu_s8(i8p(x), x.size, in_q[1], out_q[1], im, ish, am, ash, i8p(got))
            self.report("LEAKY_RELU s8 alpha %g" % alpha, got, want)

    def relu(self):
        s = schema()
        for name, code, act in (("RELU", s.BuiltinOperator.RELU, 1),):  # TFLM has no RELU_N1_TO_1
            for in_q, out_q in (((0.05, 3), (0.03, -128)), ((0.02, -7), (0.02, -7))):
                x = self.i8((1, 9, 9, 3))
                model = build_one_op_model(code, [T(x.shape, np.int8, *in_q), T(x.shape, np.int8, *out_q)], [0], [1])
                want = run_tflm(model, [x])
                m, sh = quantize_multiplier(fq(in_q[0]) / fq(out_q[0]))
                lo, hi = activation_range(act, out_q[0], out_q[1])
                got = np.zeros_like(x)
                self.lib.tinyc_relu_s8(i8p(x), x.size, in_q[1], out_q[1], m, sh, lo, hi, i8p(got))
                self.report("%s s8 %s -> %s" % (name, in_q, out_q), got, want)
        # RELU6 in TFLM keeps the input's quantization: a clamp.
        in_q = (0.05, -20)
        x = self.i8((1, 9, 9, 3))
        model = build_one_op_model(s.BuiltinOperator.RELU6, [T(x.shape, np.int8, *in_q), T(x.shape, np.int8, *in_q)],
                                   [0], [1])
        want = run_tflm(model, [x])
        hi = max(-128, min(127, int(tflite_round(float(f32(6.0) / f32(in_q[0])))) + in_q[1]))
        got = np.zeros_like(x)
        self.lib.tinyc_clamp_s8(i8p(x), x.size, in_q[1], hi, i8p(got))
        self.report("RELU6 s8 (clamp)", got, want)

    # -- int8 arithmetic

    def sub_mul(self):
        s = schema()
        for act in (0, 1, 3):
            a, b = self.i8((1, 6, 6, 4)), self.i8((1, 6, 6, 4))
            qa, qb, qo = (0.05, 4), (0.09, -11), (0.12, -3)
            ot, o = opts_of("SubOptions", fusedActivationFunction=act)
            model = build_one_op_model(s.BuiltinOperator.SUB, [T(a.shape, np.int8, *qa), T(b.shape, np.int8, *qb),
                                                               T(a.shape, np.int8, *qo)], [0, 1], [2], ot, o)
            want = run_tflm(model, [a, b])
            (m1, s1), (m2, s2), (mo, so) = add_params(qa[0], qb[0], qo[0])
            lo, hi = activation_range(act, qo[0], qo[1])
            got = np.zeros_like(a)
            self.lib.tinyc_sub_s8(i8p(a), i8p(b), -qa[1], m1, s1, -qb[1], m2, s2, 20, i8p(got), qo[1], mo, so,
                                  lo, hi, a.size)
            self.report("SUB s8 act %d" % act, got, want)
            ot, o = opts_of("MulOptions", fusedActivationFunction=act)
            model = build_one_op_model(s.BuiltinOperator.MUL, [T(a.shape, np.int8, *qa), T(b.shape, np.int8, *qb),
                                                               T(a.shape, np.int8, 0.02, 7)], [0, 1], [2], ot, o)
            want = run_tflm(model, [a, b])
            got = self.runner.mul(a, b, qa, qb, (0.02, 7), act)
            self.report("MUL s8 act %d (arm_elementwise_mul_s8)" % act, got, want)
            ot, o = opts_of("AddOptions", fusedActivationFunction=act)
            model = build_one_op_model(s.BuiltinOperator.ADD, [T(a.shape, np.int8, *qa), T(b.shape, np.int8, *qb),
                                                               T(a.shape, np.int8, *qo)], [0, 1], [2], ot, o)
            want = run_tflm(model, [a, b])
            got = self.runner.add(a, b, qa, qb, qo, act)
            self.report("ADD s8 act %d (arm_elementwise_add_s8)" % act, got, want)

    def broadcast(self):
        s = schema()
        qa, qb, qo = (0.05, 4), (0.09, -11), (0.12, -3)
        for sa, sb in (((1, 5, 6, 4), (1, 1, 1, 4)), ((1, 5, 1, 4), (1, 1, 6, 1)), ((2, 1, 6, 4), (1, 5, 6, 4))):
            oshape = [max(x, y) for x, y in zip(sa, sb)]
            a, b = self.i8(sa), self.i8(sb)
            af, bf = self.f(sa), self.f(sb)
            sa_c, sb_c = np.array(sa, np.int32), np.array(sb, np.int32)
            for name, code, optname in (("ADD", s.BuiltinOperator.ADD, "AddOptions"),
                                        ("SUB", s.BuiltinOperator.SUB, "SubOptions"),
                                        ("MUL", s.BuiltinOperator.MUL, "MulOptions")):
                act = 1
                ot, o = opts_of(optname, fusedActivationFunction=act)
                model = build_one_op_model(code, [T(sa, np.int8, *qa), T(sb, np.int8, *qb), T(oshape, np.int8, *qo)],
                                           [0, 1], [2], ot, o)
                want = run_tflm(model, [a, b])
                got = np.zeros(oshape, np.int8)
                lo, hi = activation_range(act, qo[0], qo[1])
                if name == "MUL":
                    m, sh = quantize_multiplier(fq(qa[0]) * fq(qb[0]) / fq(qo[0]))
                    rc = self.lib.tinyc_mul_s8_broadcast(i8p(a), i32p(sa_c), i8p(b), i32p(sb_c), -qa[1], -qb[1],
                                                         i8p(got), qo[1], m, sh, lo, hi)
                else:
                    (m1, s1), (m2, s2), (mo, so) = add_params(qa[0], qb[0], qo[0])
                    f = self.lib.tinyc_add_s8_broadcast if name == "ADD" else self.lib.tinyc_sub_s8_broadcast
                    rc = f(i8p(a), i32p(sa_c), i8p(b), i32p(sb_c), -qa[1], m1, s1, -qb[1], m2, s2, 20, i8p(got),
                           qo[1], mo, so, lo, hi)
                assert rc == 0
                self.report("%s s8 broadcast %s x %s" % (name, sa, sb), got, want)
                model = build_one_op_model(code, [T(sa, np.float32), T(sb, np.float32), T(oshape, np.float32)],
                                           [0, 1], [2], ot, o)
                want = run_tflm(model, [af, bf])
                got = np.zeros(oshape, np.float32)
                f = getattr(self.lib, "tinyc_%s_f32_broadcast" % name.lower())
                rc = f(f32p(af), i32p(sa_c), f32p(bf), i32p(sb_c), C.c_float(0.0), C.c_float(np.inf), f32p(got))
                assert rc == 0
                self.report("%s f32 broadcast %s x %s" % (name, sa, sb), got, want, exact=False)

    def quantize(self):
        s = schema()
        x = self.f((1, 7, 7, 3), -3, 3)
        x[0, 0, 0, :] = [0.125, -0.125, 0.375]  # ties at scale 0.25
        for scale, zp in ((0.25, 0), (0.013, -5), (0.05, 100)):
            model = build_one_op_model(s.BuiltinOperator.QUANTIZE, [T(x.shape, np.float32), T(x.shape, np.int8, scale, zp)],
                                       [0], [1])
            want = run_tflm(model, [x])
            got = np.zeros(x.shape, np.int8)
            self.lib.tinyc_quantize_f32_s8(f32p(x), x.size, C.c_float(scale), zp, i8p(got))
            self.report("QUANTIZE f32->s8 scale %g zp %d" % (scale, zp), got, want)
        q = self.i8((1, 7, 7, 3))
        for in_q, out_q in (((0.05, 3), (0.02, -10)), ((0.02, -3), (0.07, 9))):
            model = build_one_op_model(s.BuiltinOperator.QUANTIZE, [T(q.shape, np.int8, *in_q), T(q.shape, np.int8, *out_q)],
                                       [0], [1])
            want = run_tflm(model, [q])
            m, sh = quantize_multiplier(fq(in_q[0]) / fq(out_q[0]))
            got = np.zeros_like(q)
            self.lib.tinyc_requantize_s8(i8p(q), q.size, in_q[1], out_q[1], m, sh, i8p(got))
            self.report("QUANTIZE s8->s8 %s -> %s" % (in_q, out_q), got, want)
        model = build_one_op_model(s.BuiltinOperator.DEQUANTIZE, [T(q.shape, np.int8, 0.0371, -7), T(q.shape, np.float32)],
                                   [0], [1])
        want = run_tflm(model, [q])
        got = np.zeros(q.shape, np.float32)
        self.lib.tinyc_dequantize_s8_f32(i8p(q), q.size, C.c_float(0.0371), -7, f32p(got))
        self.report("DEQUANTIZE s8->f32", got, want)

    # -- int8 kernels with features the models do not use

    def conv_features(self):
        s = schema()
        x = self.i8((1, 11, 9, 6))
        w = self.i8((8, 3, 3, 6))
        w[w == -128] = -127
        bias = self.rng.integers(-3000, 3000, 8, dtype=np.int32)
        ws = list(self.rng.uniform(0.002, 0.01, 8))
        for stride, dil, pad, act in ((1, 2, 0, 1), (2, 1, 0, 3), (2, 2, 1, 0)):
            oh, ow = out_dims(11, 3, stride, dil, pad), out_dims(9, 3, stride, dil, pad)
            ot, o = opts_of("Conv2DOptions", padding=pad, strideW=stride, strideH=stride, dilationWFactor=dil,
                            dilationHFactor=dil, fusedActivationFunction=act)
            model = build_one_op_model(s.BuiltinOperator.CONV_2D, [
                T(x.shape, np.int8, 0.05, -4), T(w.shape, np.int8, ws, [0] * 8, w),
                T([8], np.int32, [0.05 * v for v in ws], [0] * 8, bias), T((1, oh, ow, 8), np.int8, 0.09, 6)],
                [0, 1, 2], [3], ot, o)
            want = run_tflm(model, [x])
            got = self.runner.conv(x, w, bias, (0.05, -4), [float(f32(v)) for v in ws], (0.09, 6), o)
            self.report("CONV_2D s8 stride %d dilation %d pad %s" % (stride, dil, "VALID" if pad else "SAME"), got, want)
        dw = self.i8((1, 3, 3, 12))
        dw[dw == -128] = -127
        dws = list(self.rng.uniform(0.002, 0.01, 12))
        dbias = self.rng.integers(-3000, 3000, 12, dtype=np.int32)
        for stride, dil in ((1, 1), (2, 2)):
            oh, ow = out_dims(11, 3, stride, dil, 0), out_dims(9, 3, stride, dil, 0)
            ot, o = opts_of("DepthwiseConv2DOptions", padding=0, strideW=stride, strideH=stride, depthMultiplier=2,
                            dilationWFactor=dil, dilationHFactor=dil, fusedActivationFunction=1)
            model = build_one_op_model(s.BuiltinOperator.DEPTHWISE_CONV_2D, [
                T(x.shape, np.int8, 0.05, -4), T(dw.shape, np.int8, dws, [0] * 12, dw, qdim=3),
                T([12], np.int32, [0.05 * v for v in dws], [0] * 12, dbias), T((1, oh, ow, 12), np.int8, 0.07, -9)],
                [0, 1, 2], [3], ot, o)
            want = run_tflm(model, [x])
            got = self.runner.conv(x, dw, dbias, (0.05, -4), [float(f32(v)) for v in dws], (0.07, -9), o, depthwise=True)
            self.report("DEPTHWISE_CONV_2D s8 mult 2 stride %d dil %d" % (stride, dil), got, want)
        for pad in (0, 1):
            ot, o = opts_of("Pool2DOptions", padding=pad, strideW=2, strideH=2, filterWidth=3, filterHeight=3,
                            fusedActivationFunction=0)
            oh, ow = out_dims(11, 3, 2, 1, pad), out_dims(9, 3, 2, 1, pad)
            for name, code in (("MAX_POOL_2D", s.BuiltinOperator.MAX_POOL_2D), ("AVERAGE_POOL_2D", s.BuiltinOperator.AVERAGE_POOL_2D)):
                model = build_one_op_model(code, [T(x.shape, np.int8, 0.05, -4), T((1, oh, ow, 6), np.int8, 0.05, -4)],
                                           [0], [1], ot, o)
                want = run_tflm(model, [x])
                got = self.runner.pool(x, (0.05, -4), (0.05, -4), o, name == "MAX_POOL_2D")
                self.report("%s s8 3x3/2 %s" % (name, "VALID" if pad else "SAME"), got, want)
        fx = self.i8((3, 20))
        fw = self.i8((7, 20))
        fw[fw == -128] = -127
        fb = self.rng.integers(-2000, 2000, 7, dtype=np.int32)
        fsc = list(self.rng.uniform(0.002, 0.01, 7))
        ot, o = opts_of("FullyConnectedOptions", fusedActivationFunction=0)
        for per_channel in (False, True):
            scales = fsc if per_channel else fsc[:1]
            model = build_one_op_model(s.BuiltinOperator.FULLY_CONNECTED, [
                T(fx.shape, np.int8, 0.04, 2), T(fw.shape, np.int8, scales, [0] * len(scales), fw),
                T([7], np.int32, [0.04 * v for v in scales], [0] * len(scales), fb), T((3, 7), np.int8, 0.1, -1)],
                [0, 1, 2], [3], ot, o)
            try:
                want = run_tflm(model, [fx])
            except Exception as e:  # an older TFLM without per-channel FC
                print("  op FULLY_CONNECTED per-channel: TFLM refused (%s), skipped" % str(e).splitlines()[0])
                continue
            got = self.runner.fully_connected(fx, fw, fb, (0.04, 2), ([float(f32(v)) for v in scales], [0] * len(scales)),
                                              (0.1, -1), o, (3, 7))
            self.report("FULLY_CONNECTED s8 batch 3 %s" % ("per-channel" if per_channel else "per-tensor"), got, want)
        # int4 weights (TFLite INT4 filters; CMSIS-NN *_s4 kernels)
        w4 = self.rng.integers(-8, 8, (8, 3, 3, 6), dtype=np.int8)
        ot, o = opts_of("Conv2DOptions", padding=0, strideW=2, strideH=1, dilationWFactor=1, dilationHFactor=1,
                        fusedActivationFunction=1)
        oh, ow = out_dims(11, 3, 1, 1, 0), out_dims(9, 3, 2, 1, 0)
        model = build_one_op_model(s.BuiltinOperator.CONV_2D, [
            T(x.shape, np.int8, 0.05, -4), T(w4.shape, "int4", ws, [0] * 8, w4),
            T([8], np.int32, [0.05 * v for v in ws], [0] * 8, bias), T((1, oh, ow, 8), np.int8, 0.09, 6)],
            [0, 1, 2], [3], ot, o)
        want = run_tflm(model, [x])
        got = self.runner.conv(x, w4, bias, (0.05, -4), ws, (0.09, 6), o, s4=True)
        self.report("CONV_2D int4 weights (arm_convolve_wrapper_s4)", got, want)
        dw4 = self.rng.integers(-8, 8, (1, 3, 3, 12), dtype=np.int8)
        ot, o = opts_of("DepthwiseConv2DOptions", padding=0, strideW=1, strideH=1, depthMultiplier=2,
                        dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
        model = build_one_op_model(s.BuiltinOperator.DEPTHWISE_CONV_2D, [
            T(x.shape, np.int8, 0.05, -4), T(dw4.shape, "int4", dws, [0] * 12, dw4, qdim=3),
            T([12], np.int32, [0.05 * v for v in dws], [0] * 12, dbias), T((1, 11, 9, 12), np.int8, 0.07, -9)],
            [0, 1, 2], [3], ot, o)
        want = run_tflm(model, [x])
        got = self.runner.conv(x, dw4, dbias, (0.05, -4), dws, (0.07, -9), o, depthwise=True, s4=True)
        self.report("DEPTHWISE_CONV_2D int4 weights (_s4)", got, want)
        fw4 = self.rng.integers(-8, 8, (7, 21), dtype=np.int8)  # odd element count
        fx4 = self.i8((3, 21))
        ot, o = opts_of("FullyConnectedOptions", fusedActivationFunction=0)
        model = build_one_op_model(s.BuiltinOperator.FULLY_CONNECTED, [
            T(fx4.shape, np.int8, 0.04, 2), T(fw4.shape, "int4", fsc[:1], [0], fw4),
            T([7], np.int32, [0.04 * fsc[0]], [0], fb), T((3, 7), np.int8, 0.1, -1)], [0, 1, 2], [3], ot, o)
        want = run_tflm(model, [fx4])
        got = self.runner.fully_connected(fx4, fw4, fb, (0.04, 2), (fsc[:1], [0]), (0.1, -1), o, (3, 7), s4=True)
        self.report("FULLY_CONNECTED int4 weights (arm_fully_connected_s4)", got, want)
        sx = self.i8((4, 10))
        for beta, scale in ((1.0, 0.1), (0.5, 0.03), (2.0, 0.25)):
            ot, o = opts_of("SoftmaxOptions", beta=beta)
            model = build_one_op_model(s.BuiltinOperator.SOFTMAX, [T(sx.shape, np.int8, scale, 5),
                                                                   T(sx.shape, np.int8, 1 / 256, -128)], [0], [1], ot, o)
            want = run_tflm(model, [sx])
            got = self.runner.softmax(sx, (scale, 5), beta)
            self.report("SOFTMAX s8 beta %g scale %g" % (beta, scale), got, want)

    # -- data movement and reductions (int8 and float)

    def pad(self):
        s = schema()
        shape = (1, 5, 4, 3)
        pads = np.array([[0, 0], [1, 2], [2, 0], [0, 1]], np.int32)
        for dtype in (np.int8, np.float32):
            x = self.i8(shape) if dtype == np.int8 else self.f(shape)
            oshape = [shape[i] + pads[i].sum() for i in range(4)]
            q = (0.1, 7) if dtype == np.int8 else (None, None)
            model = build_one_op_model(s.BuiltinOperator.PAD, [T(shape, dtype, *q), T([4, 2], np.int32, data=pads),
                                                               T(oshape, dtype, *q)], [0, 1], [2])
            want = run_tflm(model, [x])
            got = np.zeros(oshape, dtype)
            pv = np.array([7 if dtype == np.int8 else 0], dtype)
            rc = self.lib.tinyc_pad(vp(x), x.itemsize, i32p(np.array(shape, np.int32)),
                                    i32p(np.ascontiguousarray(pads[:, 0])), i32p(np.ascontiguousarray(pads[:, 1])),
                                    vp(pv), vp(got))
            assert rc == 0
            self.report("PAD %s" % np.dtype(dtype).name, got, want)
            cv = np.array([-3 if dtype == np.int8 else 1.5], dtype)
            model = build_one_op_model(s.BuiltinOperator.PADV2, [T(shape, dtype, *q), T([4, 2], np.int32, data=pads),
                                                                 T([1], dtype, *q, data=cv), T(oshape, dtype, *q)],
                                       [0, 1, 2], [3])
            want = run_tflm(model, [x])
            rc = self.lib.tinyc_pad(vp(x), x.itemsize, i32p(np.array(shape, np.int32)),
                                    i32p(np.ascontiguousarray(pads[:, 0])), i32p(np.ascontiguousarray(pads[:, 1])),
                                    vp(cv), vp(got))
            self.report("PADV2 %s" % np.dtype(dtype).name, got, want)

    def mean(self):
        s = schema()
        shape = (1, 7, 6, 5)
        for axes, mask in (([1, 2], 0x6), ([3], 0x8), ([1], 0x2)):
            oshape = [1 if i in axes else shape[i] for i in range(4)]
            for in_q, out_q in (((0.05, 3), (0.02, -10)), ((0.05, 3), (0.05, 3)), ((0.1, -128), (0.003, 20))):
                x = self.i8(shape)
                ot, o = opts_of("ReducerOptions", keepDims=True)
                model = build_one_op_model(s.BuiltinOperator.MEAN, [T(shape, np.int8, *in_q),
                                                                    T([len(axes)], np.int32, data=np.array(axes, np.int32)),
                                                                    T(oshape, np.int8, *out_q)], [0, 1], [2], ot, o)
                want = run_tflm(model, [x])
                m, sh = quantize_multiplier(fq(in_q[0]) / fq(out_q[0]))
                got = np.zeros(oshape, np.int8)
                rc = self.lib.tinyc_mean_s8(i8p(x), i32p(np.array(shape, np.int32)), mask, in_q[1], out_q[1], m, sh, i8p(got))
                assert rc == 0
                self.report("MEAN s8 axes %s %s -> %s" % (axes, in_q, out_q), got, want)
            x = self.f(shape)
            ot, o = opts_of("ReducerOptions", keepDims=True)
            model = build_one_op_model(s.BuiltinOperator.MEAN, [T(shape, np.float32),
                                                                T([len(axes)], np.int32, data=np.array(axes, np.int32)),
                                                                T(oshape, np.float32)], [0, 1], [2], ot, o)
            want = run_tflm(model, [x])
            got = np.zeros(oshape, np.float32)
            self.lib.tinyc_mean_f32(f32p(x), i32p(np.array(shape, np.int32)), mask, f32p(got))
            self.report("MEAN f32 axes %s" % axes, got, want, exact=False)

    def concat(self):
        s = schema()
        for axis in (3, 1):
            shapes = [(1, 4, 5, 3), (1, 4, 5, 2), (1, 4, 5, 4)] if axis == 3 else [(1, 2, 5, 3), (1, 3, 5, 3), (1, 1, 5, 3)]
            oshape = list(shapes[0])
            oshape[axis] = sum(sh[axis] for sh in shapes)
            outer = int(np.prod(shapes[0][:axis]))
            inner = int(np.prod(shapes[0][axis + 1:]))
            sizes = np.array([sh[axis] for sh in shapes], np.int32)
            for dtype in (np.int8, np.float32):
                xs = [self.i8(sh) if dtype == np.int8 else self.f(sh) for sh in shapes]
                q = (0.1, 7) if dtype == np.int8 else (None, None)
                ot, o = opts_of("ConcatenationOptions", axis=axis, fusedActivationFunction=0)
                model = build_one_op_model(s.BuiltinOperator.CONCATENATION,
                                           [T(sh, dtype, *q) for sh in shapes] + [T(oshape, dtype, *q)],
                                           [0, 1, 2], [3], ot, o)
                want = run_tflm(model, xs)
                got = np.zeros(oshape, dtype)
                ptrs = (C.c_void_p * 3)(*[v.ctypes.data for v in xs])
                if dtype == np.int8:
                    cptrs = (C.POINTER(C.c_int8) * 3)(*[i8p(v) for v in xs])
                    zps = np.array([7, 7, 7], np.int32)
                    self.lib.tinyc_concat_s8(cptrs, 3, i32p(sizes), outer, inner, i32p(zps), None, None, 7, i8p(got))
                    self.report("CONCATENATION s8 axis %d (tinyc_concat_s8)" % axis, got, want)
                self.lib.tinyc_concat(ptrs, 3, i32p(sizes), outer, inner, xs[0].itemsize, vp(got))
                self.report("CONCATENATION %s axis %d" % (np.dtype(dtype).name, axis), got, want)
        # Requantizing concat (TFLM only accepts equal scales): check against TFLite's
        # Requantize applied to each input, computed here.
        xs = [self.i8((1, 3, 3, 2)) for _ in range(2)]
        qs = [(0.05, 3), (0.2, -7)]
        oq = (0.1, 1)
        ms = np.array([quantize_multiplier(fq(q[0]) / fq(oq[0]))[0] for q in qs], np.int32)
        ss = np.array([quantize_multiplier(fq(q[0]) / fq(oq[0]))[1] for q in qs], np.int32)
        want = np.concatenate([np.clip(np.round((x.astype(np.float64) - q[1]) * q[0] / oq[0]) + oq[1], -128, 127)
                               for x, q in zip(xs, qs)], axis=3).astype(np.int8)
        got = np.zeros(want.shape, np.int8)
        cptrs = (C.POINTER(C.c_int8) * 2)(*[i8p(v) for v in xs])
        self.lib.tinyc_concat_s8(cptrs, 2, i32p(np.array([2, 2], np.int32)), 9, 1,
                                 i32p(np.array([3, -7], np.int32)), i32p(ms), i32p(ss), oq[1], i8p(got))
        d = np.abs(got.astype(int) - want.astype(int))
        self.report("CONCATENATION s8 requantized (|diff| <= 1 vs float)", d <= 1, np.ones(d.shape, bool))

    def transpose_slice(self):
        s = schema()
        shape = (2, 3, 4, 5)
        for dtype in (np.int8, np.float32):
            x = self.i8(shape) if dtype == np.int8 else self.f(shape)
            q = (0.1, 7) if dtype == np.int8 else (None, None)
            for perm in ((0, 3, 1, 2), (3, 2, 1, 0), (1, 0, 2, 3)):
                oshape = [shape[p] for p in perm]
                model = build_one_op_model(s.BuiltinOperator.TRANSPOSE, [T(shape, dtype, *q),
                                                                         T([4], np.int32, data=np.array(perm, np.int32)),
                                                                         T(oshape, dtype, *q)], [0, 1], [2])
                want = run_tflm(model, [x])
                got = np.zeros(oshape, dtype)
                rc = self.lib.tinyc_transpose(vp(x), x.itemsize, 4, i32p(np.array(shape, np.int32)),
                                              i32p(np.array(perm, np.int32)), vp(got))
                assert rc == 0
                self.report("TRANSPOSE %s perm %s" % (np.dtype(dtype).name, perm), got, want)
            for begin, end, strides in (([0, 1, 0, 1], [2, 3, 4, 5], [1, 1, 2, 2]),
                                        ([1, 2, 3, 4], [2, 0, 0, 0], [1, -1, -2, -3]),
                                        ([0, 0, 1, 0], [1, 3, 3, 5], [1, 2, 1, 4])):
                oshape = [max(0, -(-(e - b) // st)) if st > 0 else max(0, -(-(b - e) // -st))
                          for b, e, st in zip(begin, end, strides)]
                ot, o = opts_of("StridedSliceOptions", beginMask=0, endMask=0, ellipsisMask=0, newAxisMask=0,
                                shrinkAxisMask=0, offset=False)
                model = build_one_op_model(s.BuiltinOperator.STRIDED_SLICE, [
                    T(shape, dtype, *q), T([4], np.int32, data=np.array(begin, np.int32)),
                    T([4], np.int32, data=np.array(end, np.int32)), T([4], np.int32, data=np.array(strides, np.int32)),
                    T(oshape, dtype, *q)], [0, 1, 2, 3], [4], ot, o)
                want = run_tflm(model, [x])
                got = np.zeros(oshape, dtype)
                rc = self.lib.tinyc_strided_slice(vp(x), x.itemsize, 4, i32p(np.array(shape, np.int32)),
                                                  i32p(np.array(begin, np.int32)), i32p(np.array(end, np.int32)),
                                                  i32p(np.array(strides, np.int32)), vp(got))
                assert rc == 0
                self.report("STRIDED_SLICE %s %s:%s:%s" % (np.dtype(dtype).name, begin, end, strides), got, want)

    # -- float kernels

    def float_ops(self):
        s = schema()
        x = self.f((1, 10, 9, 6))
        w = self.f((8, 3, 3, 6), -0.5, 0.5)
        b = self.f((8,), -0.5, 0.5)
        for stride, dil, pad, act in ((1, 1, 0, 1), (2, 2, 1, 3), (2, 1, 0, 0)):
            oh, ow = out_dims(10, 3, stride, dil, pad), out_dims(9, 3, stride, dil, pad)
            ot, o = opts_of("Conv2DOptions", padding=pad, strideW=stride, strideH=stride, dilationWFactor=dil,
                            dilationHFactor=dil, fusedActivationFunction=act)
            model = build_one_op_model(s.BuiltinOperator.CONV_2D, [T(x.shape, np.float32), T(w.shape, np.float32, data=w),
                                                                   T([8], np.float32, data=b), T((1, oh, ow, 8), np.float32)],
                                       [0, 1, 2], [3], ot, o)
            want = run_tflm(model, [x])
            lo, hi = float_activation(act)
            got = np.zeros((1, oh, ow, 8), np.float32)
            rc = self.lib.tinyc_conv2d_f32(f32p(x), 1, 10, 9, 6, f32p(w), 8, 3, 3, 6, f32p(b), stride, stride,
                                           compute_padding(stride, dil, 10, 3, oh), compute_padding(stride, dil, 9, 3, ow),
                                           dil, dil, C.c_float(lo), C.c_float(hi), f32p(got), oh, ow)
            assert rc == 0
            self.report("CONV_2D f32 stride %d dil %d act %d" % (stride, dil, act), got, want, exact=False)
        dw = self.f((1, 3, 3, 12), -0.5, 0.5)
        db = self.f((12,), -0.5, 0.5)
        for stride, pad in ((1, 0), (2, 1)):
            oh, ow = out_dims(10, 3, stride, 1, pad), out_dims(9, 3, stride, 1, pad)
            ot, o = opts_of("DepthwiseConv2DOptions", padding=pad, strideW=stride, strideH=stride, depthMultiplier=2,
                            dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=3)
            model = build_one_op_model(s.BuiltinOperator.DEPTHWISE_CONV_2D, [
                T(x.shape, np.float32), T(dw.shape, np.float32, data=dw), T([12], np.float32, data=db),
                T((1, oh, ow, 12), np.float32)], [0, 1, 2], [3], ot, o)
            want = run_tflm(model, [x])
            got = np.zeros((1, oh, ow, 12), np.float32)
            rc = self.lib.tinyc_depthwise_conv2d_f32(f32p(x), 1, 10, 9, 6, f32p(dw), 3, 3, 2, f32p(db), stride, stride,
                                                     compute_padding(stride, 1, 10, 3, oh),
                                                     compute_padding(stride, 1, 9, 3, ow), 1, 1, C.c_float(0.0),
                                                     C.c_float(6.0), f32p(got), oh, ow)
            assert rc == 0
            self.report("DEPTHWISE_CONV_2D f32 stride %d" % stride, got, want, exact=False)
        fx = self.f((2, 30))
        fw = self.f((5, 30), -0.3, 0.3)
        fb = self.f((5,))
        ot, o = opts_of("FullyConnectedOptions", fusedActivationFunction=1)
        model = build_one_op_model(s.BuiltinOperator.FULLY_CONNECTED, [T(fx.shape, np.float32), T(fw.shape, np.float32, data=fw),
                                                                       T([5], np.float32, data=fb), T((2, 5), np.float32)],
                                   [0, 1, 2], [3], ot, o)
        want = run_tflm(model, [fx])
        got = np.zeros((2, 5), np.float32)
        self.lib.tinyc_fully_connected_f32(f32p(fx), 2, 30, f32p(fw), 5, f32p(fb), C.c_float(0.0), C.c_float(np.inf), f32p(got))
        self.report("FULLY_CONNECTED f32", got, want, exact=False)
        for pad in (0, 1):
            oh, ow = out_dims(10, 3, 2, 1, pad), out_dims(9, 3, 2, 1, pad)
            ot, o = opts_of("Pool2DOptions", padding=pad, strideW=2, strideH=2, filterWidth=3, filterHeight=3,
                            fusedActivationFunction=0)
            for name, code, fn in (("AVERAGE_POOL_2D", s.BuiltinOperator.AVERAGE_POOL_2D, self.lib.tinyc_avgpool_f32),
                                   ("MAX_POOL_2D", s.BuiltinOperator.MAX_POOL_2D, self.lib.tinyc_maxpool_f32)):
                model = build_one_op_model(code, [T(x.shape, np.float32), T((1, oh, ow, 6), np.float32)], [0], [1], ot, o)
                want = run_tflm(model, [x])
                got = np.zeros((1, oh, ow, 6), np.float32)
                fn(f32p(x), 1, 10, 9, 6, 3, 3, 2, 2, compute_padding(2, 1, 10, 3, oh), compute_padding(2, 1, 9, 3, ow),
                   C.c_float(-np.inf), C.c_float(np.inf), f32p(got), oh, ow)
                self.report("%s f32 %s" % (name, "VALID" if pad else "SAME"), got, want, exact=False)
        sx = self.f((3, 11), -4, 4)
        ot, o = opts_of("SoftmaxOptions", beta=0.7)
        model = build_one_op_model(s.BuiltinOperator.SOFTMAX, [T(sx.shape, np.float32), T(sx.shape, np.float32)], [0], [1], ot, o)
        want = run_tflm(model, [sx])
        got = np.zeros_like(sx)
        self.lib.tinyc_softmax_f32(f32p(sx), 3, 11, C.c_float(0.7), f32p(got))
        self.report("SOFTMAX f32", got, want, exact=False)
        a, bb = self.f((1, 4, 4, 3)), self.f((1, 4, 4, 3))
        for name, code, optname, fn in (("ADD", s.BuiltinOperator.ADD, "AddOptions", self.lib.tinyc_add_f32),
                                        ("SUB", s.BuiltinOperator.SUB, "SubOptions", self.lib.tinyc_sub_f32),
                                        ("MUL", s.BuiltinOperator.MUL, "MulOptions", self.lib.tinyc_mul_f32)):
            for act in (0, 3):
                ot, o = opts_of(optname, fusedActivationFunction=act)
                model = build_one_op_model(code, [T(a.shape, np.float32), T(a.shape, np.float32), T(a.shape, np.float32)],
                                           [0, 1], [2], ot, o)
                want = run_tflm(model, [a, bb])
                lo, hi = float_activation(act)
                got = np.zeros_like(a)
                fn(f32p(a), f32p(bb), a.size, C.c_float(lo), C.c_float(hi), f32p(got))
                self.report("%s f32 act %d" % (name, act), got, want, exact=False)
        ax = self.f((1, 5, 5, 4), -8, 8)
        unary = [("LOGISTIC", s.BuiltinOperator.LOGISTIC, None, lambda g: self.lib.tinyc_logistic_f32(f32p(ax), ax.size, f32p(g))),
                 ("TANH", s.BuiltinOperator.TANH, None, lambda g: self.lib.tinyc_tanh_f32(f32p(ax), ax.size, f32p(g))),
                 ("HARD_SWISH", s.BuiltinOperator.HARD_SWISH, None,
                  lambda g: self.lib.tinyc_hard_swish_f32(f32p(ax), ax.size, f32p(g))),
                 ("RELU", s.BuiltinOperator.RELU, None,
                  lambda g: self.lib.tinyc_relu_f32(f32p(ax), ax.size, C.c_float(0), C.c_float(np.inf), f32p(g))),
                 ("RELU6", s.BuiltinOperator.RELU6, None,
                  lambda g: self.lib.tinyc_relu_f32(f32p(ax), ax.size, C.c_float(0), C.c_float(6), f32p(g))),
                 ("LEAKY_RELU", s.BuiltinOperator.LEAKY_RELU, opts_of("LeakyReluOptions", alpha=0.1),
                  lambda g: self.lib.tinyc_leaky_relu_f32(f32p(ax), ax.size, C.c_float(0.1), f32p(g)))]
        for name, code, opt, fn in unary:
            ot, o = opt if opt else (0, None)
            model = build_one_op_model(code, [T(ax.shape, np.float32), T(ax.shape, np.float32)], [0], [1], ot, o)
            want = run_tflm(model, [ax])
            got = np.zeros_like(ax)
            fn(got)
            self.report("%s f32" % name, got, want, exact=False)

    def subbyte(self):
        for bits, lo, hi, pack, unpack, per in ((4, -8, 8, self.lib.tinyc_pack_s4, self.lib.tinyc_unpack_s4, 2),
                                                (2, -2, 2, self.lib.tinyc_pack_s2, self.lib.tinyc_unpack_s2, 4)):
            for count in (1, 7, 64, 101):
                v = self.rng.integers(lo, hi, count, dtype=np.int8)
                packed = np.zeros((count + per - 1) // per, np.uint8)
                pack(i8p(v), count, ptr(packed, C.c_uint8))
                want = np.zeros_like(packed)
                for i, e in enumerate(v):  # layout: element i at bits (i % per) * bits
                    want[i // per] |= (int(e) & ((1 << bits) - 1)) << ((i % per) * bits)
                back = np.zeros_like(v)
                unpack(ptr(packed, C.c_uint8), count, i8p(back))
                self.report("int%d pack/unpack %d values" % (bits, count),
                            np.concatenate([packed, back.view(np.uint8)]), np.concatenate([want, v.view(np.uint8)]))


def check_ops(runner, verbose):
    checks = OpChecks(runner, verbose)
    for group in (checks.logistic_tanh, checks.hard_swish, checks.leaky_relu, checks.relu, checks.sub_mul,
                  checks.broadcast,
                  checks.quantize, checks.conv_features, checks.pad, checks.mean, checks.concat,
                  checks.transpose_slice, checks.float_ops, checks.subbyte):
        group()
    print("single ops vs TFLite Micro: %d passed, %d failed" % (checks.passed, checks.failed))
    return checks.passed, checks.failed


# ----------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", default=DEFAULT_MODELS)
    ap.add_argument("--no-ops", action="store_true", help="skip the single-op TFLM checks")
    ap.add_argument("--no-models", action="store_true", help="skip the model layer checks")
    ap.add_argument("--no-qemu", action="store_true",
                    help="skip Backends/Runtime/tests/run_qemu_smoke.sh (Cortex-M4 build under QEMU)")
    ap.add_argument("--ubsan", action="store_true",
                    help="build the runtime library with -fsanitize=undefined (aborts on undefined behaviour)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        lib = build_runtime(tmp, sanitize=args.ubsan)
        runner = Runner(lib)
        passed, failed = check_compilers()
        if not args.no_models:
            if os.path.isdir(args.models_dir):
                ok, lines = check_models(runner, args.models_dir, args.verbose)
                for line in lines:
                    if "first mismatch" in line:
                        failed += 1
                    else:
                        passed += 1
            else:
                print("models: %s not found, skipped" % args.models_dir)
        if not args.no_ops:
            p, f = check_ops(runner, args.verbose)
            passed += p
            failed += f
        if not args.no_qemu:
            import shutil
            if shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc"):
                r = subprocess.run(["sh", os.path.join(RUNTIME, "tests", "run_qemu_smoke.sh")],
                                   capture_output=True, text=True)
                lines = [l for l in r.stdout.splitlines() if l.strip()]
                for l in lines[:-1]:
                    if args.verbose or not l.startswith("ok"):
                        print("  qemu " + l)
                print("qemu smoke test: " + (lines[-1] if lines else r.stderr.strip()))
                if r.returncode == 0:
                    passed += 1
                else:
                    failed += 1
            else:
                print("qemu: qemu-system-arm or arm-none-eabi-gcc not found, skipped")
        print("%d passed, %d failed" % (passed, failed))
        return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
