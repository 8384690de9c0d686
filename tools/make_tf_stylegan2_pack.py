#!/usr/bin/env python3
"""Makes fixtures/tf_stylegan2: a tiny NVlabs TensorFlow StyleGAN2 network pickle and what rosinality's
convert_weight.py makes of it (no TensorFlow runs here; see fixtures/tf_stylegan2/README.md).

    python tools/make_tf_stylegan2_pack.py --rosinality PATH --output fixtures/tf_stylegan2

PATH is a rosinality/stylegan2-pytorch checkout or its bare git directory (read with `git archive HEAD`).
Needs torch and numpy. Deterministic: the .npy files come out byte-identical on every run.

1. Random TF-named variables for a tiny config (32x32, z/w dim 16, 2 mapping layers, fmap_base 64, fmap_max 8:
   channels 8/8/8/4), in the order TensorFlow creates them in `training/networks_stylegan2.py`.
2. Pickled as `pickle.dump((G, D, Gs), f)` with protocol 3 (what Python 3.6's default wrote): each network an
   instance of a stand-in class registered as `dnnlib.tflib.network.Network` whose `__getstate__` returns the dict
   dnnlib's `Network.__getstate__` returns (version 4, name, static_kwargs, components, build_module_src,
   build_func_name, variables). 0-d variables are numpy float32 scalars, as `tf.Session.run` returns them. numpy
   globals are written under numpy 1.x's module name (`numpy.core.multiarray`), as in the real releases.
   `build_module_src` is code that would create MARKER if anything executed it (dnnlib's `__setstate__` does).
3. Gs's variables go through rosinality's own `fill_statedict` into its `model.Generator` (both imported from PATH,
   the generator's channel table replaced by the tiny one; `torch.utils.cpp_extension.load` and torchvision stubbed so
   the CPU fallbacks of `op/` are used), saved as convert_weight.py saves it: {"g_ema", "latent_avg"}.
4. Images from that generator with the stored noise (`randomize_noise=False`).
"""
import argparse
import hashlib
import io
import json
import os
import pickle
import re
import subprocess
import sys
import tarfile
import tempfile
import types

import numpy as np
import torch

MARKER = "/tmp/nada-edit-tf-stylegan2-pickle-code-ran"
SOURCE = (f"import os\nos.system('touch {MARKER}')\n"
          "# Stand-in for training/networks_stylegan2.py: dnnlib's Network.__setstate__ exec()s this text.\n")
RES, LATENT, MAPPING_LAYERS, FMAP_BASE, FMAP_MAX = 32, 16, 2, 64, 8
CHANNEL_TABLE = "{4: 8, 8: 8, 16: 8, 32: 4, 64: 4 * channel_multiplier, 128: 4 * channel_multiplier, " \
                "256: 4 * channel_multiplier, 512: 4 * channel_multiplier, 1024: 4 * channel_multiplier}"


def nf(stage):  # networks_stylegan2.G_synthesis_stylegan2's channel rule with fmap_decay 1, fmap_min 1
    return int(np.clip(int(FMAP_BASE / (2.0 ** stage)), 1, FMAP_MAX))


def tree(path):
    if os.path.exists(os.path.join(path, "model.py")):
        return path, "working tree"
    out = tempfile.mkdtemp(prefix="rosinality-")
    commit = subprocess.check_output(["git", "--git-dir", path, "rev-parse", "HEAD"], text=True).strip()
    data = subprocess.check_output(["git", "--git-dir", path, "archive", "HEAD", "model.py", "convert_weight.py", "op"])
    tarfile.open(fileobj=io.BytesIO(data)).extractall(out)
    return out, commit


