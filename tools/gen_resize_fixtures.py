#!/usr/bin/env python3
"""Writes fixtures/engine-resize/: PyTorch reference outputs and input gradients for
F.interpolate(mode=bilinear|bicubic, align_corners=False, antialias=False|True) and
F.adaptive_avg_pool2d, used by Tests/EngineTests/{Resize,Pooling}Tests.swift.

Run from the package root with a venv that has torch and numpy:
    /work/venv/bin/python tools/gen_resize_fixtures.py
For every case: <case>_x.npy (input), <case>_g.npy (upstream gradient), and per variant
<case>_<variant>_out.npy (forward) and <case>_<variant>_gx.npy = d/dx sum(out * g).
All arrays float32, computed with one thread.
"""
import os
import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "engine-resize")

# name: (input shape NCHW, output (H, W)). Keep in sync with ResizeTests.swift.
RESIZE_CASES = {
    "down8to5": ((1, 2, 8, 8), (5, 5)),
    "up5x7to11x13": ((1, 2, 5, 7), (11, 13)),
    "mixed13x9to4x17": ((2, 1, 13, 9), (4, 17)),
    "down32x30to7x9": ((1, 1, 32, 30), (7, 9)),
    "onlyW6x6to6x4": ((1, 1, 6, 6), (6, 4)),
}
# name: (input shape, output (H, W)). Keep in sync with PoolingTests.swift.
POOL_CASES = {
    "pool7x10to3x4": ((1, 2, 7, 10), (3, 4)),
    "pool5x3to7x2": ((2, 1, 5, 3), (7, 2)),
}


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a, dtype=np.float32))


def reference(x, g, fn):
    xt = torch.from_numpy(x).requires_grad_(True)
    out = fn(xt)
    (out * torch.from_numpy(g)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261127)
    for name, (shape, size) in RESIZE_CASES.items():
        x = rng.standard_normal(shape).astype(np.float32)
        g = rng.standard_normal(shape[:2] + size).astype(np.float32)
        save(f"{name}_x", x)
        save(f"{name}_g", g)
        for mode in ("bilinear", "bicubic"):
            for aa in (False, True):
                out, gx = reference(x, g, lambda t: F.interpolate(
                    t, size=size, mode=mode, align_corners=False, antialias=aa))
                save(f"{name}_{mode}_aa{int(aa)}_out", out)
                save(f"{name}_{mode}_aa{int(aa)}_gx", gx)
    for name, (shape, size) in POOL_CASES.items():
        x = rng.standard_normal(shape).astype(np.float32)
        g = rng.standard_normal(shape[:2] + size).astype(np.float32)
        save(f"{name}_x", x)
        save(f"{name}_g", g)
        out, gx = reference(x, g, lambda t: F.adaptive_avg_pool2d(t, size))
        save(f"{name}_out", out)
        save(f"{name}_gx", gx)
    print("torch", torch.__version__, "->", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
