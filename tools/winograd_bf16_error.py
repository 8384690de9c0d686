"""Why the fused Winograd kernels stay fp32 under `--precision bf16` (issue 17).

Rounds the transformed inputs V = Bt d B and filters U = G g Gt of Winograd F(4x4, 3x3) to bfloat16 (what a
vdpbf16ps point-wise product would see) and compares the output tile with the exact convolution, next to a
direct 3x3 convolution whose inputs are rounded the same way. Random N(0, 1) data, float64 arithmetic.

    python3 tools/winograd_bf16_error.py [--channels 16] [--trials 200]

Measured (numpy 2.4, defaults: 16 channels, worst of 200 tiles): direct conv with bf16 inputs 3.8e-3 of the
largest output; F(4x4, 3x3) with bf16 V and U 1.2e-1 (30x more: the transforms' coefficients, up to 8 in At and
5 in Bt, amplify the rounding); bf16 U only 7.8e-2, V only 8.7e-2; three bf16 products (hi*hi + lo*hi + hi*lo)
2.0e-4, at three times the products (slower than fp32 FMAs at bf16's 2x rate).
A bf16 copy of the fused kernel (tried in session 8) gave 7-10 % errors on FusedWinogradTests' cases and
dropped the bf16 training-parity cosine to 0.9876 (0.99 asked), so it was not kept.
"""
import argparse

import numpy as np

BT = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
               [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], float)
G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], float)
AT = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], float)


def bf16(x):
    """Round to bfloat16, nearest even (as vcvtne2ps2bf16), returned as float64."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32).astype(float)


def winograd(v, u):
    m = np.einsum("cij,ocij->oij", v, u)
    return np.einsum("ij,ojk,lk->oil", AT, m, AT)


def direct(d, g):
    out = np.zeros((g.shape[0], 4, 4))
    for y in range(4):
        for x in range(4):
            out[:, y, x] = np.einsum("cij,ocij->o", d[:, y:y + 3, x:x + 3], g)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    worst = {}
    for _ in range(args.trials):
        c = args.channels
        d, g = rng.standard_normal((c, 6, 6)), rng.standard_normal((c, c, 3, 3))
        v = np.einsum("ij,cjk,lk->cil", BT, d, BT)
        u = np.einsum("ij,ocjk,lk->ocil", G, g, G)
        exact = direct(d, g)
        scale = np.abs(exact).max()
        vh, uh = bf16(v), bf16(u)
        cases = {
            "direct conv, bf16 inputs": direct(bf16(d), bf16(g)),
            "Winograd, bf16 V and U": winograd(vh, uh),
            "Winograd, bf16 U only": winograd(v, uh),
            "Winograd, bf16 V only": winograd(vh, u),
            "Winograd, 3 bf16 products": winograd(vh, uh) + winograd(bf16(v - vh), uh) + winograd(vh, bf16(u - uh)),
        }
        for name, out in cases.items():
            worst[name] = max(worst.get(name, 0.0), np.abs(out - exact).max() / scale)
    for name, err in worst.items():
        print(f"{name:28s} max error {err:.2e} of the largest output")


if __name__ == "__main__":
    main()
