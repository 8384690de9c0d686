#!/usr/bin/env python3
"""Checks that a generator checkpoint written by nada-edit loads in PyTorch exactly as the reference.

  NADA_KEEP_WRITTEN=/tmp/nada swift test --filter WriterTests/testGeneratorCheckpointRoundTrip
  /work/venv/bin/python tools/check_torch_checkpoint.py /tmp/nada/adapted.pt ../shared/reference/stylegan2/generator.pt

Asserts: torch.load(weights_only=True) accepts the file; g_ema is an OrderedDict with the reference's
keys in the same order, shapes, dtypes and bit-identical values (so the reference Generator's
load_state_dict(strict=True) accepts it, as it accepts the reference file); the extra metadata written
by WriterTests reads back as Python values.
"""
import collections, sys

import torch

written, reference = sys.argv[1], sys.argv[2]
ck = torch.load(written, weights_only=True, map_location="cpu")
ref = torch.load(reference, weights_only=True, map_location="cpu")["g_ema"]
g = ck["g_ema"]
assert isinstance(g, collections.OrderedDict), type(g)
assert list(g.keys()) == list(ref.keys()), "key order differs"
for k in ref:
    a, b = g[k], ref[k]
    assert a.dtype == b.dtype and a.shape == b.shape, (k, a.dtype, b.dtype, a.shape, b.shape)
    assert torch.equal(a, b), k
    assert a.is_contiguous()
# What WriterTests stores under the extra keys.
assert torch.equal(ck["latent_avg"], torch.tensor([0.5, -1, 2, 1e-8])), ck["latent_avg"]
n = ck["nada"]
assert n["target_class"] == "sketch \u270e" and n["iterations"] == 301 and n["lr"] == 0.002, n
assert n["seed"] == -(1 << 40) and n["layers"] == [0, 65535, 70000] and n["auto"] is True and n["note"] is None, n
assert n["shape"] == (1, 2, 3, 4) and n["blob"] == b"\x00\x01\xff", n
print(f"OK: {written}: torch.load(weights_only=True) gives g_ema with {len(g)} tensors identical to {reference}; metadata {sorted(n)}")
