/// CLIP's image-file preprocessing (OpenAI `clip._transform(n_px)`) without any tensor library:
/// Resize(n_px, BICUBIC) of the short side in the image's own mode (Pillow rules: RGBA and
/// grey+alpha premultiplied around the resize, palette images resized NEAREST), CenterCrop(n_px),
/// convert('RGB') (alpha dropped), ToTensor (v / 255), Normalize(mean, std). Bit-exact against
/// Pillow 13 + torchvision for 8-bit PNG/JPEG (see ImagingTests.CLIPPreprocessTests).
/// Not exact: 16-bit PNG (Pillow keeps I;16) and CMYK JPEG (Pillow resizes in CMYK).
/// CLIP's mean and std live with the model (`Models.CLIPNormalization`); callers pass them in.
public enum CLIPPreprocess {
    /// torchvision Resize(int) size rule: short side -> size, long side int(size * long / short).
    public static func resizedSize(width: Int, height: Int, shortSide size: Int) -> (width: Int, height: Int) {
        if width <= height {
            return (size, Int(Double(size * height) / Double(width)))
        }
        return (Int(Double(size * width) / Double(height)), size)
    }
}

/// Float CHW values with their shape ([3, n, n] for CLIP).
public struct FloatImage: Sendable, Equatable {
    public var values: [Float]
    public var shape: [Int]
}

/// The uint8 RGB image that ToTensor receives: resize short side + center crop, then RGB.
/// EXIF orientation is not applied by default, as PIL.Image.open does not apply it.
public func clipResizeAndCrop(bytes: [UInt8], name: String = "<memory>", size: Int = 224,
                              options: DecodeOptions = DecodeOptions(applyEXIFOrientation: false)) throws -> RGBImage {
    guard size > 0 else { throw ImagingError.invalidArgument("CLIP input size \(size) must be positive") }
    var d = try decodePixels(bytes, name: name, options: options)
    let (w, h) = CLIPPreprocess.resizedSize(width: d.width, height: d.height, shortSide: size)
    guard w > 0, h > 0 else { throw ImagingError.unsupported(file: name, detail: "image \(d.width)x\(d.height) is too thin to resize to \(size)") }
    let filter: ResampleFilter = d.kind == .palette ? .nearest : .bicubic
    if d.channels == 4 && filter != .nearest && (w != d.width || h != d.height) {
        PILResample.premultiply(&d.pixels)
        d.pixels = PILResample.resize(d.pixels, channels: 4, width: d.width, height: d.height, outWidth: w, outHeight: h, filter: filter)
        PILResample.unpremultiply(&d.pixels)
    } else {
        d.pixels = PILResample.resize(d.pixels, channels: d.channels, width: d.width, height: d.height, outWidth: w, outHeight: h,
                                      filter: filter)
    }
    d.pixels = centerCropPixels(d.pixels, channels: d.channels, width: w, height: h, cropWidth: size, cropHeight: size)
    d.width = size
    d.height = size
    return d.rgb()
}

public func clipResizeAndCrop(path: String, size: Int = 224,
                              options: DecodeOptions = DecodeOptions(applyEXIFOrientation: false)) throws -> RGBImage {
    try clipResizeAndCrop(bytes: FileIO.read(path), name: path, size: size, options: options)
}

/// CLIP's full preprocessing of an image file: float32 [3, size, size], normalized with CLIP's `mean` and `std`
/// (`CLIPNormalization` in Models), computed in float32 in torchvision's order ((v / 255 - mean) / std).
public func clipPreprocessImageFile(path: String, size: Int = 224, mean: [Float], std: [Float],
                                    options: DecodeOptions = DecodeOptions(applyEXIFOrientation: false)) throws -> FloatImage {
    let rgb = try clipResizeAndCrop(path: path, size: size, options: options)
    return toNormalizedCHW(rgb, mean: mean, std: std)
}

/// ToTensor + Normalize: CHW float32, (v / 255 - mean[c]) / std[c].
public func toNormalizedCHW(_ image: RGBImage, mean: [Float], std: [Float]) -> FloatImage {
    let n = image.width * image.height
    var values = [Float](repeating: 0, count: 3 * n)
    for c in 0..<3 {
        let m = mean[c], s = std[c]
        for i in 0..<n {
            let v = Float(image.pixels[3 * i + c]) / 255
            values[c * n + i] = (v - m) / s
        }
    }
    return FloatImage(values: values, shape: [3, image.height, image.width])
}

/// Encoder input as the e4e/pSp/ReStyle inference scripts build it: Image.open(path).convert('RGB'),
/// Resize((size, size)) (Pillow BILINEAR), ToTensor, Normalize(0.5, 0.5) -> [-1, 1], CHW.
/// `centerCropSquare` first crops the largest centred square (the `--align center` option).
/// EXIF orientation is applied (photos from phones), unlike the original scripts.
public func encoderPreprocessImageFile(path: String, size: Int = 256, centerCropSquare: Bool = false,
                                       options: DecodeOptions = DecodeOptions()) throws -> FloatImage {
    var image = try loadImage(path: path, options: options)
    if centerCropSquare {
        let side = min(image.width, image.height)
        image = try centerCrop(image, width: side, height: side)
    }
    image = try pilResize(image, width: size, height: size, filter: .bilinear)
    return toNormalizedCHW(image, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
}
