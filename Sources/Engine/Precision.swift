import CBF16

/// The arithmetic of the large matrix products (`--precision`, issue 17): fp32, or bf16 inputs with fp32
/// accumulation on CPUs with AVX512-BF16 (`vdpbf16ps`, 2× the fp32 FMA rate on Zen 4 and Sapphire Rapids).
///
/// bf16 applies to the GEMMs only (`sgemm`, `sgemmSerial`: linear layers, attention, im2col convolutions and the
/// GEMM Winograd path's point-wise products); the fused Winograd kernels, elementwise ops, reductions, the optimiser
/// and every stored tensor stay fp32. Rounding an input to bf16 costs 2⁻⁹ of its value; the error does not grow with
/// the product's length (../shared/spec/bf16-on-this-cpu.md), and `PrecisionTests` bounds what it does to a
/// generator's image, to CLIP features and to a training step.
///
/// Winograd F(4×4, 3×3) amplifies that rounding: with its transformed tiles in bf16 a conv's worst output error is
/// ~30× a direct conv's (tools/winograd_bf16_error.py: 1.2e-1 against 3.8e-3 of the largest output). The GEMM
/// Winograd path's products (the wide layers) are bf16 all the same, and the image bound above holds with them
/// (`BF16ModelTests`: 2.8e-3); a bf16 copy of the fused few-channel kernel was tried and failed the training-parity
/// bound (update cosine 0.9876, 0.99 asked), so the fused kernels stay fp32.
public enum Precision: String, CaseIterable, Sendable {
    case fp32, bf16

    /// This process's precision: fp32 until `use(_:)` (the CLI, once, at start-up; tests around a body).
    nonisolated(unsafe) public private(set) static var current: Precision = .fp32

    /// Whether this CPU runs bf16 products (AVX512-BF16 and AVX512F, detected at run time).
    public static let cpuHasBF16: Bool = nada_cpu_has_avx512bf16() == 1

    /// Sets `current` and returns it: bf16 on a CPU without AVX512-BF16 falls back to fp32 (the caller says so).
    @discardableResult
    public static func use(_ precision: Precision) -> Precision {
        current = precision == .bf16 && !cpuHasBF16 ? .fp32 : precision
        return current
    }

    /// Runs `body` with `precision`, then restores the previous one (tests; not for concurrent use).
    public static func with<T>(_ precision: Precision, _ body: () throws -> T) rethrows -> T {
        let saved = current
        defer { current = saved }
        use(precision)
        return try body()
    }

    /// Whether an m×n×k product runs in bf16. Both inputs are rounded first ((mk + kn) values at ≈3.3 G/s per
    /// thread), which pays only when the product saves more: per thread sgemm ≈105 GFLOP/s against ≈210 in bf16
    /// (the spec's measurements), so bf16 wins when mnk/105 > (mk + kn)/3.3, i.e. mn/(m + n) > 32 whatever k is;
    /// 64 leaves room for the primitive's call overhead. Skinny products (a batch of a few W codes through a
    /// 512-wide layer) stay fp32.
    @inline(__always)
    static func bf16Pays(m: Int, n: Int, k: Int) -> Bool {
        current == .bf16 && (everyProduct || (k >= 16 && m * n >= 64 * (m + n)))
    }

    /// Tests only: bf16 for every product, so that the tiny reference models (whose products are all below the
    /// size rule) show what bf16 rounding does to a whole forward, backward and training step.
    nonisolated(unsafe) static var everyProduct = false
}
