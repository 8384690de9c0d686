import Engine
import Imaging

/// Conversions between 8-bit images and the [-1, 1] NCHW tensors the models use.
public enum ImageTensors {
    /// torchvision `ToTensor` + `Normalize(0.5, 0.5)`: float32((u8/255 − 0.5)/0.5), [1, 3, H, W].
    public static func tensor(from image: RGBImage) -> Tensor {
        let h = image.height, w = image.width, plane = h * w
        let t = Tensor.zeros([1, 3, h, w])
        let p = t.pointer
        image.pixels.withUnsafeBufferPointer { px in
            for i in 0..<plane {
                for c in 0..<3 { p[c * plane + i] = (Float(px[3 * i + c]) / 255 - 0.5) / 0.5 }
            }
        }
        return t
    }

    /// torchvision `save_image(normalize=True, range=(-1, 1))`: clamp to [-1, 1], (x+1)/2, ×255, round half up.
    /// `batchIndex` picks one image of [N, 3, H, W].
    public static func image(from t: Tensor, batchIndex: Int = 0) throws -> RGBImage {
        guard t.rank == 4, t.shape[1] == 3, batchIndex < t.shape[0] else {
            throw ShapeError("image conversion needs [N, 3, H, W] with N > \(batchIndex), got \(t.shape)")
        }
        let h = t.shape[2], w = t.shape[3], plane = h * w
        let base = t.pointer + batchIndex * 3 * plane
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for i in 0..<plane {
            for c in 0..<3 {
                let v = (min(max(base[c * plane + i], -1), 1) + 1) / 2
                pixels[3 * i + c] = UInt8(min(max(v * 255 + 0.5, 0), 255))
            }
        }
        return try RGBImage(width: w, height: h, pixels: pixels)
    }

    /// An aligned photo as the encoders see it (their official inference transform): PIL's bilinear
    /// `Resize((256, 256))` on the 8-bit image, then [-1, 1]: [1, 3, 256, 256].
    public static func encoderInput(_ aligned: RGBImage) throws -> Tensor {
        if aligned.width == 256 && aligned.height == 256 { return tensor(from: aligned) }
        return tensor(from: try pilResize(aligned, width: 256, height: 256, filter: .bilinear))
    }

    /// Side-by-side sheet of equally sized images (for `--compare`).
    public static func sheet(_ images: [RGBImage]) throws -> RGBImage {
        guard let first = images.first else { throw ShapeError("sheet: no images") }
        let h = first.height, totalW = images.reduce(0) { $0 + $1.width }
        guard images.allSatisfy({ $0.height == h }) else { throw ShapeError("sheet: images differ in height") }
        var pixels = [UInt8](repeating: 0, count: totalW * h * 3)
        var x0 = 0
        for img in images {
            for y in 0..<h {
                let dst = (y * totalW + x0) * 3, src = y * img.width * 3
                pixels.replaceSubrange(dst..<(dst + img.width * 3), with: img.pixels[src..<(src + img.width * 3)])
            }
            x0 += img.width
        }
        return try RGBImage(width: totalW, height: h, pixels: pixels)
    }
}
