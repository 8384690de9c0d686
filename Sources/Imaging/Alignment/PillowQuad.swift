/// Pillow's `img.transform((T, T), QUAD, quad, BILINEAR)` for 8-bit RGB, reproduced to the bit.
/// The four corners (NW, SW, SE, NE) define a bilinear map from the output square to the input;
/// Pillow evaluates it at output pixel centres (+0.5), samples with its bilinear filter in
/// double (pixel centres at +0.5, edge columns clamped) and stores by truncation, not rounding.
enum PillowQuad {
    static func transform(_ image: RGBImage, size: Int, nw: FacePoint, sw: FacePoint, se: FacePoint,
                          ne: FacePoint) -> RGBImage {
        // Coefficients exactly as Image.__transformer builds them for QUAD.
        let As = 1.0 / Double(size), At = 1.0 / Double(size)
        let a0 = nw.x, a4 = nw.y
        let a1 = (ne.x - a0) * As, a2 = (sw.x - a0) * At, a3 = (se.x - sw.x - ne.x + a0) * As * At
        let a5 = (ne.y - a4) * As, a6 = (sw.y - a4) * At, a7 = (se.y - sw.y - ne.y + a4) * As * At

        let inW = image.width, inH = image.height
        let wD = Double(inW), hD = Double(inH)
        var out = [UInt8](repeating: 0, count: size * size * 3)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for v in 0..<size {
                    let yo = Double(v) + 0.5
                    for u in 0..<size {
                        let xo = Double(u) + 0.5
                        var xin = a0 + a1 * xo + a2 * yo + a3 * xo * yo
                        var yin = a4 + a5 * xo + a6 * yo + a7 * xo * yo
                        // Outside the input: left black (Pillow's fill).
                        if xin < 0.0 || xin >= wD || yin < 0.0 || yin >= hD { continue }
                        xin -= 0.5
                        yin -= 0.5
                        let x = xin < 0 ? Int(xin.rounded(.down)) : Int(xin)
                        let y = yin < 0 ? Int(yin.rounded(.down)) : Int(yin)
                        let dx = xin - Double(x), dy = yin - Double(y)
                        let x0 = min(max(x, 0), inW - 1) * 3
                        let x1 = min(max(x + 1, 0), inW - 1) * 3
                        let row0 = src.baseAddress! + min(max(y, 0), inH - 1) * inW * 3
                        let hasRow1 = y + 1 >= 0 && y + 1 < inH
                        let row1 = hasRow1 ? src.baseAddress! + (y + 1) * inW * 3 : row0
                        let o = (v * size + u) * 3
                        for b in 0..<3 {
                            let p00 = Int(row0[x0 + b]), p01 = Int(row0[x1 + b])
                            let v1 = Double(p00) + Double(p01 - p00) * dx
                            var v2 = v1
                            if hasRow1 {
                                let p10 = Int(row1[x0 + b]), p11 = Int(row1[x1 + b])
                                v2 = Double(p10) + Double(p11 - p10) * dx
                            }
                            let value = v1 + (v2 - v1) * dy
                            dst[o + b] = UInt8(value)  // truncating, like Pillow's (UINT8) cast
                        }
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: size, height: size, pixels: out)
    }
}
