#!/usr/bin/env python3
"""Reference FFHQ alignment for the Swift tests (fixtures/align/).

Follows encoder4editing's utils/alignment.py `align_face` step by step (the same math as pSp's and
ReStyle's align scripts and the FFHQ dataset script), written out again here with numpy, scipy and
Pillow, with the encoder repos' parameters: output_size 256, transform_size 256, padding on.
Landmarks are given (no dlib here): the fixture JSON holds the 68 points.

Run from the package root:
    /work/venv/bin/python tools/align_reference.py
It writes, for each case, fixtures/align/<case>_aligned.png (the expected crop) and
fixtures/align/expected.json (quad, shrink, crop, pad per case, for the geometry assertions).

Cases:
  face    - the encoders pack's photo (256x256) with its dlib landmarks.
  zoom    - a window of that photo enlarged 9x with nearest neighbour (the Swift test rebuilds it
            exactly), so qsize > 1024: exercises the LANCZOS shrink, and the quad leaves the image:
            exercises reflect padding + blur.
  rotated - the photo rotated by 23 degrees (Pillow BICUBIC, expand) and stored as a fixture, with
            the landmarks rotated analytically (non-integer): exercises a tilted quad.
"""
import json
import math
import os
import sys

import numpy as np
import PIL.Image
import scipy.ndimage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "fixtures", "align")

ZOOM_WINDOW = (48, 40, 208, 200)  # x0, y0, x1, y1 of input_face.png, enlarged ZOOM_FACTOR times
ZOOM_FACTOR = 9
ROTATE_DEGREES = 23.0


def align_face(img, lm, output_size=256, transform_size=256, enable_padding=True):
    """e4e align_face from the landmark step on; returns (image, info)."""
    lm = np.asarray(lm, dtype=np.float64)
    lm_eye_left = lm[36:42]
    lm_eye_right = lm[42:48]
    lm_mouth_outer = lm[48:60]

    # Auxiliary vectors.
    eye_left = np.mean(lm_eye_left, axis=0)
    eye_right = np.mean(lm_eye_right, axis=0)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_left = lm_mouth_outer[0]
    mouth_right = lm_mouth_outer[6]
    mouth_avg = (mouth_left + mouth_right) * 0.5
    eye_to_mouth = mouth_avg - eye_avg

    # Oriented crop rectangle.
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    qsize = np.hypot(*x) * 2
    info = {"quad_source": quad.tolist(), "qsize_source": float(qsize)}

    # Shrink. (e4e says PIL.Image.ANTIALIAS, which is LANCZOS; the old name is gone in Pillow 10.)
    shrink = int(np.floor(qsize / output_size * 0.5))
    info["shrink"] = shrink
    if shrink > 1:
        rsize = (int(np.rint(float(img.size[0]) / shrink)), int(np.rint(float(img.size[1]) / shrink)))
        img = img.resize(rsize, PIL.Image.LANCZOS)
        quad /= shrink
        qsize /= shrink
    info["shrunk_size"] = list(img.size)

    # Crop.
    border = max(int(np.rint(qsize * 0.1)), 3)
    crop = (int(np.floor(min(quad[:, 0]))), int(np.floor(min(quad[:, 1]))), int(np.ceil(max(quad[:, 0]))),
            int(np.ceil(max(quad[:, 1]))))
    crop = (max(crop[0] - border, 0), max(crop[1] - border, 0), min(crop[2] + border, img.size[0]),
            min(crop[3] + border, img.size[1]))
    info["crop"] = None
    if crop[2] - crop[0] < img.size[0] or crop[3] - crop[1] < img.size[1]:
        img = img.crop(crop)
        quad -= crop[0:2]
        info["crop"] = list(crop)

    # Pad.
    pad = (int(np.floor(min(quad[:, 0]))), int(np.floor(min(quad[:, 1]))), int(np.ceil(max(quad[:, 0]))),
           int(np.ceil(max(quad[:, 1]))))
    pad = (max(-pad[0] + border, 0), max(-pad[1] + border, 0), max(pad[2] - img.size[0] + border, 0),
           max(pad[3] - img.size[1] + border, 0))
    info["pad"] = None
    if enable_padding and max(pad) > border - 4:
        pad = np.maximum(pad, int(np.rint(qsize * 0.3)))
        # e4e ran on numpy 1, where float32_array / numpy_int_scalar stays float32; numpy 2 would
        # promote the mask to float64. Plain Python ints keep the numpy-1 (float32) arithmetic
        # under both.
        pad = [int(p) for p in pad]
        img = np.pad(np.float32(img), ((pad[1], pad[3]), (pad[0], pad[2]), (0, 0)), 'reflect')
        h, w, _ = img.shape
        y, x, _ = np.ogrid[:h, :w, :1]
        mask = np.maximum(1.0 - np.minimum(np.float32(x) / pad[0], np.float32(w - 1 - x) / pad[2]),
                          1.0 - np.minimum(np.float32(y) / pad[1], np.float32(h - 1 - y) / pad[3]))
        blur = qsize * 0.02
        img += (scipy.ndimage.gaussian_filter(img, [blur, blur, 0]) - img) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
        img += (np.median(img, axis=(0, 1)) - img) * np.clip(mask, 0.0, 1.0)
        img = PIL.Image.fromarray(np.uint8(np.clip(np.rint(img), 0, 255)), 'RGB')
        quad += pad[:2]
        info["pad"] = list(pad)

    # Transform.
    info["quad_transform"] = quad.tolist()
    img = img.transform((transform_size, transform_size), PIL.Image.QUAD, (quad + 0.5).flatten(),
                        PIL.Image.BILINEAR)
    if output_size < transform_size:
        img = img.resize((output_size, output_size), PIL.Image.LANCZOS)
    return img, info


