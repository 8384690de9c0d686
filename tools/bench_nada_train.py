#!/usr/bin/env python3
"""PyTorch CPU baseline for `nada-bench train`: one StyleGAN-NADA training iteration, reference method.

Written for timing only, from the reference's behaviour (rinongal/StyleGAN-nada ZSSGAN.py, clip_loss.py,
train.py; see ../shared/spec/generator-and-encoders.md section 3):
- generator: rosinality's Generator math with native upfirdn2d (tools/bench_stylegan2.py), config-f widths,
  style_dim 512, n_mlp 8, random weights; a frozen copy and a trainable copy; fresh random noise per call
  (randomize_noise=True); W from the frozen mapping repeated over all layers.
- CLIP ViT-B/32 at 224 in OpenAI's module structure (tools/bench_clip.py), random weights, frozen
  (requires_grad False; gradients flow to the images). Preprocessing of generator outputs:
  (x+1)/2, bicubic resize to 224 (torchvision tensor path, antialias=True), center crop (no-op), CLIP normalize.
- directional loss: 1 - cos(normalize(f(tgt) - f(src)), text direction), f = L2-normalised image features;
  the text direction = normalised mean over the 79 templates of target minus source text features
  (computed once, in the warm-up iteration; prompts as 77-token rows of the real lengths, random ids).
- adaptive layer selection (determine_opt_layers): unfreeze every trainable layer, W+ from the frozen mapping
  of auto_layer_batch z, one SGD(lr 0.01) step on W+ against the global CLIP loss (text: bare target,
  encoded per call as the reference does; --auto-layer-chunk N: the same gradient N samples at a time), top-k rows -> modules with the reference's off-by-one map;
  then freeze all and unfreeze the chosen modules. Phase variant: input, conv1 and every conv.
- Adam(lr 0.002*0.8 = 0.0016, betas (0, 0.99**0.8)).
Parts timed as in the Swift benchmark (the backward is split at the trainable images' gradient, same work
as one backward): select, frozen, trainF, clip, genB, adam. Median of N after one warm-up; peak RSS;
process CPU seconds per iteration (cpu_s, steadier than wall time on a shared machine).

  /work/venv/bin/python tools/bench_nada_train.py --sizes 256 --threads 2 --iterations 3
  /work/venv/bin/python tools/bench_nada_train.py --sizes 1024 --auto-layer-chunk 2 --threads 2 --iterations 1
  /work/venv/bin/python tools/bench_nada_train.py --sizes 1024 --selection adaptive --clip b32,b16 --auto-layer-k 18 --auto-layer-chunk 2 --iterations 1
"""
import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_clip import TEMPLATE_EOT, CLIPText, Vision  # noqa: E402
from bench_stylegan2 import Generator  # noqa: E402

CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


class NADAGenerator(Generator):
    """The benchmark generator with rosinality's training-time call: W input, fresh noise per layer."""

    def synth(self, wplus):
        b = wplus.shape[0]

        def noise(res):
            return torch.randn(b, 1, res, res)

        out = self.const.repeat(b, 1, 1, 1)
        out = self.styled(self.convs[0], out, wplus[:, 0], noise(4), False)
        skip = self.rgb(self.rgbs[0], out, wplus[:, 1], None)
        i = 1
        for k in range(self.log_size - 2):
            res = 8 << k
            out = self.styled(self.convs[2 * k + 1], out, wplus[:, i], noise(res), True)
            out = self.styled(self.convs[2 * k + 2], out, wplus[:, i + 1], noise(res), False)
            skip = self.rgb(self.rgbs[k + 1], out, wplus[:, i + 2], skip)
            i += 2
        return skip

    def from_w(self, w):
        return self.synth(w.unsqueeze(1).repeat(1, self.n_latent, 1))

    # Reference module names -> our submodules: input=const, conv1=convs[0], to_rgb1=rgbs[0],
    # convs.k=convs[k+1], to_rgbs.k=rgbs[k+1].
    def params_of(self, name):
        if name == "input":
            return [self.const]
        if name == "conv1":
            return list(self.convs[0].parameters())
        if name == "to_rgb1":
            return list(self.rgbs[0].parameters())
        kind, k = name.split(".")
        return list((self.convs if kind == "convs" else self.rgbs)[int(k) + 1].parameters())


