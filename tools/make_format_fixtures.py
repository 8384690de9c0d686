#!/usr/bin/env python3
"""Makes the small fixtures of Tests/FormatsTests (fixtures/formats/) with PyTorch + numpy, and the
per-tensor digests of the reference-pack checkpoints (reference_tensors.json).

Run: /work/venv/bin/python tools/make_format_fixtures.py [path/to/shared/reference]
Digest = FNV-1a 64 over the tensor's C-contiguous little-endian bytes (the test computes the same).
"""
import argparse, collections, json, os, struct, sys, zipfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "formats")
REF = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "..", "shared", "reference")


def fnv1a64(b: bytes) -> str:
    h = 0xCBF29CE484222325
    for x in b:
        h ^= x
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


DT = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float64: "float64",
      torch.int64: "int64", torch.int32: "int32", torch.bool: "bool", torch.uint8: "uint8"}


def describe(sd):
    return [{"name": k, "dtype": DT[v.dtype], "shape": list(v.shape), "fnv1a64": fnv1a64(tensor_bytes(v))}
            for k, v in sd.items()]


def views_object():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    return {
        "base": base,
        "view_T": base.t(),                      # shares the storage, strides (1, 6)
        "view_slice": base[1:, ::2],             # offset 6, strides (6, 2)
        "view_row": base[2],                     # offset 12, contiguous
        "half": torch.arange(6, dtype=torch.float16).reshape(2, 3) / 4,
        "bf16": torch.tensor([1.5, -2.25, 3.0]).bfloat16(),
        "f64": torch.tensor([1 / 3, 2.5], dtype=torch.float64),
        "i64": torch.tensor([-3, 2 ** 40]),
        "scalar": torch.tensor(7.5),
        "flags": torch.tensor([True, False, True]),
        "param": torch.nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]])),
        "nested": {
            "list": [1, 2.5, "x", None, True],
            "tuple": (1, (2, 3)),
            "od": collections.OrderedDict([("b", torch.tensor([1.0])), ("a", torch.tensor([2.0]))]),
            "intkeys": {0: "zero", 1: "one"},
            "bytes": b"\x00\xffab",
            "big": 2 ** 70,
            "neg": -5,
            "neg_big": -(2 ** 40),
            "unicode": "h\u00e9llo \u2713",
        },
        "args": argparse.Namespace(lr=0.002, size=256, name="ffhq"),
    }


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.norm = torch.nn.LayerNorm(2)
        self.register_buffer("steps", torch.tensor(5))

    def forward(self, x):
        return self.norm(self.fc(x) * 1.702)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    obj = views_object()
    torch.save(obj, os.path.join(OUT, "views.pt"))
    torch.save(obj, os.path.join(OUT, "views_legacy.pt"), _use_new_zipfile_serialization=False)

    tiny = Tiny()
    tiny.fc.half()
    tiny.fc.float()
    with torch.no_grad():
        tiny.fc.weight.copy_(torch.tensor([[0.5, -1.0, 2.0], [0.25, 3.0, -0.125]]))
    traced = torch.jit.trace(tiny, torch.zeros(1, 3))
    torch.jit.save(traced, os.path.join(OUT, "tiny_jit.pt"))
    torch.save(tiny.state_dict(), os.path.join(OUT, "tiny_state.pt"))

    # .npy in several versions, dtypes and orders; values are arange-based so the test can recompute them.
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.save(os.path.join(OUT, "c_f32.npy"), a)
    np.save(os.path.join(OUT, "fortran_f64.npy"), np.asfortranarray(a.astype(np.float64)))
    np.save(os.path.join(OUT, "f16.npy"), (a / 8).astype(np.float16))
    np.save(os.path.join(OUT, "i64.npy"), np.arange(-3, 3, dtype=np.int64))
    np.save(os.path.join(OUT, "scalar.npy"), np.float32(2.5))
    np.save(os.path.join(OUT, "big_endian.npy"), a.astype(">f4"))
    for v in (2, 3):
        with open(os.path.join(OUT, f"v{v}.npy"), "wb") as f:
            np.lib.format.write_array(f, a, version=(v, 0))
    np.savez(os.path.join(OUT, "stored.npz"), w=a, codes=np.arange(6, dtype=np.int64))
    np.savez_compressed(os.path.join(OUT, "deflated.npz"), w=a, codes=np.arange(6, dtype=np.int64))

    # NumPy values inside a checkpoint (training scripts store losses and small arrays this way).
    torch.save({"best_val_loss": np.float64(0.125), "step": np.int64(-7), "flag": np.bool_(True),
                "arr": np.arange(6, dtype=np.float32).reshape(2, 3), "farr": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                "big": np.arange(3, dtype=">i8")},
               os.path.join(OUT, "numpy_values.pt"))

    # A hand-made safetensors file: a misaligned F32 tensor (after 3 bytes of U8), BF16, a 0-dim I64,
    # an empty tensor and metadata; header padded with spaces like the reference writer.
    parts = [("u8", "U8", [3], np.array([1, 2, 250], dtype=np.uint8).tobytes()),
             ("w", "F32", [2, 3], (np.arange(6, dtype=np.float32) - 2.5).tobytes()),
             ("bf", "BF16", [2], (np.array([1.5, -3.0], dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()),
             ("step", "I64", [], np.array(42, dtype=np.int64).tobytes()),
             ("empty", "F32", [0, 4], b"")]
    header, off, buf = {"__metadata__": {"format": "pt", "note": "fixture"}}, 0, b""
    for name, dt, shape, raw in parts:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        buf += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(OUT, "small.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + buf)

    # Digests of the reference-pack checkpoints, made with torch itself (what nada-edit must reproduce).
    ref = {}
    ck = torch.load(os.path.join(REF, "stylegan2", "generator.pt"), weights_only=True)
    ref["stylegan2/generator.pt:g_ema"] = describe(ck["g_ema"])
    ck = torch.load(os.path.join(REF, "stylegan2", "generator_legacy.pt"), weights_only=True)
    ref["stylegan2/generator_legacy.pt"] = {k: (describe(v) if isinstance(v, dict) else None) for k, v in ck.items()}
    e4e = torch.load(os.path.join(REF, "encoders", "e4e.pt"), weights_only=False)
    ref["encoders/e4e.pt:state_dict"] = describe(e4e["state_dict"])
    ref["encoders/e4e.pt:latent_avg"] = describe({"latent_avg": e4e["latent_avg"]})
    ref["encoders/e4e.pt:opts"] = {k: v for k, v in e4e["opts"].items()}
    jit = torch.jit.load(os.path.join(REF, "clip", "model_jit.pt"), map_location="cpu")
    ref["clip/model_jit.pt"] = describe(jit.state_dict())
    ref["clip/model_state.pt"] = describe(torch.load(os.path.join(REF, "clip", "model_state.pt"), weights_only=True))
    with open(os.path.join(OUT, "reference_tensors.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print("fixtures written to", OUT)


if __name__ == "__main__":
    main()
