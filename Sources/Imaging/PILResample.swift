#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Pillow's `Image.resize` for 8-bit images, reproduced exactly (Pillow src/libImaging/Resample.c):
/// a separable convolution whose kernel widens by the downscale factor (antialiasing), weights
/// rounded to 22-bit fixed point, a horizontal pass stored as uint8, then a vertical pass.
/// CLIP's image-file preprocessing depends on these exact integers.
public enum ResampleFilter: Sendable {
    /// Pillow NEAREST: source index floor((i + 0.5) * scale), accumulated as Pillow does.
    case nearest
    /// Pillow BILINEAR: triangle kernel, support 1.
    case bilinear
    /// Pillow BICUBIC: cubic kernel with a = -0.5, support 2.
    case bicubic
    /// Pillow LANCZOS (ANTIALIAS before Pillow 10): truncated sinc, a = 3; the FFHQ alignment shrinks with it.
    case lanczos

    var support: Double {
        switch self {
        case .nearest: return 0
        case .bilinear: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    func weight(_ x: Double) -> Double {
        if self == .lanczos {
            // Pillow's lanczos_filter: the window is [-3, 3), not symmetric at its ends.
            guard -3.0 <= x && x < 3.0 else { return 0 }
            return Self.sinc(x) * Self.sinc(x / 3)
        }
        let x = abs(x)
        switch self {
        case .nearest: return 0
        case .bilinear: return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .lanczos: return 0   // handled above
        }
    }

    static func sinc(_ x: Double) -> Double {
        if x == 0.0 { return 1.0 }
        let px = x * Double.pi
        return sin(px) / px
    }
}

/// Pillow resize of an RGB image to width x height.
public func pilResize(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter = .bicubic) throws -> RGBImage {
    guard width > 0, height > 0 else { throw ImagingError.invalidArgument("resize target \(width)x\(height) must be positive") }
    let out = PILResample.resize(image.pixels, channels: 3, width: image.width, height: image.height,
                                 outWidth: width, outHeight: height, filter: filter)
    return RGBImage(uncheckedWidth: width, height: height, pixels: out)
}

enum PILResample {
    static let precisionBits = 22  // 32 - 8 - 2, as Pillow

    /// Fixed-point taps per output index: first source index, tap count, and `ksize` weights each.
    struct Taps {
        var ksize: Int
        var start: [Int]
        var count: [Int]
        var weights: [Int32]
    }

    static func taps(inSize: Int, outSize: Int, filter: ResampleFilter) -> Taps {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var taps = Taps(ksize: ksize, start: [Int](repeating: 0, count: outSize), count: [Int](repeating: 0, count: outSize),
                        weights: [Int32](repeating: 0, count: outSize * ksize))
        var k = [Double](repeating: 0, count: ksize)
        let ss = 1 / filterScale
        let one = Double(1 << precisionBits)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            // Pillow rounds the window ends with (int)(v + 0.5), i.e. truncation toward zero.
            let xmin = max(0, Int(center - support + 0.5))
            let xmax = min(inSize, Int(center + support + 0.5)) - xmin
            var total = 0.0
            for x in 0..<max(0, xmax) {
                k[x] = filter.weight((Double(x + xmin) - center + 0.5) * ss)
                total += k[x]
            }
            for x in 0..<max(0, xmax) {
                let w = total != 0 ? k[x] / total : k[x]
                taps.weights[xx * ksize + x] = Int32(w < 0 ? (-0.5 + w * one) : (0.5 + w * one))
            }
            taps.start[xx] = xmin
            taps.count[xx] = max(0, xmax)
        }
        return taps
    }

    @inline(__always) static func clip8(_ v: Int) -> UInt8 {
        if v >= (1 << precisionBits) << 8 { return 255 }
        if v <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: v >> precisionBits)
    }

