"""PyTorch baseline for `nada-bench kernels`: the same kernels, sizes, FLOP counts and line layout.

Usage: /work/venv/bin/python tools/bench_kernels.py [--threads N] [--repeats N]
upfirdn2d is timed the way rosinality's CPU path (`upfirdn2d_native`) computes it: zero-insertion,
padding, then a single-channel conv2d with the flipped kernel over every (sample, channel) plane.
"""
import argparse
import time

import torch
import torch.nn.functional as F


def time_best(repeats, body):
    body()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - t0)
    return best


def report(name, seconds, flops, sgemm_rate):
    rate = flops / seconds * 1e-9
    print(f"{name:<44} {seconds * 1e3:10.2f} ms {rate:9.1f} GFLOP/s {rate / sgemm_rate:6.2f} x sgemm")


def upsample_native(x, k, up, pad):
    """Zero-insert by `up`, pad (x0, x1, y0, y1) (non-negative here), correlate with the flipped kernel."""
    n, c, h, w = x.shape
    z = x.reshape(n * c, 1, h, 1, w, 1)
    z = F.pad(z, [0, up - 1, 0, 0, 0, up - 1]).reshape(n * c, 1, h * up, w * up)
    z = F.pad(z, [pad[0], pad[1], pad[2], pad[3]])
    y = F.conv2d(z, torch.flip(k, [0, 1]).reshape(1, 1, *k.shape))
    return y.reshape(n, c, y.shape[2], y.shape[3])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"bench_kernels.py (PyTorch {torch.__version__}): {torch.get_num_threads()} thread(s)")
    torch.manual_seed(1)
    r = args.repeats

    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    gemm = time_best(r, lambda: torch.mm(a, b))
    gemm_flops = 2.0 * n ** 3
    sgemm_rate = gemm_flops / gemm * 1e-9
    report("sgemm 2048x2048x2048", gemm, gemm_flops, sgemm_rate)

    x = torch.randn(2, 512, 64, 64)
    w = torch.randn(512, 512, 3, 3)
    conv_flops = 2.0 * 2 * 512 * 64 * 64 * 512 * 9
    with torch.no_grad():
        fwd = time_best(r, lambda: F.conv2d(x, w, padding=1))
    report("conv2d 3x3 512->512 64x64 b2 forward", fwd, conv_flops, sgemm_rate)

    xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
    seed = torch.randn(2, 512, 64, 64)

    def conv_backward():
        y = F.conv2d(xg, wg, padding=1)
        torch.autograd.grad(y, [xg, wg], seed)

    bwd = time_best(r, conv_backward) - fwd
    report("conv2d 3x3 512->512 64x64 b2 backward", bwd, 2 * conv_flops, sgemm_rate)

    xt = torch.randn(2, 512, 32, 32)
    wt = torch.randn(512, 512, 3, 3)
    convt_flops = 2.0 * 2 * 512 * 32 * 32 * 512 * 9
    with torch.no_grad():
        tf = time_best(r, lambda: F.conv_transpose2d(xt, wt, stride=2))
    report("conv_transpose2d 3x3 s2 512->512 32x32 b2 fwd", tf, convt_flops, sgemm_rate)
    xtg, wtg = xt.clone().requires_grad_(), wt.clone().requires_grad_()
    tseed = torch.randn(2, 512, 65, 65)

    def convt_backward():
        torch.autograd.grad(F.conv_transpose2d(xtg, wtg, stride=2), [xtg, wtg], tseed)

    tb = time_best(r, convt_backward) - tf
    report("conv_transpose2d 3x3 s2 512->512 32x32 b2 bwd", tb, 2 * convt_flops, sgemm_rate)

    k1 = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = torch.outer(k1, k1) / 16
    u = torch.randn(1, 128, 256, 256)
    up_flops = 2.0 * 128 * 512 * 512 * 16 / 4
    with torch.no_grad():
        up = time_best(r, lambda: upsample_native(u, k, 2, (2, 1, 2, 1)))
    report("upfirdn2d up2 [1,3,3,1] 256x256x128 forward", up, up_flops, sgemm_rate)
    ug = u.clone().requires_grad_()
    useed = torch.randn(1, 128, 512, 512)

    def up_backward():
        torch.autograd.grad(upsample_native(ug, k, 2, (2, 1, 2, 1)), [ug], useed)

    upb = time_best(r, up_backward) - up
    report("upfirdn2d up2 [1,3,3,1] 256x256x128 backward", upb, up_flops, sgemm_rate)


if __name__ == "__main__":
    main()
