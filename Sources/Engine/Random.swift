import Foundation

/// A small seeded generator (SplitMix64) so runs are reproducible across machines and thread counts.
public struct SeededRandom: RandomNumberGenerator {
    /// The whole generator state: save it to resume a run exactly where it stopped.
    public var state: UInt64
    public init(seed: UInt64) { state = seed &+ SeededRandom.increment }
    public init(state: UInt64) { self.state = state }

    /// SplitMix64's step: the state after k draws is the start plus k·increment, so any draw can be reached
    /// directly (`skipping(_:)`), which lets `Tensor.randn` fill chunks in parallel with the sequential values.
    static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The generator `draws` draws ahead of this one.
    func skipping(_ draws: Int) -> SeededRandom { SeededRandom(state: state &+ UInt64(draws) &* Self.increment) }

    public mutating func next() -> UInt64 {
        state &+= Self.increment
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
    /// Standard-normal values from `rng`, filled in row-major order: value i from draws 2i and 2i + 1, exactly as
    /// `rng.nextNormal()` called count times. Chunks run in parallel, each from its own jumped-ahead copy, so the
    /// values do not depend on the thread count. The log and cos of Box–Muller per value, one thread, were 4.3 % of
    /// the CPU samples of a k = 14 NADA iteration at 1024 (noise maps for batch 8; perf, session 11).
    public static func randn(_ shape: [Int], using rng: inout SeededRandom, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor.empty(shape)
        let start = rng, p = t.pointer
        parallelFor(t.count, minChunk: 1 << 15) { range in
            var local = start.skipping(2 * range.lowerBound)
            for i in range { p[i] = local.nextNormal() }
        }
        rng = start.skipping(2 * t.count)
        t.requiresGrad = requiresGrad
        return t
    }

    public static func uniform(_ shape: [Int], in range: ClosedRange<Float>, using rng: inout SeededRandom) -> Tensor {
        let t = Tensor.empty(shape)
        for i in 0..<t.count { t.pointer[i] = range.lowerBound + (range.upperBound - range.lowerBound) * rng.nextUniform() }
        return t
    }
}
