"""Writes the PyTorch reference values for the conv-family Engine tests (fixtures/engine/conv/).

Each case stores its inputs, an upstream gradient `gout`, PyTorch's output and the gradients of
sum(out * gout) with respect to every differentiable input, all as float32 .npy.
Run: /work/venv/bin/python tools/make_conv_fixtures.py
"""
import os
import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "engine", "conv")
rng = np.random.default_rng(20261127)


def tensor(*shape):
    return torch.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)


def save(case, **arrays):
    for name, a in arrays.items():
        a = a.detach().numpy() if isinstance(a, torch.Tensor) else a
        np.save(os.path.join(OUT, f"{case}_{name}.npy"), np.ascontiguousarray(a, dtype=np.float32))


def run(case, fn, inputs):
    out = fn(*inputs)
    gout = torch.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float32))
    grads = torch.autograd.grad((out * gout).sum(), inputs)
    names = ["x", "w", "b"][: len(inputs)]
    save(case, out=out, gout=gout, **dict(zip(names, inputs)), **{"g" + n: g for n, g in zip(names, grads)})


def upfirdn_reference(x, k, up, down, pad):
    """upfirdn2d by its definition: zero-insertion, pad/crop, conv with the flipped kernel, decimate."""
    px0, px1, py0, py1 = pad
    n, c, h, w = x.shape
    u = torch.zeros(n, c, h * up, w * up, dtype=x.dtype)
    u[:, :, ::up, ::up] = x
    u = F.pad(u, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    u = u[:, :, max(-py0, 0): u.shape[2] - max(-py1, 0), max(-px0, 0): u.shape[3] - max(-px1, 0)]
    kf = torch.flip(k, [0, 1]).reshape(1, 1, *k.shape).repeat(c, 1, 1, 1)
    y = F.conv2d(u, kf, groups=c)
    return y[:, :, ::down, ::down]


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_grad_enabled(True)
    # conv2d: grouped, strided, padded, odd sizes; plain 3x3; pointwise.
    run("conv2d_g2s2p1", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
        [tensor(2, 4, 7, 6), tensor(6, 2, 3, 3), tensor(6)])
    run("conv2d_3x3", lambda x, w, b: F.conv2d(x, w, b, padding=1), [tensor(1, 3, 5, 5), tensor(4, 3, 3, 3), tensor(4)])
    run("conv2d_1x1", lambda x, w, b: F.conv2d(x, w, b), [tensor(2, 5, 3, 4), tensor(3, 5, 1, 1), tensor(3)])
    # conv_transpose2d: StyleGAN2's stride-2 3x3, and a grouped padded 4x4 one.
    run("convT_s2", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2), [tensor(2, 4, 4, 5), tensor(4, 3, 3, 3), tensor(3)])
    run("convT_g2s2p1", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, groups=2),
        [tensor(1, 4, 3, 5), tensor(4, 2, 4, 4), tensor(4)])
    # upfirdn2d: StyleGAN2's Upsample (k = outer([1,3,3,1])/16, up 2, pad (2,1)), its Blur (pad (1,1)),
    # and a non-separable kernel with up, down and a crop.
    k1 = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = torch.outer(k1, k1)
    cases = [("upfirdn_up2", k / 16, 2, 1, (2, 1, 2, 1), (1, 2, 5, 6)),
             ("upfirdn_blur", k / 64 * 4, 1, 1, (1, 1, 1, 1), (1, 2, 7, 5)),
             ("upfirdn_mixed", torch.tensor(rng.standard_normal((3, 2)).astype(np.float32)), 2, 2, (1, -1, 0, 2), (2, 1, 5, 4)),
             ("upfirdn_down2", k / 64, 1, 2, (2, 2, 1, 2), (1, 1, 7, 8))]
    for name, kern, up, down, pad, shape in cases:
        x = tensor(*shape)
        run(name, lambda x: upfirdn_reference(x, kern, up, down, pad), [x])
        save(name, k=kern)
    # 3x3 stride-1 convs large enough for the Winograd path (channels >= 8, >= 16 output tiles),
    # with odd sizes so that edge tiles are partial; one grouped, one with padding 2.
    run("conv2d_winograd", lambda x, w, b: F.conv2d(x, w, b, padding=1),
        [tensor(2, 64, 18, 19), tensor(48, 64, 3, 3), tensor(48)])
    run("conv2d_winograd_g2", lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
        [tensor(1, 32, 17, 16), tensor(32, 16, 3, 3), tensor(32)])
    run("conv2d_winograd_p2", lambda x, w, b: F.conv2d(x, w, b, padding=2),
        [tensor(1, 8, 13, 14), tensor(16, 8, 3, 3), tensor(16)])


if __name__ == "__main__":
    main()
