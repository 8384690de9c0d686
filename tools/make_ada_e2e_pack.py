#!/usr/bin/env python3
"""Makes fixtures/nvlabs/ada-e2e/network-snapshot.pkl: a tiny StyleGAN2-ADA snapshot whose W+ size matches the
tiny encoders in fixtures/encoders (64x64, z_dim = w_dim = 12, 10 ws), for the end-to-end test that trains a domain
from an NVlabs pickle and edits a photo with it. See fixtures/nvlabs/ada-e2e/README.md.

    python tools/make_ada_e2e_pack.py --nvlabs PATH --output fixtures/nvlabs/ada-e2e

PATH is an NVlabs/stylegan2-ada-pytorch checkout or its bare git directory (read with `git archive HEAD`). Needs
torch and numpy. The networks are built by the official `training/networks.py` (custom ops on their reference CPU
paths), their parameters perturbed (seeded), and pickled as `training/training_loop.py` writes a snapshot
(`training_set_kwargs`, G, D, G_ema, augment_pipe None); each persistent class's embedded `module_src` is a one-line
stand-in (the official source is not kept here).
"""
import argparse
import copy
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import types

import torch


def tree(path):
    if os.path.exists(os.path.join(path, "training", "networks.py")):
        return path, "working tree"
    out = tempfile.mkdtemp(prefix="stylegan2-ada-")
    commit = subprocess.check_output(["git", "--git-dir", path, "rev-parse", "HEAD"], text=True).strip()
    data = subprocess.check_output(["git", "--git-dir", path, "archive", "HEAD", "dnnlib", "torch_utils", "training"])
    tarfile.open(fileobj=io.BytesIO(data)).extractall(out)
    return out, commit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nvlabs", required=True)
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    src, commit = tree(args.nvlabs)
    sys.path.insert(0, src)
    # dnnlib.util imports requests for downloads, which nothing here does.
    sys.modules.setdefault("requests", types.ModuleType("requests"))
    from training import networks  # noqa: E402  (official code)

    torch.manual_seed(20261205)
    common = dict(c_dim=0, img_resolution=64, img_channels=3)
    G = networks.Generator(z_dim=12, w_dim=12, **common, mapping_kwargs=dict(num_layers=2),
                           synthesis_kwargs=dict(channel_base=512, channel_max=16, num_fp16_res=0, conv_clamp=256))
    D = networks.Discriminator(**common, channel_base=512, channel_max=16, num_fp16_res=0, conv_clamp=256)
    with torch.no_grad():
        for net in (G, D):
            for name, p in net.named_parameters():
                p.add_(0.2 * torch.randn_like(p))
        G.mapping.w_avg.copy_(0.5 * torch.randn_like(G.mapping.w_avg))
        for name, b in G.named_buffers():
            if name.endswith("noise_const"):
                b.copy_(torch.randn_like(b))
    G_ema = copy.deepcopy(G)
    with torch.no_grad():
        for p in G_ema.parameters():
            p.add_(0.01 * torch.randn_like(p))
    snapshot = dict(training_set_kwargs=dict(class_name="training.dataset.ImageFolderDataset", path="tiny.zip",
                                             use_labels=False, max_size=None, xflip=False, resolution=64))
    for name, module in [("G", G), ("D", D), ("G_ema", G_ema), ("augment_pipe", None)]:
        if module is not None:
            module = copy.deepcopy(module).eval().requires_grad_(False).cpu()
        snapshot[name] = module
    # After the copies (deepcopy rebuilds persistent objects from their source): the stand-in source.
    for cls in {type(m) for net in (G, D) for m in net.modules() if hasattr(type(m), "_orig_module_src")}:
        cls._orig_module_src = f"# module source omitted from this test file (class {cls.__name__})\n"
    os.makedirs(args.output, exist_ok=True)
    path = os.path.join(args.output, "network-snapshot.pkl")
    with open(path, "wb") as f:
        pickle.dump(snapshot, f)
    with torch.no_grad():
        img = G_ema(torch.randn(1, 12), None, noise_mode="const", force_fp32=True)
    print(f"wrote {path} ({os.path.getsize(path)} bytes) from stylegan2-ada-pytorch {commit}; "
          f"num_ws {G_ema.num_ws}, image {tuple(img.shape)} max|x| {img.abs().max():.3f}")


if __name__ == "__main__":
    main()
