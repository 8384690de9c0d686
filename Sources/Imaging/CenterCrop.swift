/// torchvision's CenterCrop: offsets round((H - th) / 2) and round((W - tw) / 2) with Python's
/// round-half-to-even; an image smaller than the crop is first padded with zeros the way
/// torchvision pads ((d // 2) before, ((d + 1) // 2) after).
public func centerCrop(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
    guard width > 0, height > 0 else { throw ImagingError.invalidArgument("crop size \(width)x\(height) must be positive") }
    let out = centerCropPixels(image.pixels, channels: 3, width: image.width, height: image.height,
                               cropWidth: width, cropHeight: height)
    return RGBImage(uncheckedWidth: width, height: height, pixels: out)
}

/// Crop offset as torchvision computes it.
func centerCropOffset(_ size: Int, _ crop: Int) -> Int {
    Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
}

func centerCropPixels(_ pixels: [UInt8], channels c: Int, width: Int, height: Int, cropWidth: Int, cropHeight: Int) -> [UInt8] {
    // Pad (only where the crop is larger), then every offset is >= 0.
    let padLeft = cropWidth > width ? (cropWidth - width) / 2 : 0
    let padTop = cropHeight > height ? (cropHeight - height) / 2 : 0
    let padRight = cropWidth > width ? (cropWidth - width + 1) / 2 : 0
    let padBottom = cropHeight > height ? (cropHeight - height + 1) / 2 : 0
    let pw = width + padLeft + padRight, ph = height + padTop + padBottom
    let left = centerCropOffset(pw, cropWidth), top = centerCropOffset(ph, cropHeight)
    var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * c)
    for y in 0..<cropHeight {
        let sy = y + top - padTop
        guard sy >= 0, sy < height else { continue }
        for x in 0..<cropWidth {
            let sx = x + left - padLeft
            guard sx >= 0, sx < width else { continue }
            for k in 0..<c { out[(y * cropWidth + x) * c + k] = pixels[(sy * width + sx) * c + k] }
        }
    }
    return out
}
