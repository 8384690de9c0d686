#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The FFHQ "pad" step: when the oriented quad leaves the photo, the photo is mirrored outwards
/// (numpy `np.pad(..., 'reflect')`), the mirrored band is blurred progressively towards the
/// outside (scipy `gaussian_filter`, sigma = 0.02 qsize) and faded to the per-channel median.
/// Done in float32 like the reference (numpy 1, where e4e ran), with scipy's double-precision
/// filter arithmetic, so the uint8 result matches to the level except at rare rounding ties.
enum FFHQPadding {
    /// numpy 'reflect' (mirror about the edge pixel, which is not repeated): d c b | a b c d | c b a.
    @inline(__always)
    static func reflectNoEdge(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        let period = 2 * (n - 1)
        var j = i % period
        if j < 0 { j += period }
        return j < n ? j : period - j
    }

    /// scipy.ndimage 'reflect' (mirror about the pixel border, edge repeated): b a | a b c | c b.
    @inline(__always)
    static func reflectWithEdge(_ i: Int, _ n: Int) -> Int {
        let period = 2 * n
        var j = i % period
        if j < 0 { j += period }
        return j < n ? j : period - 1 - j
    }

    /// numpy's pairwise float64 sum (what `phi_x.sum()` computes), so the kernel normalisation
    /// rounds like scipy's.
    static func pairwiseSum(_ a: UnsafeBufferPointer<Double>) -> Double {
        let n = a.count
        if n < 8 {
            var s = 0.0
            for v in a { s += v }
            return s
        } else if n <= 128 {
            var r = [Double](a[0..<8])
            var i = 8
            while i < n - n % 8 {
                for j in 0..<8 { r[j] += a[i + j] }
                i += 8
            }
            var res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n {
                res += a[i]
                i += 1
            }
            return res
        } else {
            var n2 = n / 2
            n2 -= n2 % 8
            return pairwiseSum(UnsafeBufferPointer(rebasing: a[0..<n2]))
                + pairwiseSum(UnsafeBufferPointer(rebasing: a[n2..<n]))
        }
    }

    /// scipy's `_gaussian_kernel1d(sigma, 0, radius)` with radius = int(4 sigma + 0.5).
    static func gaussianKernel(sigma: Double) -> [Double] {
        let radius = Int(4.0 * sigma + 0.5)
        let sigma2 = sigma * sigma
        let c = -0.5 / sigma2
        var phi = (-radius...radius).map { x in exp(c * Double(x * x)) }
        let sum = phi.withUnsafeBufferPointer { pairwiseSum($0) }
        for i in phi.indices { phi[i] = phi[i] / sum }
        return phi
    }

    /// scipy `gaussian_filter1d` along one axis of an (h, w, 3) float32 array, 'reflect' mode,
    /// using the symmetric-kernel loop of NI_Correlate1D (centre tap first, then pairs) in double.
    static func gaussian1D(_ data: [Float], h: Int, w: Int, alongRows: Bool, kernel: [Double]) -> [Float] {
        let radius = kernel.count / 2
        let length = alongRows ? h : w      // samples on one line
        let lines = alongRows ? w * 3 : h * 3
        var out = [Float](repeating: 0, count: data.count)
        var line = [Double](repeating: 0, count: length + 2 * radius)
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                kernel.withUnsafeBufferPointer { k in
                    line.withUnsafeMutableBufferPointer { buf in
                        let fw = k.baseAddress! + radius
                        for l in 0..<lines {
                            // Element i of line l lives at base + i * step.
                            let base: Int, step: Int
                            if alongRows {
                                base = l               // (x, c) fixed, walk y
                                step = w * 3
                            } else {
                                base = (l / 3) * w * 3 + l % 3   // (y, c) fixed, walk x
                                step = 3
                            }
                            for i in 0..<(length + 2 * radius) {
                                buf[i] = Double(src[base + reflectWithEdge(i - radius, length) * step])
                            }
                            let b = buf.baseAddress! + radius
                            for i in 0..<length {
                                let il = b + i
                                var acc = il[0] * fw[0]
                                var jj = -radius
                                while jj < 0 {
                                    acc += (il[jj] + il[-jj]) * fw[jj]
                                    jj += 1
                                }
                                dst[base + i * step] = Float(acc)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// numpy `median` of one channel (mean of the two middle values, in float32, when even).
    static func median(_ data: [Float], channel: Int) -> Float {
        var v = [Float]()
        v.reserveCapacity(data.count / 3)
        var i = channel
        while i < data.count {
            v.append(data[i])
            i += 3
        }
        v.sort()
        let n = v.count
        if n % 2 == 1 { return v[n / 2] }
        return (v[n / 2 - 1] + v[n / 2]) / 2
    }

    /// Pads `image` by (left, top, right, bottom) and blends the band as e4e does.
    static func apply(_ image: RGBImage, left: Int, top: Int, right: Int, bottom: Int, qsize: Double) -> RGBImage {
        let w0 = image.width, h0 = image.height
        let w = w0 + left + right, h = h0 + top + bottom
        var img = [Float](repeating: 0, count: w * h * 3)
        image.pixels.withUnsafeBufferPointer { src in
            img.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    let sy = reflectNoEdge(y - top, h0)
                    for x in 0..<w {
                        let sx = reflectNoEdge(x - left, w0)
                        let s = (sy * w0 + sx) * 3, d = (y * w + x) * 3
                        dst[d] = Float(src[s])
                        dst[d + 1] = Float(src[s + 1])
                        dst[d + 2] = Float(src[s + 2])
                    }
                }
            }
        }

        // mask = max(1 - min(x/pad0, (w-1-x)/pad2), 1 - min(y/pad1, (h-1-y)/pad3)), float32.
        let fl = Float(left), ft = Float(top), fr = Float(right), fb = Float(bottom)
        var mask = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            let my: Float = 1.0 - min(Float(y) / ft, Float(h - 1 - y) / fb)
            for x in 0..<w {
                let mx: Float = 1.0 - min(Float(x) / fl, Float(w - 1 - x) / fr)
                mask[y * w + x] = max(mx, my)
            }
        }

        // Blur: gaussian_filter(img, [blur, blur, 0]) runs axis 0 (rows) then axis 1 (columns),
        // storing float32 in between.
        let kernel = gaussianKernel(sigma: qsize * 0.02)
        let blurred = gaussian1D(gaussian1D(img, h: h, w: w, alongRows: true, kernel: kernel),
                                 h: h, w: w, alongRows: false, kernel: kernel)
        for p in 0..<(w * h) {
            var m: Float = mask[p] * 3.0 + 1.0
            m = min(max(m, 0), 1)
            for c in 0..<3 {
                let i = 3 * p + c
                let d: Float = blurred[i] - img[i]
                img[i] = img[i] + d * m
            }
        }

        let med = (0..<3).map { median(img, channel: $0) }
        for p in 0..<(w * h) {
            let m = min(max(mask[p], 0), 1)
            for c in 0..<3 {
                let i = 3 * p + c
                let d: Float = med[c] - img[i]
                img[i] = img[i] + d * m
            }
        }

        var out = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<out.count {
            let r = img[i].rounded(.toNearestOrEven)
            out[i] = UInt8(min(max(r, 0), 255))
        }
        return RGBImage(uncheckedWidth: w, height: h, pixels: out)
    }
}