class CLIPLoss:
    def __init__(self, patch=32):
        self.vision = Vision(224, patch, 768, 12, 512).eval().requires_grad_(False)
        self.text = CLIPText(512, 12, 512).eval().requires_grad_(False)
        self.direction = None

    @staticmethod
    def tokens(eots):
        t = torch.zeros(len(eots), 77, dtype=torch.long)
        for i, eot in enumerate(eots):
            t[i, 0] = 49406
            for j in range(1, eot):
                t[i, j] = 1000 + (j * 37 + eot) % 40000
            t[i, eot] = 49407
        return t

    def preprocess(self, img):
        x = (img + 1) / 2
        x = F.interpolate(x, size=(224, 224), mode="bicubic", align_corners=False, antialias=True)
        return (x - CLIP_MEAN) / CLIP_STD

    def image_features(self, img):
        f = self.vision(self.preprocess(img))
        return f / f.norm(dim=-1, keepdim=True)

    def text_features(self, eots):
        f = self.text(self.tokens(eots))
        return f / f.norm(dim=-1, keepdim=True)

    def directional(self, src, tgt):
        if self.direction is None:
            with torch.no_grad():
                s = self.text_features(TEMPLATE_EOT)           # "photo" in the 79 templates
                t = self.text_features([e + 1 for e in TEMPLATE_EOT])  # a slightly longer target word
                d = (t - s).mean(0, keepdim=True)
                self.direction = d / d.norm(dim=-1, keepdim=True)
        es = self.image_features(src)
        et = self.image_features(tgt)
        edit = et - es
        if edit.sum() == 0:
            et = self.image_features(tgt + 1e-6)
            edit = et - es
        edit = edit / edit.clone().norm(dim=-1, keepdim=True)
        return (1 - F.cosine_similarity(edit, self.direction)).mean()

    def global_loss(self, img):
        # clip_model(image, tokenize(target)) -> logits_per_image = 100 * cos; text encoded on every call.
        img_f = self.image_features(img)
        txt = self.text_features([3])
        logits = 100 * img_f @ txt.t()
        return (1 - logits / 100).mean()


def iteration(frozen, trainable, clips, opt, args, size):
    times = []
    mark = [time.perf_counter()]

    def lap():
        now = time.perf_counter()
        times.append(now - mark[0])
        mark[0] = now

    n = trainable.n_latent
    if args.selection == "adaptive":
        trainable.requires_grad_(True)  # unfreeze_layers(): every layer, as the reference does
        with torch.no_grad():
            w0 = frozen.mapping(torch.randn(args.auto_layer_batch, 512)).unsqueeze(1).repeat(1, n, 1)
        w = w0.clone().requires_grad_(True)
        sgd = torch.optim.SGD([w], lr=0.01)
        b = args.auto_layer_batch
        chunk = args.auto_layer_chunk or b
        for _ in range(1):
            sgd.zero_grad()
            # chunk < batch: the same gradient (each chunk's mean weighted by its share of the batch),
            # one chunk's graph at a time, as `nada-bench train` does; the reference runs the whole batch.
            for s in range(0, b, chunk):
                img = trainable.synth(w[s:s + chunk])
                loss = sum(c.global_loss(img) for c in clips) * (img.shape[0] / b)
                loss.backward()
                del img, loss
            sgd.step()
        scores = (w - w0).abs().mean(dim=-1).mean(dim=0)
        k = args.auto_layer_k or (18 if size >= 1024 else 14)
        chosen = torch.topk(scores, k)[1].tolist()
        num_convs = 2 * (trainable.log_size - 2)
        idx_to_layer = ["conv1", "to_rgb1"] + [f"convs.{i}" for i in range(num_convs)]
        modules = [idx_to_layer[i] for i in chosen]
    else:
        modules = ["input", "conv1"] + [f"convs.{i}" for i in range(2 * (trainable.log_size - 2))]
    trainable.requires_grad_(False)
    for m in modules:
        for p in trainable.params_of(m):
            p.requires_grad_(True)
    lap()

    z = torch.randn(2, 512)
    with torch.no_grad():
        w = frozen.mapping(z)
        src = frozen.from_w(w)
    lap()

    tgt = trainable.from_w(w)
    lap()

    image = tgt.detach().requires_grad_(True)
    loss = sum(c.directional(src, image) for c in clips)  # clip_model_weights 1 each
    loss.backward()
    lap()

    trainable.zero_grad(set_to_none=True)
    tgt.backward(image.grad)
    lap()

    opt.step()
    trained = sum(1 for p in trainable.parameters() if p.grad is not None)
    trainable.zero_grad(set_to_none=True)
    lap()
    return times, trained


