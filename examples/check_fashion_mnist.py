#!/usr/bin/env python3
"""Runs the main job briefly and checks what it promises: the metrics CSV, the plot, an
accuracy that shows learning, bit-identical metrics for the same seed, a run resumed from a
checkpoint that continues exactly, and clear errors for a non-finite loss, a missing data
directory and a checkpoint that does not fit, and flags out of range."""
import csv
import json
import os
import subprocess
import sys
import tempfile

exe = sys.argv[1]
failures = []


def run(*args):
    return subprocess.run([exe, "--quiet", *args], capture_output=True, text=True)


def with_metadata(src, dst, **changes):
    """Copies the safetensors file src to dst with some "__metadata__" values replaced."""
    data = open(src, "rb").read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["__metadata__"].update(changes)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    open(dst, "wb").write(len(text).to_bytes(8, "little") + text + data[8 + n:])


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory() as tmp:
    metrics = [os.path.join(tmp, f"m{i}.csv") for i in range(2)]
    plot = os.path.join(tmp, "curves.png")
    r = run("--epochs", "2", "--seed", "7", "--metrics", metrics[0], "--plot", plot)
    print(r.stdout)
    check(r.returncode == 0, f"two epochs run (exit {r.returncode}: {r.stderr.strip()})")
    rows = list(csv.DictReader(open(metrics[0]))) if os.path.exists(metrics[0]) else []
    header = open(metrics[0]).readline().strip() if os.path.exists(metrics[0]) else ""
    check(header == "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds", "the CSV header: " + header)
    check(len(rows) == 2, f"one CSV row per epoch ({len(rows)})")
    if rows:
        acc = float(rows[-1]["test_accuracy"])
        check(acc > 0.85, f"test accuracy after two epochs {acc:.4f} > 0.85")
        check(float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"]), "the training loss falls")
    check(os.path.exists(plot) and open(plot, "rb").read(8) == b"\x89PNG\r\n\x1a\n", "the plot is a PNG")

    r = run("--epochs", "2", "--seed", "7", "--metrics", metrics[1])
    strip = lambda path: [line.rsplit(",", 1)[0] for line in open(path)] if os.path.exists(path) else None
    check(r.returncode == 0 and strip(metrics[0]) == strip(metrics[1]),
          "the same seed gives bit-identical metrics (all but the seconds)")

    # Stopped after epoch 1 and resumed: the same two epochs as the straight run.
    ckpt = os.path.join(tmp, "run.safetensors")
    resumed = os.path.join(tmp, "resumed.csv")
    r = run("--epochs", "1", "--seed", "7", "--save", ckpt)
    check(r.returncode == 0 and os.path.exists(ckpt), f"--save writes a checkpoint ({r.stderr.strip()})")
    r = run("--epochs", "2", "--resume", ckpt, "--metrics", resumed, "--save", ckpt)
    check(r.returncode == 0 and "resuming from" in r.stdout and "after epoch 1" in r.stdout,
          f"--resume continues after epoch 1 ({r.stderr.strip()})")
    check(strip(resumed) == strip(metrics[0]),
          "a resumed run continues exactly: its metrics equal the straight run's (all but the seconds)")
    r = run("--epochs", "3", "--resume", ckpt, "--lr", "0.5")
    check(r.returncode != 0 and "--lr" in r.stderr and "0.05" in r.stderr,
          "resuming with another --lr is refused, naming both: " + r.stderr.strip())
    # Settings and metrics in the checkpoint are checked as the flags are.
    bad = os.path.join(tmp, "bad.safetensors")
    for what, changes, needle in [
            ("a metrics line with a field that is not a number", {"metrics": "1,0.5,x,0.4,0.8,3.1\n"}, "metrics"),
            ("a metrics line with a seventh field", {"metrics": "1,0.5,0.8,0.4,0.8,3.1,\n"}, "metrics"),
            ("no metrics line", {"metrics": ""}, "metrics"),
            ("a batch size of 0", {"run.batch": "0"}, "--batch"),
            ("an unknown optimizer", {"run.optimizer": "rmsprop"}, "rmsprop")]:
        with_metadata(ckpt, bad, **changes)
        r = run("--epochs", "3", "--resume", bad)
        check(r.returncode != 0 and "malformed checkpoint metadata" in r.stderr and needle in r.stderr,
              f"a checkpoint with {what} is refused: " + r.stderr.strip())
    with open(ckpt, "r+b") as f:  # a checkpoint cut short
        f.truncate(os.path.getsize(ckpt) // 2)
    r = run("--epochs", "3", "--resume", ckpt)
    check(r.returncode != 0 and "run.safetensors" in r.stderr, "a truncated checkpoint is an error naming it: " + r.stderr.strip())

    r = run("--epochs", "1", "--lr", "1e38")  # weights overflow within a few batches
    check(r.returncode != 0 and "epoch 1, batch" in r.stderr and "loss became" in r.stderr,
          "a non-finite loss stops training naming the epoch and batch: " + r.stderr.strip())

    r = run("--optimizer", "rmsprop")
    check(r.returncode == 2 and "--optimizer" in r.stderr and "rmsprop" in r.stderr and "adamw" in r.stderr,
          "a bad flag value is refused, naming the flag, the value and the choices: " + r.stderr.strip())
    r = run("--epochs", "0")
    check(r.returncode == 2 and "--epochs" in r.stderr and "1 to 1000" in r.stderr,
          "an out-of-range number is refused with the range: " + r.stderr.strip())

    r = run("--data", os.path.join(tmp, "nowhere"))
    check(r.returncode != 0 and "nowhere" in r.stderr, "a missing data directory is named: " + r.stderr.strip())

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
