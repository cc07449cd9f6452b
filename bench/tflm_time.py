#!/usr/bin/env python3
"""TFLite Micro side of the tinyc bench (bench/run.sh).

For each `MODEL.tflite=INPUT.npy` pair, with TFLite Micro's Python interpreter (pip
`tflite-micro`, reference kernels):

- time per inference: median over N runs of set_input + invoke + get_output on one
  interpreter (after one warm-up run);
- smallest working arena: the smallest `arena_size` (bytes, bisection) for which
  `runtime.Interpreter.from_bytes(model, arena_size=N)` succeeds (TFLM allocates every tensor
  there) and `invoke()` succeeds on the input;
- the arena split of TFLM's RecordingMicroAllocator (head = non-persistent: the activation
  plan and kernel scratch buffers; tail = persistent: tensor structs, node structs,
  per-channel multipliers and shifts computed at Prepare time);
- TFLM's output for the input (written as .npy, so that the Swift side can check tinyc's
  interpreter and the Cortex-M4 build against it).

Writes one JSON file. A model TFLM cannot run gets an "error" entry; nothing here makes the
whole bench fail.
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time


def quiet_stderr():
  """Redirects file descriptor 2 (TFLM's C++ error log) to a temporary file; returns a restore
  function that gives back what was written."""
  sys.stderr.flush()
  saved = os.dup(2)
  tmp = tempfile.TemporaryFile(mode="w+b")
  os.dup2(tmp.fileno(), 2)

  def restore():
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)
    tmp.seek(0)
    text = tmp.read().decode("utf-8", "replace")
    tmp.close()
    return text

  return restore


def works(runtime, data, x, size):
  """True when TFLM allocates the model in `size` bytes and runs it on `x`."""
  try:
    interp = runtime.Interpreter.from_bytes(data, arena_size=size)
    interp.set_input(x, 0)
    interp.invoke()
    return True
  except Exception:  # TFLM raises RuntimeError on allocation or invoke failure
    return False


def smallest_arena(runtime, data, x):
  """Bisection for the smallest working arena size. Assumes that a size that works keeps
  working when made larger (TFLM's planner is deterministic; more room never fails)."""
  restore = quiet_stderr()
  try:
    hi = max(4096, 2 * len(data))
    while not works(runtime, data, x, hi):
      hi *= 2
      if hi > 1 << 30:
        return None
    lo = 0  # an empty arena never works
    while hi - lo > 1:
      mid = (lo + hi) // 2
      if works(runtime, data, x, mid):
        hi = mid
      else:
        lo = mid
    return hi
  finally:
    restore()


def allocations(runtime, data, x, size):
  """RecordingMicroAllocator's total, head and tail bytes for an arena of `size` bytes."""
  restore = quiet_stderr()
  text = ""
  try:
    interp = runtime.Interpreter.from_bytes(data, arena_size=size)
    interp.set_input(x, 0)
    interp.invoke()
    interp.print_allocations()
  finally:
    text = restore()
  out = {}
  for key in ("total", "head", "tail"):
    m = re.search(r"Arena allocation %s (\d+) bytes" % key, text)
    if m:
      out[key] = int(m.group(1))
  return out


def time_model(runtime, np, data, x, runs, budget_s):
  interp = runtime.Interpreter.from_bytes(data, arena_size=max(1 << 20, 10 * len(data)))
  interp.set_input(x, 0)
  interp.invoke()  # warm-up
  y = interp.get_output(0)
  times = []
  start = time.perf_counter()
  while len(times) < runs and (len(times) < 3 or time.perf_counter() - start < budget_s):
    t0 = time.perf_counter_ns()
    interp.set_input(x, 0)
    interp.invoke()
    y = interp.get_output(0)
    times.append((time.perf_counter_ns() - t0) / 1e6)
  return statistics.median(times), len(times), np.array(y)


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("pairs", nargs="*", help="MODEL.tflite=INPUT.npy")
  ap.add_argument("--out", required=True, help="JSON file to write")
  ap.add_argument("--outputs", required=True, help="folder for TFLM's outputs (<stem>.tflm.npy)")
  ap.add_argument("--runs", type=int, default=50)
  ap.add_argument("--budget", type=float, default=5.0, help="seconds of timing per model at most")
  args = ap.parse_args()

  result = {"models": {}}
  try:
    import numpy as np
    from tflite_micro.python.tflite_micro import runtime
  except Exception as e:  # missing package: every model gets the reason
    result["error"] = "python tflite-micro not importable (%s: %s); pip install tflite-micro" % (type(e).__name__, e)
    with open(args.out, "w") as f:
      json.dump(result, f, indent=1)
    return 0
  try:
    from importlib.metadata import version

    result["version"] = version("tflite-micro")
  except Exception:
    result["version"] = "unknown"

  os.makedirs(args.outputs, exist_ok=True)
  for pair in args.pairs:
    model, _, inp = pair.partition("=")
    stem = os.path.splitext(os.path.basename(model))[0]
    entry = {}
    try:
      with open(model, "rb") as f:
        data = f.read()
      x = np.load(inp)
      entry["input"] = inp
      ms, n, y = time_model(runtime, np, data, x, args.runs, args.budget)
      entry["ms"] = ms
      entry["runs"] = n
      out_path = os.path.join(args.outputs, stem + ".tflm.npy")
      np.save(out_path, y)
      entry["output"] = out_path
      arena = smallest_arena(runtime, data, x)
      if arena is None:
        entry["arena_error"] = "no working arena up to 1 GiB"
      else:
        entry["arena"] = arena
        entry.update({"alloc_" + k: v for k, v in allocations(runtime, data, x, arena).items()})
    except Exception as e:
      entry["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    result["models"][stem] = entry
    print("tflm: %s %s" % (stem, json.dumps(entry)), file=sys.stderr)
  with open(args.out, "w") as f:
    json.dump(result, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