def peak_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,1024")
    ap.add_argument("--selection", default="both", choices=["adaptive", "phase", "both"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--auto-layer-batch", type=int, default=8)
    ap.add_argument("--auto-layer-chunk", type=int, default=0,
                    help="run the selection batch through G and CLIP this many samples at a time (0: all at once, "
                         "as the reference; at 1024 the whole batch of 8 needs far more than 10 GB)")
    ap.add_argument("--auto-layer-k", type=int, default=0,
                    help="rows chosen by the selection (0: 18 at 1024, 14 below, as nada-bench train); the reference "
                         "runs the W+ pass whatever k is")
    ap.add_argument("--clip", default="b32", help="b32, or b32,b16 (the README recipe's pair, weight 1 each)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    patches = {"b32": 32, "b16": 16}
    names = args.clip.split(",")
    if not names or any(n not in patches for n in names):
        ap.error(f"--clip: '{args.clip}' (a list of b32 and b16)")
    print(f"pytorch {torch.__version__}: StyleGAN-NADA iteration, config-f random weights, batch 2, CLIP {'+'.join(names)} random "
          f"weights, directional loss, {torch.get_num_threads()} threads, median of {args.iterations} after 1 warm-up, "
          f"selection chunk {args.auto_layer_chunk or args.auto_layer_batch} of {args.auto_layer_batch}")
    print("size selection      iter_s  select   frozen   trainF    clip    genB    adam  peakMB   cpu_s  trained")
    clips = [CLIPLoss(patches[n]) for n in names]
    selections = ["adaptive", "phase"] if args.selection == "both" else [args.selection]
    for size in [int(s) for s in args.sizes.split(",")]:
        for sel in selections:
            args.selection = sel
            frozen = NADAGenerator(size).requires_grad_(False)
            trainable = NADAGenerator(size)
            trainable.load_state_dict(frozen.state_dict())
            opt = torch.optim.Adam(trainable.parameters(), lr=0.002 * 0.8, betas=(0.0, 0.99 ** 0.8))
            for c in clips:
                c.direction = None
            reset_peak()
            iteration(frozen, trainable, clips, opt, args, size)  # warm-up (+ text direction)
            runs, cpu = [], []
            for _ in range(args.iterations):
                c0 = time.process_time()
                runs.append(iteration(frozen, trainable, clips, opt, args, size))
                cpu.append(time.process_time() - c0)
            parts = [statistics.median(r[0][k] for r in runs) for k in range(6)]
            total = statistics.median(sum(r[0]) for r in runs)
            print(f"{size:4d} {sel:<10} {total:9.2f} " + " ".join(f"{p:7.2f}" for p in parts[:1])
                  + " " + " ".join(f"{p:8.2f}" for p in parts[1:3]) + " " + " ".join(f"{p:7.2f}" for p in parts[3:])
                  + f" {peak_mb():7.0f} {statistics.median(cpu):7.2f}  {runs[-1][1]} params", flush=True)
            print("     all iterations (s): " + " ".join(f"{sum(r[0]):.2f}" for r in runs), flush=True)
            del frozen, trainable, opt


if __name__ == "__main__":
    main()
