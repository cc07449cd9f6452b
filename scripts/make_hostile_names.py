#!/usr/bin/env python3
"""Writes copies of two example models whose every name is hostile, for the tests that check
that names from a model file stay data (Tests/TinyCTests/HostileNamesTests.swift):

    python3 scripts/make_hostile_names.py Tests/TinyCTests/Fixtures

- hostile_ds_cnn_s.tflite: Examples/ds_cnn_s.tflite with every tensor name (and the subgraph
  name) replaced, through the schema's object API shipped in `tflite-micro`.
- hostile_cnn_qdq.onnx: Examples/onnx/cnn_qdq.onnx with every node name, value name
  (initializers, node inputs/outputs, graph inputs/outputs, value_info) and the graph name
  replaced, through the `onnx` package; its first two initializers are named `clash.x` and
  `clash_x`, which reduce to the same C identifier.

The names hold C comment closers and a shell command, `return 42;`, quotes, backslashes, a
backslash-newline, a `??/` trigraph, NUL, ANSI escapes (CSI and OSC), a C1 control, bytes
that are not UTF-8 and a 100 KB name. Protobuf's Python API refuses non-UTF-8 text, so those
names are written as a same-length placeholder that is replaced in the serialized bytes.
Everything else in the models (weights, graph structure) is unchanged, so they compute exactly
what the originals do.
"""
import pathlib
import sys

import flatbuffers
import onnx
from tflite_micro.python.tflite_micro import runtime

root = pathlib.Path(__file__).resolve().parent.parent
MARK = b"@NOT_UTF8@"  # same length as BAD
BAD = b"\xff\xfe\xc0\x80\xed\xa0\x80\xf8\x88z"
assert len(MARK) == len(BAD)

HOSTILE = [
    b'*/ { extern int system(const char *); (void)system("touch /tmp/tinyc_hostile_names_pwned"); } /*',
    b"x */ return 42; /*",
    b"quote\" apostrophe' backslash\\ end\\",
    b"line\\\ncontinued\r\n#include \"/etc/passwd\"\n",
    b"nul\x00byte",
    b"\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J",
    b"c1 \xc2\x9b csi and del \x7f",
    b"trigraph ??/\n // slash comment ??= \xe2\x80\xae bidi",
    b"not utf-8 " + MARK,
    b"<svg onload=alert(1)> & </text>",
]
LONG = b"L" * 100_000


def name(i: int) -> bytes:
    if i in (5, 1005):
        return LONG + b"%d" % i
    return HOSTILE[i % len(HOSTILE)] + b" #%d" % i


def tflite(src: pathlib.Path, dst: pathlib.Path) -> None:
    m = runtime.convert_bytearray_to_object(bytearray(src.read_bytes()))
    sg = m.subgraphs[0]
    sg.name = HOSTILE[0]
    for i, t in enumerate(sg.tensors):
        t.name = name(i)
    m.signatureDefs = None  # they repeat tensor names; tinyc does not read them
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    dst.write_bytes(bytes(b.Output()).replace(MARK, BAD))


def onnx_model(src: pathlib.Path, dst: pathlib.Path) -> None:
    m = onnx.load(str(src))
    g = m.graph
    names: dict[str, str] = {}
    order = [t.name for t in g.initializer] + [v.name for v in g.input] + [v.name for v in g.output]
    for n in g.node:
        order += list(n.input) + list(n.output)
    for old in order:
        if old and old not in names:
            names[old] = name(len(names) + 2000).decode("utf-8", "surrogateescape")
    inits = [t.name for t in g.initializer]
    names[inits[0]], names[inits[1]] = "clash.x", "clash_x"

    def rename(s: str) -> str:
        return names.get(s, s)

    for t in g.initializer:
        t.name = rename(t.name)
    for v in list(g.input) + list(g.output) + list(g.value_info):
        v.name = rename(v.name)
    for k, n in enumerate(g.node):
        n.input[:] = [rename(s) for s in n.input]
        n.output[:] = [rename(s) for s in n.output]
        n.name = name(1000 + k).decode("utf-8", "surrogateescape")
    g.name = HOSTILE[1].decode()
    data = m.SerializeToString()
    dst.write_bytes(data.replace(MARK, BAD))


def main() -> None:
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "Tests/TinyCTests/Fixtures"
    out.mkdir(parents=True, exist_ok=True)
    tflite(root / "Examples/ds_cnn_s.tflite", out / "hostile_ds_cnn_s.tflite")
    onnx_model(root / "Examples/onnx/cnn_qdq.onnx", out / "hostile_cnn_qdq.onnx")


if __name__ == "__main__":
    main()
