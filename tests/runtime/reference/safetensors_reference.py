#!/usr/bin/python3
"""PyTorch's side of lamina's safetensors tests (tests/runtime/safetensors.cpp).

Writes, from PyTorch, the fixtures under tests/runtime/fixtures/:
  torch_chapter_net.safetensors   the state_dict of the chapter's
                                  nn.Sequential(MyLinear(64, 8), MyLinear(8, 1)), F32
  torch_chapter_io.safetensors    "input" (6 x 64) and that net's "output" (6 x 1), F32
  torch_conversions.safetensors   special values as F16, BF16 and F64, each with torch's
                                  conversion to F32 beside it ("f16" and "f16_as_f32", ...)
and, with --check, reads lamina_chapter_net.safetensors (written by lamina from the first
file, see below) back into the same PyTorch net, load_state_dict(strict=True), and checks that
it gives the outputs of torch_chapter_io.safetensors and of the file's own reference batch.

Debian has no python3-safetensors, so the format (8-byte little-endian header length, JSON
header, raw little-endian data) is written and read here directly.
The tests themselves need no Python. To remake every fixture (Debian's python3-torch, 1.13):
  /usr/bin/python3 tests/runtime/reference/safetensors_reference.py
  build/tests/runtime/runtime_safetensors "[.write_fixtures]"   # a g++ build: lamina's files
  /usr/bin/python3 tests/runtime/reference/safetensors_reference.py --check
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

DTYPES = {  # safetensors name -> (torch dtype, numpy dtype of the raw little-endian bits)
    "F16": (torch.float16, "<i2"),
    "BF16": (torch.bfloat16, "<i2"),
    "F32": (torch.float32, "<f4"),
    "F64": (torch.float64, "<f8"),
}
NAMES = {t: n for n, (t, _) in DTYPES.items()}


class MyLinear(nn.Module):
    """The chapter's layer: weight (in_units, units), relu(X @ W + b)."""

    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units,))

    def forward(self, X):
        linear = torch.matmul(X, self.weight.data) + self.bias.data
        return F.relu(linear)


def raw(t):
    """A tensor's bytes, little-endian, row-major."""
    t = t.detach().contiguous().cpu()
    bits = t.view(torch.int16) if t.dtype in (torch.float16, torch.bfloat16) else t
    return bits.numpy().astype(DTYPES[NAMES[t.dtype]][1]).tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (F16, BF16, F32 or F64), stored in that order."""
    header, blobs, at = {}, [], 0
    for name, t in tensors.items():
        b = raw(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)  # data 8-byte aligned, as safetensors pads
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    print(f"wrote {path} ({8 + len(text) + at} bytes)")


def read_safetensors(path):
    """-> (dict name -> torch tensor, metadata dict)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        dtype, np_type = DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        bits = torch.from_numpy(np.frombuffer(body[b:e], dtype=np_type).copy())
        t = bits.view(dtype) if dtype in (torch.float16, torch.bfloat16) else bits
        out[name] = t.reshape(info["shape"])
    return out, meta


def chapter_net():
    return nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))


def make():
    torch.manual_seed(7)
    net = chapter_net()
    X = torch.rand(6, 64)
    with torch.no_grad():
        Y = net(X)
    # The check is only as strong as the outputs that are not cut to zero by the ReLUs.
    assert (Y > 0).sum() >= 4, Y
    write_safetensors(FIXTURES / "torch_chapter_net.safetensors", net.state_dict(), {"format": "pt"})
    write_safetensors(FIXTURES / "torch_chapter_io.safetensors", {"input": X, "output": Y})

    inf, nan = float("inf"), float("nan")
    special = torch.tensor([0.0, -0.0, 1.0, -2.5, 0.1, 1 / 3, 65504.0, 70000.0, 6e-8, 1e-5, 3e38, -1e-40, inf, -inf,
                            nan, 1e300, 1e-300], dtype=torch.float64)
    conv = {}
    for name, dtype in (("f16", torch.float16), ("bf16", torch.bfloat16), ("f64", torch.float64)):
        t = special.to(dtype)
        conv[name] = t
        conv[name + "_as_f32"] = t.to(torch.float32)
    write_safetensors(FIXTURES / "torch_conversions.safetensors", conv)


def check():
    torch.manual_seed(0)
    net = chapter_net()
    state, meta = read_safetensors(FIXTURES / "lamina_chapter_net.safetensors")
    print("lamina metadata:", {k: v[:60] + ("..." if len(v) > 60 else "") for k, v in meta.items()})
    net.load_state_dict(state, strict=True)
    io, _ = read_safetensors(FIXTURES / "torch_chapter_io.safetensors")
    with torch.no_grad():
        err = (net(io["input"]) - io["output"]).abs().max().item()
    print(f"PyTorch, loading lamina's file: outputs differ from torch_chapter_io by at most {err:g}")
    assert err <= 1e-5, err
    ref = json.loads(meta["lamina.self_test"])
    X = torch.tensor(ref["input"]["values"], dtype=torch.float32).reshape(ref["input"]["shape"])
    want = torch.tensor(ref["output"]["values"], dtype=torch.float32).reshape(ref["output"]["shape"])
    with torch.no_grad():
        err = (net(X) - want).abs().max().item()
    print(f"PyTorch, on lamina's reference batch: outputs differ from lamina's by at most {err:g}")
    assert err <= 1e-5, err
    print("ok")


if __name__ == "__main__":
    check() if sys.argv[1:] == ["--check"] else make()