def generator_variables(rng):
    """(mapping, synthesis, own) variable lists of G_main with random values, in TF creation order."""
    f32 = np.float32
    mapping = []
    for i in range(MAPPING_LAYERS):
        mapping.append((f"Dense{i}/weight", (rng.randn(LATENT, LATENT) * 100).astype(f32)))  # init std 1/lrmul
        mapping.append((f"Dense{i}/bias", (rng.randn(LATENT) * 10).astype(f32)))  # x lrmul 0.01 at run time
    log2 = int(np.log2(RES))
    num_layers = log2 * 2 - 2
    synthesis = []
    for i in range(num_layers - 1):
        r = 2 ** ((i + 5) // 2)
        synthesis.append((f"noise{i}", rng.randn(1, 1, r, r).astype(f32)))

    def layer(scope, cin, cout, k):
        synthesis.append((f"{scope}/weight", rng.randn(k, k, cin, cout).astype(f32)))
        synthesis.append((f"{scope}/mod_weight", rng.randn(LATENT, cin).astype(f32)))
        synthesis.append((f"{scope}/mod_bias", (rng.randn(cin) * 0.2).astype(f32)))
        if k == 3:
            synthesis.append((f"{scope}/noise_strength", f32(rng.randn() * 0.3)))
        synthesis.append((f"{scope}/bias", (rng.randn(cout) * 0.2).astype(f32)))

    synthesis.append(("4x4/Const/const", rng.randn(1, nf(1), 4, 4).astype(f32)))
    layer("4x4/Conv", nf(1), nf(1), 3)
    layer("4x4/ToRGB", nf(1), 3, 1)
    for res in range(3, log2 + 1):
        s = f"{2 ** res}x{2 ** res}"
        layer(f"{s}/Conv0_up", nf(res - 2), nf(res - 1), 3)
        layer(f"{s}/Conv1", nf(res - 1), nf(res - 1), 3)
        layer(f"{s}/ToRGB", nf(res - 1), 3, 1)
    own = [("lod", f32(0)), ("dlatent_avg", (rng.randn(LATENT) * 0.5).astype(f32))]
    return mapping, synthesis, own


def discriminator_variables(rng):
    """D_stylegan2 (resnet) variable names and shapes; random values (nothing reads them but the layout)."""
    f32 = np.float32
    out = []
    log2 = int(np.log2(RES))

    def conv(scope, k, cin, cout, bias=True):
        out.append((f"{scope}/weight", rng.randn(k, k, cin, cout).astype(f32)))
        if bias:
            out.append((f"{scope}/bias", (rng.randn(cout) * 0.2).astype(f32)))

    conv(f"{RES}x{RES}/FromRGB", 1, 3, nf(log2 - 1))
    for res in range(log2, 2, -1):
        s = f"{2 ** res}x{2 ** res}"
        conv(f"{s}/Conv0", 3, nf(res - 1), nf(res - 1))
        conv(f"{s}/Conv1_down", 3, nf(res - 1), nf(res - 2))
        conv(f"{s}/Skip", 1, nf(res - 1), nf(res - 2), bias=False)
    conv("4x4/Conv", 3, nf(1) + 1, nf(1))
    out.append(("4x4/Dense0/weight", rng.randn(nf(1) * 16, nf(0)).astype(f32)))
    out.append(("4x4/Dense0/bias", (rng.randn(nf(0)) * 0.2).astype(f32)))
    out.append(("Output/weight", rng.randn(nf(0), 1).astype(f32)))
    out.append(("Output/bias", (rng.randn(1) * 0.2).astype(f32)))
    return out


def stand_in_network_class():
    for name in ["dnnlib", "dnnlib.tflib", "dnnlib.tflib.network"]:
        sys.modules.setdefault(name, types.ModuleType(name))

    class Network:
        def __init__(self, state):
            self._state = state

        def __getstate__(self):
            return self._state

    Network.__module__ = "dnnlib.tflib.network"
    Network.__qualname__ = Network.__name__ = "Network"
    sys.modules["dnnlib.tflib.network"].Network = Network
    return Network


def state(name, func, kwargs, variables, components=None):
    # Key order and contents as dnnlib's Network.__getstate__ (version 4).
    return {"version": 4, "name": name, "static_kwargs": dict(kwargs), "components": dict(components or {}),
            "build_module_src": SOURCE, "build_func_name": func, "variables": list(variables)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rosinality", required=True)
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    src, commit = tree(args.rosinality)

    # rosinality's code, imported from its files; only the channel table constant is replaced (tiny model).
    from torch.utils import cpp_extension
    cpp_extension.load = lambda *a, **k: None  # op/ then takes its CPU paths
    tv = types.ModuleType("torchvision")
    tv.utils = types.ModuleType("torchvision.utils")
    sys.modules["torchvision"], sys.modules["torchvision.utils"] = tv, tv.utils
    sys.path.insert(0, src)
    text = open(os.path.join(src, "model.py")).read()
    text, n = re.subn(r"self\.channels = \{[^}]*\}", "self.channels = " + CHANNEL_TABLE, text)
    assert n >= 1, n
    model = types.ModuleType("model")
    model.__file__ = os.path.join(src, "model.py")
    sys.modules["model"] = model
    exec(compile(text, model.__file__, "exec"), model.__dict__)
    import convert_weight  # noqa: E402  (rosinality's; its __main__ part does not run)

    rng = np.random.RandomState(20261205)
    Network = stand_in_network_class()
    mapping, synthesis, own = generator_variables(rng)
    g_kwargs = {"num_channels": 3, "resolution": RES, "label_size": 0, "latent_size": LATENT, "dlatent_size": LATENT,
                "mapping_layers": MAPPING_LAYERS, "mapping_fmaps": LATENT, "fmap_base": FMAP_BASE, "fmap_max": FMAP_MAX}
    num_ws = int(np.log2(RES)) * 2 - 2

    def generator(name, mapping, synthesis, own):
        comps = {"synthesis": Network(state("G_synthesis", "G_synthesis_stylegan2", g_kwargs, synthesis)),
                 "mapping": Network(state("G_mapping", "G_mapping", dict(g_kwargs, dlatent_broadcast=num_ws), mapping))}
        return Network(state(name, "G_main", g_kwargs, own, comps))

    # G: the trained weights; Gs: their moving average (here: G's values plus a small random offset).
    def nudged(vs):
        return [(k, (v + np.float32(0.05) * rng.randn(*np.shape(v))).astype(np.float32)) for k, v in vs]

    G = generator("G", nudged(mapping), nudged(synthesis), nudged(own))
    D = Network(state("D", "D_stylegan2", {k: g_kwargs[k] for k in ["num_channels", "resolution", "label_size",
                                                                    "fmap_base", "fmap_max"]}, discriminator_variables(rng)))
    Gs = generator("Gs", mapping, synthesis, own)
    G._state["variables"][0] = ("lod", np.float32(0))  # lod is not trained
    data = pickle.dumps((G, D, Gs), protocol=3)
    assert data.count(b"numpy._core.multiarray\n") > 0
    data = data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")

    # Gs.vars as dnnlib names them, behind the TF variable API convert_weight.py calls (.value().eval()).
    class Var:
        def __init__(self, a):
            self.a = np.asarray(a)

        def value(self):
            return self

        def eval(self):
            return self.a

    tf_vars = {k: Var(v) for k, v in own}
    tf_vars.update({"G_mapping/" + k: Var(v) for k, v in mapping})
    tf_vars.update({"G_synthesis/" + k: Var(v) for k, v in synthesis})
    n_mlp = sum(1 for k in tf_vars if k.startswith("G_mapping/Dense") and k.endswith("/weight"))
    g = model.Generator(RES, LATENT, n_mlp, channel_multiplier=2)
    state_dict = convert_weight.fill_statedict(g.state_dict(), tf_vars, RES, n_mlp)
    g.load_state_dict(state_dict)
    g.eval()
    latent_avg = torch.from_numpy(tf_vars["dlatent_avg"].value().eval())

    os.makedirs(args.output, exist_ok=True)
    out = lambda name: os.path.join(args.output, name)  # noqa: E731
    with open(out("stylegan2-tiny-config-f.pkl"), "wb") as f:
        f.write(data)
    torch.save({"g_ema": state_dict, "latent_avg": latent_avg}, out("converted.pt"))

    z = torch.from_numpy(np.random.RandomState(1).randn(2, LATENT).astype(np.float32))
    with torch.no_grad():
        w = g.style(z)
        wplus = (w[:, None, :].repeat(1, g.n_latent, 1)
                 + 0.05 * torch.from_numpy(np.random.RandomState(2).randn(2, g.n_latent, LATENT).astype(np.float32)))
        image_wplus, _ = g([wplus], input_is_latent=True, randomize_noise=False)
        image_trunc, _ = g([z], truncation=0.7, truncation_latent=latent_avg, randomize_noise=False)
        g64 = model.Generator(RES, LATENT, n_mlp, channel_multiplier=2).double()
        g64.load_state_dict({k: v.double() for k, v in state_dict.items()})
        ref64, _ = g64([wplus.double()], input_is_latent=True, randomize_noise=False)
    arrays = {"z.npy": z, "w_from_z.npy": w, "wplus.npy": wplus, "image_wplus.npy": image_wplus,
              "image_z_trunc07.npy": image_trunc}
    for name, t in arrays.items():
        np.save(out(name), t.numpy().astype(np.float32))
    rel = float((ref64 - image_wplus.double()).abs().max() / image_wplus.abs().max())
    manifest = {"rosinality_commit": commit, "torch": torch.__version__, "numpy": np.__version__,
                "float64_vs_float32_image_wplus_rel": rel, "marker": MARKER,
                "sha256": {n: hashlib.sha256(open(out(n), "rb").read()).hexdigest()
                           for n in sorted(os.listdir(args.output)) if n.endswith((".npy", ".pkl"))}}
    with open(out("manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
