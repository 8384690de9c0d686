import Imaging

/// A plain loss-curve picture: white background, grey axes box, the curve in blue, scaled to the data.
/// Enough to see at a glance whether a run converged; the numbers are in losses.csv.
enum LossPlot {
    static func render(_ losses: [Float], width: Int = 640, height: Int = 360) throws -> RGBImage {
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            let i = (y * width + x) * 3
            pixels[i] = c.0; pixels[i + 1] = c.1; pixels[i + 2] = c.2
        }
        let left = 40, right = width - 20, top = 20, bottom = height - 30
        for x in left...right { set(x, top, (160, 160, 160)); set(x, bottom, (160, 160, 160)) }
        for y in top...bottom { set(left, y, (160, 160, 160)); set(right, y, (160, 160, 160)) }
        let finite = losses.filter { $0.isFinite }
        if finite.count >= 1 {
            var lo = finite.min()!, hi = finite.max()!
            if hi - lo < 1e-6 { lo -= 0.5; hi += 0.5 }
            func point(_ i: Int) -> (Int, Int) {
                let fx = losses.count > 1 ? Float(i) / Float(losses.count - 1) : 0.5
                let fy = (losses[i] - lo) / (hi - lo)
                return (left + Int(fx * Float(right - left)), bottom - Int(fy * Float(bottom - top)))
            }
            var previous: (Int, Int)?
            for i in losses.indices where losses[i].isFinite {
                let p = point(i)
                if let q = previous {
                    let steps = max(abs(p.0 - q.0), abs(p.1 - q.1), 1)
                    for s in 0...steps {
                        let x = q.0 + (p.0 - q.0) * s / steps, y = q.1 + (p.1 - q.1) * s / steps
                        set(x, y, (30, 80, 200)); set(x, y + 1, (30, 80, 200))
                    }
                } else {
                    set(p.0, p.1, (30, 80, 200))
                }
                previous = p
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }
}
