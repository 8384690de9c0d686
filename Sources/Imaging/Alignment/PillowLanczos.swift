#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Pillow's `Image.resize(size, LANCZOS)` for 8-bit RGB, reproduced to the bit: the FFHQ
/// alignment shrinks large photos with it (e4e calls it ANTIALIAS, the pre-Pillow-10 name).
/// Pillow resamples separably, horizontal pass first, with the filter weights turned into
/// 22-bit fixed point and the intermediate image stored as uint8; each of these changes the
/// result by a level here and there, so all of them are kept.
enum PillowLanczos {
    /// Pillow's PRECISION_BITS for 8-bit images (32 - 8 - 2).
    static let precisionBits = 22

    static func lanczos(_ x: Double) -> Double {
        // Truncated sinc, a = 3 (Pillow's lanczos_filter / sinc_filter).
        guard -3.0 <= x && x < 3.0 else { return 0 }
        return sinc(x) * sinc(x / 3)
    }

    static func sinc(_ x: Double) -> Double {
        if x == 0.0 { return 1.0 }
        let px = x * Double.pi
        return sin(px) / px
    }

    /// Filter taps for one axis (Pillow's precompute_coeffs + normalize_coeffs_8bpc):
    /// for output index i the taps are kk[i*ksize ..< i*ksize + count[i]] starting at input first[i].
    struct Coefficients {
        var ksize: Int
        var first: [Int]
        var count: [Int]
        var kk: [Int32]
    }

    static func coefficients(inSize: Int, outSize: Int) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterscale = max(scale, 1.0)
        let support = 3.0 * filterscale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var first = [Int](repeating: 0, count: outSize)
        var count = [Int](repeating: 0, count: outSize)
        var kk = [Int32](repeating: 0, count: outSize * ksize)
        var k = [Double](repeating: 0, count: ksize)
        let one = Double(1 << precisionBits)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let ss = 1.0 / filterscale
            // C casts truncate toward zero; the clamps make the sign moot.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var ww = 0.0
            for x in 0..<xmax {
                let w = lanczos((Double(x + xmin) - center + 0.5) * ss)
                k[x] = w
                ww += w
            }
            for x in 0..<xmax {
                let w = ww != 0.0 ? k[x] / ww : k[x]
                kk[xx * ksize + x] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
            }
            first[xx] = xmin
            count[xx] = xmax
        }
        return Coefficients(ksize: ksize, first: first, count: count, kk: kk)
    }

    @inline(__always)
    static func clip8(_ v: Int) -> UInt8 {
        let s = v >> precisionBits
        return s < 0 ? 0 : (s > 255 ? 255 : UInt8(s))
    }

    /// Resizes the whole image to width x height with Pillow's LANCZOS.
    static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var current = image
        if width != image.width {
            current = horizontal(current, width: width)
        }
        if height != image.height {
            current = vertical(current, height: height)
        }
        return current
    }

    static func horizontal(_ image: RGBImage, width outW: Int) -> RGBImage {
        let c = coefficients(inSize: image.width, outSize: outW)
        let inW = image.width, h = image.height
        var out = [UInt8](repeating: 0, count: outW * h * 3)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                c.kk.withUnsafeBufferPointer { kk in
                    for y in 0..<h {
                        let row = src.baseAddress! + y * inW * 3
                        let orow = dst.baseAddress! + y * outW * 3
                        for xx in 0..<outW {
                            let k = kk.baseAddress! + xx * c.ksize
                            let p = row + c.first[xx] * 3
                            var s0 = 1 << (precisionBits - 1), s1 = s0, s2 = s0
                            for x in 0..<c.count[xx] {
                                let w = Int(k[x])
                                s0 += Int(p[3 * x]) * w
                                s1 += Int(p[3 * x + 1]) * w
                                s2 += Int(p[3 * x + 2]) * w
                            }
                            orow[3 * xx] = clip8(s0)
                            orow[3 * xx + 1] = clip8(s1)
                            orow[3 * xx + 2] = clip8(s2)
                        }
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: outW, height: h, pixels: out)
    }

    static func vertical(_ image: RGBImage, height outH: Int) -> RGBImage {
        let c = coefficients(inSize: image.height, outSize: outH)
        let w = image.width
        let stride = w * 3
        var out = [UInt8](repeating: 0, count: w * outH * 3)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                c.kk.withUnsafeBufferPointer { kk in
                    for yy in 0..<outH {
                        let k = kk.baseAddress! + yy * c.ksize
                        let top = src.baseAddress! + c.first[yy] * stride
                        let orow = dst.baseAddress! + yy * stride
                        let n = c.count[yy]
                        for i in 0..<stride {
                            var s = 1 << (precisionBits - 1)
                            for y in 0..<n {
                                s += Int(top[y * stride + i]) * Int(k[y])
                            }
                            orow[i] = clip8(s)
                        }
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: w, height: outH, pixels: out)
    }
}
