#!/usr/bin/env python3
"""PyTorch CPU baseline for `nada-bench stylegan2`.

A StyleGAN2 generator with rosinality's architecture and math (config-f widths, style_dim 512, n_mlp 8,
grouped modulated convs, stride-2 transposed convs + [1,3,3,1] blur, the CPU `upfirdn2d_native`-style
resampling and the CPU fused_leaky_relu path), written here for timing only. Random weights, stored noise,
W+ input. Prints the same columns as the Swift benchmark.

  /work/venv/bin/python tools/bench_stylegan2.py --sizes 256,1024 --batches 1,2 --threads 2
"""
import argparse
import math
import resource
import time

import torch
import torch.nn.functional as F

CONFIG_F = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64, 1024: 32}


def fir_kernel(gain):
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k2 = torch.outer(k, k)
    return k2 / k2.sum() * gain


def upfirdn2d(x, kernel, up, pad0, pad1):
    """Zero-insert by `up`, zero-pad, true convolution with `kernel` per channel (down = 1)."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n * c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n * c, 1, h * up, w * up)
    else:
        x = x.reshape(n * c, 1, h, w)
    x = F.pad(x, [pad0, pad1, pad0, pad1])
    kh, kw = kernel.shape
    x = F.conv2d(x, torch.flip(kernel, [0, 1]).view(1, 1, kh, kw))
    return x.reshape(n, c, x.shape[2], x.shape[3])


def fused_lrelu(x, bias):
    shape = [1, -1] + [1] * (x.ndim - 2)
    return F.leaky_relu(x + bias.view(shape), 0.2) * math.sqrt(2)


class Generator(torch.nn.Module):
    def __init__(self, size, style_dim=512, n_mlp=8):
        super().__init__()
        self.size, self.style_dim = size, style_dim
        self.log_size = int(math.log2(size))
        self.n_latent = 2 * self.log_size - 2
        P = torch.nn.Parameter
        self.mlp = torch.nn.ParameterList()
        for _ in range(n_mlp):
            self.mlp.append(P(torch.randn(style_dim, style_dim) / 0.01))
            self.mlp.append(P(torch.zeros(style_dim)))
        ch = [CONFIG_F[2 ** i] for i in range(2, self.log_size + 1)]
        self.const = P(torch.randn(1, ch[0], 4, 4))
        self.convs = torch.nn.ModuleList()
        self.rgbs = torch.nn.ModuleList()

        def modconv(cin, cout, k):
            m = torch.nn.Module()
            m.weight = P(torch.randn(1, cout, cin, k, k))
            m.mod_w = P(torch.randn(cin, style_dim))
            m.mod_b = P(torch.ones(cin))
            return m

        def styled(cin, cout):
            m = modconv(cin, cout, 3)
            m.noise_w = P(torch.zeros(1))
            m.act_b = P(torch.zeros(cout))
            return m

        def to_rgb(cin):
            m = modconv(cin, 3, 1)
            m.bias = P(torch.zeros(1, 3, 1, 1))
            return m

        self.convs.append(styled(ch[0], ch[0]))
        self.rgbs.append(to_rgb(ch[0]))
        for k in range(self.log_size - 2):
            self.convs.append(styled(ch[k], ch[k + 1]))
            self.convs.append(styled(ch[k + 1], ch[k + 1]))
            self.rgbs.append(to_rgb(ch[k + 1]))
        self.noises = [torch.randn(1, 1, 2 ** ((i + 5) // 2), 2 ** ((i + 5) // 2)) for i in range(2 * self.log_size - 3)]
        self.register_buffer("blur_k", fir_kernel(4))
        self.register_buffer("up_k", fir_kernel(4))

    def modulated(self, m, x, w, demodulate, upsample):
        b, cin, h, wd = x.shape
        _, cout, _, k, _ = m.weight.shape
        s = F.linear(w, m.mod_w / math.sqrt(self.style_dim), m.mod_b)
        weight = m.weight / math.sqrt(cin * k * k) * s.view(b, 1, cin, 1, 1)
        if demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(b, cout, 1, 1, 1)
        x = x.reshape(1, b * cin, h, wd)
        if upsample:
            weight = weight.transpose(1, 2).reshape(b * cin, cout, k, k)
            out = F.conv_transpose2d(x, weight, padding=0, stride=2, groups=b)
            out = out.view(b, cout, out.shape[2], out.shape[3])
            return upfirdn2d(out, self.blur_k, 1, 1, 1)
        out = F.conv2d(x, weight.reshape(b * cout, cin, k, k), padding=k // 2, groups=b)
        return out.view(b, cout, h, wd)

    def styled(self, m, x, w, noise, upsample):
        out = self.modulated(m, x, w, True, upsample)
        out = out + m.noise_w * noise
        return fused_lrelu(out, m.act_b)

    def rgb(self, m, x, w, skip):
        out = self.modulated(m, x, w, False, False) + m.bias
        if skip is not None:
            out = out + upfirdn2d(skip, self.up_k, 2, 2, 1)
        return out

    def mapping(self, z):
        x = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)
        for i in range(0, len(self.mlp), 2):
            x = fused_lrelu(F.linear(x, self.mlp[i] * (0.01 / math.sqrt(self.style_dim))), self.mlp[i + 1] * 0.01)
        return x

    def forward(self, wplus):
        b = wplus.shape[0]
        out = self.const.repeat(b, 1, 1, 1)
        out = self.styled(self.convs[0], out, wplus[:, 0], self.noises[0], False)
        skip = self.rgb(self.rgbs[0], out, wplus[:, 1], None)
        i = 1
        for k in range(self.log_size - 2):
            out = self.styled(self.convs[2 * k + 1], out, wplus[:, i], self.noises[2 * k + 1], True)
            out = self.styled(self.convs[2 * k + 2], out, wplus[:, i + 1], self.noises[2 * k + 2], False)
            skip = self.rgb(self.rgbs[k + 1], out, wplus[:, i + 2], skip)
            i += 2
        return skip


def forward_flops(size, style_dim=512, n_mlp=8):
    """Same count as the Swift benchmark (2 x multiply-adds of one sample's forward)."""
    log = int(math.log2(size))
    ch = [CONFIG_F[2 ** i] for i in range(2, log + 1)]
    d = style_dim
    macs = n_mlp * d * d + ch[0] * ch[0] * 9 * 16 + ch[0] * 3 * 16 + 2 * d * ch[0]
    for k in range(log - 2):
        cin, cout, r_in = ch[k], ch[k + 1], 4 << k
        r_out = 2 * r_in
        macs += cin * cout * 9 * r_in * r_in + cout * cout * 9 * r_out * r_out + cout * 3 * r_out * r_out + d * (cin + 2 * cout)
    return 2.0 * macs


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,1024")
    ap.add_argument("--batches", default="1,2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--forward-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"pytorch {torch.__version__}: config-f random weights, W+ input, stored noise, {args.threads} threads, best of {args.repeats}")
    print("size batch   fwd_s  fwd_GFLOP/s   fb_s  fb_GFLOP/s  process_peakMB")
    for size in [int(s) for s in args.sizes.split(",")]:
        g = Generator(size)
        flops = forward_flops(size)
        for batch in [int(b) for b in args.batches.split(",")]:
            wplus = torch.randn(batch, g.n_latent, 512)
            r = torch.randn(batch, 3, size, size)
            with torch.no_grad():
                g(wplus)
                fwd = math.inf
                for _ in range(args.repeats):
                    t = time.perf_counter(); g(wplus); fwd = min(fwd, time.perf_counter() - t)
            line = f"{size:4d} {batch:5d} {fwd:7.3f} {batch * flops / fwd / 1e9:12.1f}"
            if not args.forward_only:
                w = wplus.clone().requires_grad_(True)
                fb = math.inf
                for _ in range(args.repeats):
                    g.zero_grad(set_to_none=True); w.grad = None
                    t = time.perf_counter()
                    (g(w) * r).sum().backward()
                    fb = min(fb, time.perf_counter() - t)
                line += f" {fb:7.3f} {3 * batch * flops / fb / 1e9:11.1f}"
            print(line + f" {peak_mb():14.0f}", flush=True)


if __name__ == "__main__":
    main()
