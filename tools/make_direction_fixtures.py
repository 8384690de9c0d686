#!/usr/bin/env python3
"""Reference values for latent directions (issue 15), with numpy only (no torch needed).

  python3 tools/make_direction_fixtures.py [fixtures/stylegan2/generator.pt] [fixtures/directions]

SeFa: the generator checkpoint (a PyTorch zip) is read with a restricted unpickler written here (it builds numpy
arrays from the archive's storages and refuses every other global), so the weight matrix comes from an
implementation independent of nada-edit's reader. The matrix follows rosinality's closed_form_factorization.py:
g_ema entries whose name contains "modulation" and "weight" but not "to_rgbs", concatenated along dim 0 in
state-dict order; its right singular vectors come from numpy's SVD in float64 (torch.svd(W).V's columns), written
as rows with each row's sign fixed so its largest-magnitude entry is positive.

InterFaceGAN and GANSpace: a seeded random direction and PCA (orthonormal components), and the reference W+ codes
fixtures/stylegan2/wplus.npy edited with e4e's formulas (editings/latent_editor.py apply_interfacegan,
editings/ganspace.py get_delta/edit) re-computed in float64.
"""
import io
import os
import pickle
import sys
import zipfile

import numpy as np

DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
          "LongStorage": np.int64, "IntStorage": np.int32}


def read_torch_zip(path):
    zf = zipfile.ZipFile(path)
    names = zf.namelist()
    prefix = names[0].split("/")[0]
    data_pkl = f"{prefix}/data.pkl"

    class StorageType:
        def __init__(self, name):
            self.dtype = DTYPES[name]

    def rebuild_tensor(storage, offset, size, stride, *rest):
        item = storage.itemsize
        return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                               strides=tuple(s * item for s in stride)).copy()

    class Restricted(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "collections" and name == "OrderedDict":
                import collections
                return collections.OrderedDict
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return rebuild_tensor
            if module == "torch" and name in DTYPES:
                return StorageType(name)
            raise pickle.UnpicklingError(f"refusing global {module}.{name}")

        def persistent_load(self, pid):
            _, storage_type, key, _location, _numel = pid
            raw = zf.read(f"{prefix}/data/{key}")
            return np.frombuffer(raw, dtype=storage_type.dtype)

    return Restricted(io.BytesIO(zf.read(data_pkl))).load()


def sign_fixed_rows(vectors):
    out = vectors.copy()
    for row in out:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    return out


def main():
    generator = sys.argv[1] if len(sys.argv) > 1 else "fixtures/stylegan2/generator.pt"
    out = sys.argv[2] if len(sys.argv) > 2 else "fixtures/directions"
    os.makedirs(out, exist_ok=True)

    g_ema = read_torch_zip(generator)["g_ema"]
    mats = [v for k, v in g_ema.items() if "modulation" in k and "to_rgbs" not in k and "weight" in k]
    W = np.concatenate(mats, 0).astype(np.float64)
    _, singular, vt = np.linalg.svd(W, full_matrices=False)
    np.save(f"{out}/sefa_components.npy", sign_fixed_rows(vt))
    np.save(f"{out}/sefa_singular_values.npy", singular)
    print("SeFa:", W.shape, "singular values", singular[:4], "...")

    codes = np.load("fixtures/stylegan2/wplus.npy")            # [3, n_latent, style_dim] float32
    n, d = codes.shape[1], codes.shape[2]
    rng = np.random.default_rng(15)

    # InterFaceGAN: w + amount * d on a row range (every row by default).
    direction = rng.standard_normal((1, d))
    direction /= np.linalg.norm(direction)
    direction = direction.astype(np.float32)
    np.save(f"{out}/interfacegan_direction.npy", direction)
    c = codes.astype(np.float64)
    edited = c.copy()
    edited[:, :, :] += 2.5 * direction.astype(np.float64)
    np.save(f"{out}/interfacegan_all_2.5.npy", edited)
    edited = c.copy()
    edited[:, 2:5, :] += -3.0 * direction.astype(np.float64)
    np.save(f"{out}/interfacegan_rows2-5_-3.npy", edited)

    # GANSpace: a random orthonormal PCA; e4e's get_delta measures the coordinate on row 0 of each code.
    k_count = 8
    q, _ = np.linalg.qr(rng.standard_normal((d, k_count)))
    comp = q.T.astype(np.float32)                                # [K, d], unit rows
    std = rng.uniform(0.5, 3.0, k_count).astype(np.float32)
    mean = (0.3 * rng.standard_normal((1, d))).astype(np.float32)
    np.save(f"{out}/ganspace_comp.npy", comp)
    np.save(f"{out}/ganspace_std.npy", std)
    np.save(f"{out}/ganspace_mean.npy", mean)

    def ganspace(latents, k, start, end, amount):
        result = []
        for latent in latents:
            centered = latent - mean.astype(np.float64)
            coord = np.sum(centered[0] * comp[k].astype(np.float64)) / np.float64(std[k])
            delta = (amount - coord) * comp[k].astype(np.float64) * np.float64(std[k])
            padded = np.zeros_like(latent)
            padded[start:end] += delta
            result.append(latent + padded)
        return np.stack(result)

    np.save(f"{out}/ganspace_k3_rows0-4_2.5.npy", ganspace(c, 3, 0, 4, 2.5))
    np.save(f"{out}/ganspace_k5_rows2-7_-1.5.npy", ganspace(c, 5, 2, 7, -1.5))
    # Edits compose in order: the second coordinate is measured on the code the first one produced.
    np.save(f"{out}/ganspace_k3_then_k5.npy", ganspace(ganspace(c, 3, 0, 4, 2.5), 5, 2, 7, -1.5))
    print("wrote", sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
