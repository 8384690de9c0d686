"""PyTorch CPU baseline for `nada-bench encoders`: e4e (Encoder4Editing) at real size.

Our own module of the same architecture as omertov/encoder4editing (IR-SE-50 backbone with
squeeze-excitation units, BatchNorm in eval mode, PReLU; FPN laterals; 18 GradualStyleBlocks 512->512;
progressive w0 + delta_i output), random weights with non-trivial BatchNorm running statistics,
256x256 input, batch 1 and 4, forward under no_grad in eval mode. FLOPs count every conv and linear
(2*MACs), the same count the Swift bench prints.

Usage: /work/venv/bin/python tools/bench_encoders.py [--threads 2] [--repeats 3]
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

STAGES = [(64, 64, 3), (64, 128, 4), (128, 256, 14), (256, 512, 3)]  # get_blocks(50)


def head_convs(j):
    return 4 if j < 3 else (5 if j < 7 else 6)


class SE(nn.Module):
    def __init__(self, c, r=16):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1, bias=False)
        self.fc2 = nn.Conv2d(c // r, c, 1, bias=False)

    def forward(self, x):
        g = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(g))))


class BottleneckIRSE(nn.Module):
    def __init__(self, cin, depth, stride):
        super().__init__()
        if cin == depth:
            self.shortcut = nn.MaxPool2d(1, stride)
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, depth, 1, stride, bias=False), nn.BatchNorm2d(depth))
        self.res = nn.Sequential(
            nn.BatchNorm2d(cin), nn.Conv2d(cin, depth, 3, 1, 1, bias=False), nn.PReLU(depth),
            nn.Conv2d(depth, depth, 3, stride, 1, bias=False), nn.BatchNorm2d(depth), SE(depth))

    def forward(self, x):
        return self.res(x) + self.shortcut(x)


class StyleBlock(nn.Module):
    def __init__(self, n):
        super().__init__()
        layers = []
        for _ in range(n):
            layers += [nn.Conv2d(512, 512, 3, 2, 1), nn.LeakyReLU(0.01)]
        self.convs = nn.Sequential(*layers)
        self.weight = nn.Parameter(torch.randn(512, 512))  # EqualLinear, lr_mul 1
        self.bias = nn.Parameter(torch.zeros(512))

    def forward(self, x):
        x = self.convs(x).view(-1, 512)
        return F.linear(x, self.weight / math.sqrt(512), self.bias)


def upsample_add(x, y):
    return F.interpolate(x, size=y.shape[2:], mode="bilinear", align_corners=True) + y


class E4E(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layer = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        units = []
        for cin, depth, n in STAGES:
            units.append(BottleneckIRSE(cin, depth, 2))
            units += [BottleneckIRSE(depth, depth, 1) for _ in range(n - 1)]
        self.body = nn.ModuleList(units)
        self.styles = nn.ModuleList([StyleBlock(head_convs(j)) for j in range(18)])
        self.latlayer1 = nn.Conv2d(256, 512, 1)
        self.latlayer2 = nn.Conv2d(128, 512, 1)

    def forward(self, x):
        x = self.input_layer(x)
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i == 6:
                c1 = x
            elif i == 20:
                c2 = x
        c3 = x
        w0 = self.styles[0](c3)
        w = w0.repeat(18, 1, 1).permute(1, 0, 2).clone()
        features = c3
        for i in range(1, 18):
            if i == 3:
                features = p2 = upsample_add(c3, self.latlayer1(c2))
            elif i == 7:
                features = upsample_add(p2, self.latlayer2(c1))
            w[:, i] += self.styles[i](features)
        return w


def randomize(model):
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            m.weight.data = torch.randn(m.weight.shape, generator=g) * math.sqrt(2 / fan_in)
            if m.bias is not None:
                m.bias.data = 0.01 * torch.randn(m.bias.shape, generator=g)
        elif isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 0.5 + torch.rand(c, generator=g)
            m.bias.data = 0.1 * torch.randn(c, generator=g)
            m.running_mean = 0.1 * torch.randn(c, generator=g)
            m.running_var = 0.5 + torch.rand(c, generator=g)
        elif isinstance(m, nn.PReLU):
            m.weight.data = 0.25 + 0.05 * torch.randn(m.weight.shape, generator=g)
    for unit in model.body:  # small residual branch, as the Swift bench
        unit.res[3].weight.data *= 0.5


def forward_flops(batch):
    macs = 0
    side = 256
    macs += 64 * 3 * 9 * side * side
    for cin0, depth, n in STAGES:
        for u in range(n):
            cin = cin0 if u == 0 else depth
            out = side // 2 if u == 0 else side
            if cin != depth:
                macs += depth * cin * out * out
            macs += depth * cin * 9 * side * side + depth * depth * 9 * out * out
            macs += 2 * depth * (depth // 16)
            side = out
    macs += 512 * 256 * 32 * 32 + 512 * 128 * 64 * 64
    for j in range(18):
        s = 16 << (head_convs(j) - 4)
        for _ in range(head_convs(j)):
            s //= 2
            macs += 512 * 512 * 9 * s * s
        macs += 512 * 512
    return 2.0 * macs * batch


def best(repeats, fn):
    fn()
    t = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = E4E().eval()
    randomize(model)
    a, b = torch.randn(512, 4608), torch.randn(4608, 1024)
    gemm = 2.0 * 512 * 1024 * 4608 / best(args.repeats, lambda: torch.mm(a, b)) * 1e-9
    print(f"encoders (PyTorch {torch.__version__}): e4e IR-SE-50 + FPN + 18 GradualStyleBlocks, random weights, "
          f"256x256, forward (no_grad, eval), {args.threads} threads, best of {args.repeats}")
    print(f"sgemm 512x1024x4608: {gemm:.1f} GFLOP/s")
    print("batch   time_s  GFLOP  GFLOP/s  x_sgemm  s/image")
    with torch.no_grad():
        for batch in (1, 4):
            x = torch.rand(batch, 3, 256, 256, generator=torch.Generator().manual_seed(2)) * 2 - 1
            out = model(x)
            assert out.shape == (batch, 18, 512) and torch.isfinite(out).all()
            t = best(args.repeats, lambda: model(x))
            fl = forward_flops(batch)
            print(f"{batch:5d} {t:8.3f} {fl * 1e-9:6.1f} {fl / t * 1e-9:8.1f} {fl / t * 1e-9 / gemm:8.2f} {t / batch:8.3f}")


if __name__ == "__main__":
    main()