def zoom_case(img, lm):
    x0, y0, x1, y1 = ZOOM_WINDOW
    k = ZOOM_FACTOR
    window = img.crop(ZOOM_WINDOW)
    big = window.resize(((x1 - x0) * k, (y1 - y0) * k), PIL.Image.NEAREST)
    # Integer landmarks land on the centre of their enlarged pixel block (still integers for odd k).
    lm2 = [[(x - x0) * k + (k - 1) // 2, (y - y0) * k + (k - 1) // 2] for x, y in lm]
    return big, lm2


def rotated_case(img, lm):
    rot = img.rotate(ROTATE_DEGREES, resample=PIL.Image.BICUBIC, expand=True)
    # Pillow rotates counter-clockwise about the image centre, then expands about the new centre.
    w, h = img.size
    W, H = rot.size
    a = math.radians(ROTATE_DEGREES)
    cx, cy, Cx, Cy = w / 2.0, h / 2.0, W / 2.0, H / 2.0
    lm2 = []
    for x, y in lm:
        # Landmark = pixel centre (x+0.5, y+0.5) in continuous coordinates.
        dx, dy = x + 0.5 - cx, y + 0.5 - cy
        rx = math.cos(a) * dx + math.sin(a) * dy
        ry = -math.sin(a) * dx + math.cos(a) * dy
        lm2.append([rx + Cx - 0.5, ry + Cy - 0.5])
    return rot, lm2


def main():
    with open(os.path.join(FIX, "face_landmarks.json")) as f:
        lm = json.load(f)["landmarks"]
    face = PIL.Image.open(os.path.join(FIX, "input_face.png")).convert("RGB")

    zoom, lm_zoom = zoom_case(face, lm)
    rot, lm_rot = rotated_case(face, lm)
    rot.save(os.path.join(FIX, "rotated_input.png"))
    with open(os.path.join(FIX, "rotated_landmarks.json"), "w") as f:
        json.dump({"image": "rotated_input.png",
                   "source": "face_landmarks.json rotated by %g degrees about the centre (tools/align_reference.py)"
                             % ROTATE_DEGREES,
                   "landmarks": lm_rot}, f)

    expected = {"zoom": {"window": list(ZOOM_WINDOW), "factor": ZOOM_FACTOR}}
    for name, image, points in [("face", face, lm), ("zoom", zoom, lm_zoom), ("rotated", rot, lm_rot)]:
        out, info = align_face(image, points)
        out.save(os.path.join(FIX, name + "_aligned.png"))
        info["input_size"] = list(image.size)
        expected.setdefault(name, {}).update(info)
        print(name, image.size, "shrink", info["shrink"], "crop", info["crop"], "pad", info["pad"], file=sys.stderr)
    expected["versions"] = {"numpy": np.__version__, "Pillow": PIL.__version__, "scipy": scipy.__version__}
    with open(os.path.join(FIX, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
