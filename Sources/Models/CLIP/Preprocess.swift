import Engine

/// StyleGAN-NADA's differentiable CLIP preprocessing of generator outputs (ZSSGAN/criteria/clip_loss.py):
/// `Normalize(mean=-1, std=2)` (i.e. [-1, 1] -> [0, 1]) followed by CLIP's own `Resize(n_px, BICUBIC)`,
/// `CenterCrop(n_px)` and `Normalize(CLIP mean, std)`, with CLIP's PIL-only RGB conversion and ToTensor
/// stages dropped. Everything runs on float tensors with no clamping, so gradients reach the generator.
///
/// The resize is torchvision's tensor resize, i.e. PyTorch `F.interpolate(mode='bicubic',
/// align_corners=False)`. torchvision 0.8.2 (the version NADA pinned) did not antialias tensors
/// (`antialias: false`, cubic A = -0.75); torchvision >= 0.17 antialiases by default (`antialias: true`,
/// PIL-style widened kernel, A = -0.5). The two differ a lot on the 1024 -> 224 downscale.

/// CLIP's normalisation constants (openai/CLIP `_transform`), the one copy: image-file preprocessing in Imaging
/// takes them as arguments.
public enum CLIPNormalization {
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]
}

/// images [B, 3, H, W] in [-1, 1] -> [B, 3, resolution, resolution] CLIP input, differentiable w.r.t. images.
public func clipPreprocessGenerated(_ images: Tensor, resolution: Int, antialias: Bool = true) -> Tensor {
    precondition(images.rank == 4 && images.shape[1] == 3,
                 "clipPreprocessGenerated: expected images [B, 3, H, W], got \(images.shape)")
    precondition(resolution > 0, "clipPreprocessGenerated: resolution \(resolution) must be positive")
    let h = images.shape[2], w = images.shape[3]

    // Resize(n): the shorter side becomes n, the longer int(n * long / short); unchanged sizes are skipped.
    // NADA maps [-1, 1] -> [0, 1] before the resize; the resize is linear with weights summing to 1, so we
    // apply that affine map after resize and crop instead (equal up to float rounding, ~1e-7), which saves
    // two full-resolution passes forward and backward on 1024x1024 generator outputs.
    var x = images
    let (newH, newW) = w <= h ? (resolution * h / w, resolution) : (resolution, resolution * w / h)
    if newH != h || newW != w {
        x = x.resized(height: newH, width: newW, mode: .bicubic, antialias: antialias)
    }

    // CenterCrop(n): offsets round((size - n) / 2) with Python's round-half-to-even.
    let top = Int((Double(newH - resolution) / 2).rounded(.toNearestOrEven))
    let left = Int((Double(newW - resolution) / 2).rounded(.toNearestOrEven))
    if newH != resolution { x = x.slice(axis: 2, top..<(top + resolution)) }
    if newW != resolution { x = x.slice(axis: 3, left..<(left + resolution)) }

    // torchvision Normalize(mean=-1, std=2): (x - (-1)) / 2.
    x = (x + 1) / 2

    // CLIP Normalize: (x - mean) / std per channel (a division, as torchvision does).
    let mean = Tensor(shape: [3, 1, 1], values: CLIPNormalization.mean)
    let std = Tensor(shape: [3, 1, 1], values: CLIPNormalization.std)
    return (x - mean) / std
}
