"""PyTorch baseline for `nada-bench clip`: a CLIP ViT written like openai/CLIP's clip/model.py
(nn.MultiheadAttention with fused in_proj, QuickGELU, pre-LN blocks, causal text mask, EOT argmax pooling),
random weights at ViT-B/32 and ViT-B/16 sizes, float32 on the CPU, weights frozen.

Lines: image batch 2 forward (no_grad), forward+backward w.r.t. the pixels, and encode_text of the 79
ImageNet templates as 77-token rows (what StyleGAN-NADA does). Best of K runs after one warm-up.

    /work/venv/bin/python tools/bench_clip.py --threads 2 [--model b32|b16|all] [--repeats 3]
"""
import argparse
import time
from collections import OrderedDict

import torch
import torch.nn as nn

TEMPLATE_EOT = [8, 7, 10, 9, 7, 6, 8, 8, 7, 5, 10, 8, 8, 8, 8, 7, 7, 5, 8, 10, 10, 7, 7, 9, 7, 8, 8, 5, 8, 11, 8, 7,
                8, 7, 8, 7, 7, 10, 7, 5, 8, 7, 7, 5, 9, 5, 7, 8, 8, 7, 8, 8, 8, 5, 6, 7, 5, 9, 7, 11, 8, 6, 8, 8,
                8, 5, 6, 7, 8, 10, 6, 8, 7, 6, 5, 7, 8, 8, 7]


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, width, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, width // 64)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, 4 * width)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(4 * width, width))]))
        self.ln_2 = nn.LayerNorm(width)
        self.mask = mask

    def forward(self, x):  # x: (T, N, D) as in clip/model.py
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.mask)[0]
        return x + self.mlp(self.ln_2(x))


class Vision(nn.Module):
    def __init__(self, res, patch, width, layers, embed):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn((res // patch) ** 2 + 1, width) * width ** -0.5)
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.Sequential(*[Block(width) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed) * width ** -0.5)

    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
        x = self.blocks(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIPText(nn.Module):
    def __init__(self, width, layers, embed, context=77, vocab=49408):
        super().__init__()
        mask = torch.full((context, context), float("-inf")).triu_(1)
        self.token_embedding = nn.Embedding(vocab, width)
        self.positional_embedding = nn.Parameter(torch.randn(context, width) * 0.01)
        self.blocks = nn.Sequential(*[Block(width, mask) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.randn(width, embed) * width ** -0.5)

    def forward(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.blocks(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection


def best(fn, repeats):
    """Best wall time after a warm-up, with that run's process CPU time."""
    fn()
    runs = []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - t, time.process_time() - c))
    wall, cpu = min(runs)
    return f"{wall:.3f} s (cpu {cpu:.3f} s)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="all")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"CLIP benchmark (PyTorch {torch.__version__}), threads {torch.get_num_threads()}, best of {args.repeats}")
    for name in (["b32", "b16"] if args.model == "all" else [args.model]):
        patch = 32 if name == "b32" else 16
        label = "ViT-B/32" if name == "b32" else "ViT-B/16"
        vision = Vision(224, patch, 768, 12, 512).eval().requires_grad_(False)
        text = CLIPText(512, 12, 512).eval().requires_grad_(False)
        pixels = torch.randn(2, 3, 224, 224)
        tokens = torch.zeros(79, 77, dtype=torch.long)
        for i, eot in enumerate(TEMPLATE_EOT):
            tokens[i, 0] = 49406
            for t in range(1, eot):
                tokens[i, t] = 1000 + (t * 37 + eot) % 40000
            tokens[i, eot] = 49407

        def fwd():
            with torch.no_grad():
                vision(pixels)

        def fwd_bwd():
            x = pixels.clone().requires_grad_(True)
            vision(x).sum().backward()
            assert x.grad is not None

        def prompts():
            with torch.no_grad():
                text(tokens)

        print(f"{label} image batch 2 forward:          {best(fwd, args.repeats)}")
        print(f"{label} image batch 2 forward+backward: {best(fwd_bwd, args.repeats)}")
        print(f"{label} 79 prompt templates:            {best(prompts, args.repeats)}")


if __name__ == "__main__":
    main()
