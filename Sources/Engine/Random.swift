import Foundation

/// A small seeded generator (SplitMix64) so runs are reproducible across machines and thread counts.
public struct SeededRandom: RandomNumberGenerator {
    /// The whole generator state: save it to resume a run exactly where it stopped.
    public var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal by Box–Muller (Double inside, so tails are right).
    public mutating func nextNormal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Standard-normal values from `rng`, filled in row-major order.
    public static func randn(_ shape: [Int], using rng: inout SeededRandom, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor.empty(shape)
        for i in 0..<t.count { t.pointer[i] = rng.nextNormal() }
        t.requiresGrad = requiresGrad
        return t
    }

    public static func uniform(_ shape: [Int], in range: ClosedRange<Float>, using rng: inout SeededRandom) -> Tensor {
        let t = Tensor.empty(shape)
        for i in 0..<t.count { t.pointer[i] = range.lowerBound + (range.upperBound - range.lowerBound) * rng.nextUniform() }
        return t
    }
}