    /// Resizes interleaved 8-bit pixels with `channels` per pixel, all channels independently.
    static func resize(_ pixels: [UInt8], channels c: Int, width: Int, height: Int, outWidth: Int, outHeight: Int,
                       filter: ResampleFilter) -> [UInt8] {
        if width == outWidth && height == outHeight { return pixels }
        if filter == .nearest { return nearest(pixels, channels: c, width: width, height: height, outWidth: outWidth, outHeight: outHeight) }
        let needH = outWidth != width, needV = outHeight != height
        let hTaps = taps(inSize: width, outSize: outWidth, filter: filter)
        var vTaps = taps(inSize: height, outSize: outHeight, filter: filter)
        var current = pixels
        var curWidth = width, curHeight = height
        if needH {
            // Only the rows the vertical pass reads are resampled horizontally.
            var first = 0, last = height
            if needV {
                first = vTaps.start[0]
                last = vTaps.start[outHeight - 1] + vTaps.count[outHeight - 1]
                for i in 0..<outHeight { vTaps.start[i] -= first }
            }
            let rows = last - first
            var out = [UInt8](repeating: 0, count: outWidth * rows * c)
            current.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    hTaps.weights.withUnsafeBufferPointer { kk in
                        for y in 0..<rows {
                            let srcRow = src.baseAddress! + (y + first) * width * c
                            let dstRow = dst.baseAddress! + y * outWidth * c
                            for xx in 0..<outWidth {
                                let xmin = hTaps.start[xx], n = hTaps.count[xx]
                                let k = kk.baseAddress! + xx * hTaps.ksize
                                for ch in 0..<c {
                                    var ss = 1 << (precisionBits - 1)
                                    for x in 0..<n { ss += Int(srcRow[(xmin + x) * c + ch]) * Int(k[x]) }
                                    dstRow[xx * c + ch] = clip8(ss)
                                }
                            }
                        }
                    }
                }
            }
            current = out
            curWidth = outWidth
            curHeight = rows
        }
        if needV {
            var out = [UInt8](repeating: 0, count: curWidth * outHeight * c)
            let stride = curWidth * c
            current.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    vTaps.weights.withUnsafeBufferPointer { kk in
                        for yy in 0..<outHeight {
                            let ymin = vTaps.start[yy], n = vTaps.count[yy]
                            let k = kk.baseAddress! + yy * vTaps.ksize
                            let dstRow = dst.baseAddress! + yy * stride
                            for i in 0..<stride {
                                var ss = 1 << (precisionBits - 1)
                                for y in 0..<n { ss += Int(src[(ymin + y) * stride + i]) * Int(k[y]) }
                                dstRow[i] = clip8(ss)
                            }
                        }
                    }
                }
            }
            current = out
            curHeight = outHeight
        }
        _ = curHeight
        return current
    }

    /// Pillow NEAREST (ImagingScaleAffine): source coordinate starts at scale/2 and is advanced by
    /// repeated addition, then truncated.
    static func nearest(_ pixels: [UInt8], channels c: Int, width: Int, height: Int, outWidth: Int, outHeight: Int) -> [UInt8] {
        func indices(_ inSize: Int, _ outSize: Int) -> [Int] {
            let scale = Double(inSize) / Double(outSize)
            var v = scale * 0.5
            var out = [Int]()
            for _ in 0..<outSize {
                out.append(min(inSize - 1, max(0, Int(v))))
                v += scale
            }
            return out
        }
        let xs = indices(width, outWidth), ys = indices(height, outHeight)
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * c)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                for ch in 0..<c { out[(y * outWidth + x) * c + ch] = pixels[(ys[y] * width + xs[x]) * c + ch] }
            }
        }
        return out
    }

    /// Pillow RGBA -> RGBa (premultiplied): MULDIV255 rounding.
    static func premultiply(_ p: inout [UInt8]) {
        for i in stride(from: 0, to: p.count, by: 4) {
            let a = Int(p[i + 3])
            for k in 0..<3 {
                let t = Int(p[i + k]) * a + 128
                p[i + k] = UInt8(((t >> 8) + t) >> 8)
            }
        }
    }

    /// Pillow RGBa -> RGBA: truncating division, alpha 0 and 255 left alone.
    static func unpremultiply(_ p: inout [UInt8]) {
        for i in stride(from: 0, to: p.count, by: 4) {
            let a = Int(p[i + 3])
            if a == 0 || a == 255 { continue }
            for k in 0..<3 { p[i + k] = UInt8(min(255, 255 * Int(p[i + k]) / a)) }
        }
    }
}
