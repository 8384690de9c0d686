import CKernels

/// Which kernels the convolution ops run: one value, chosen once per process from the CPU's
/// capabilities (`ConvPlan.machine`), holding every threshold with the measurement behind it.
///
/// The ops (`conv2d`, `convTranspose2d`, `scaledConv2d`, `scaledConvTranspose2d`) take a plan parameter
/// that defaults to `.machine`, so model code says nothing about kernels; tests and benchmarks build
/// their own plan (e.g. `ConvPlan(winograd: false)`) and pass it instead of flipping process-wide
/// switches. Every per-call decision is one of the methods below, made from the call's shapes.
///
/// The thread count (`Threads.count`) is not part of the plan: it is the user's `--threads` setting,
/// and no result depends on it.
public struct ConvPlan: Equatable, Sendable {
    /// Which copy of the C kernels runs.
    public enum ISA: Equatable, Sendable {
        /// Built for AVX2+FMA: used only where the CPU has both (`ConvPlan.cpuHasAVX2`).
        case avx2
        /// The portable copy (SSE on x86-64); differs from the AVX2 one only in rounding (FMA).
        case generic
    }

    /// The kernel copy; `.avx2` is only ever stored where the CPU has AVX2 and FMA (the initialiser
    /// turns a request for it into `.generic` elsewhere), so the C side may trust it.
    public let isa: ISA

    /// Winograd F(4×4, 3×3) for 3×3 stride-1 convs and the polyphase Winograd scheme for the stride-2
    /// transposed 3×3 conv, where they pay (`usesWinograd`, `usesPolyphaseWinograd`); false: im2col + GEMM
    /// everywhere (the reference the Winograd paths are tested against).
    public var winograd: Bool

    /// Largest input or output channel count sent to the fused Winograd kernel (`FusedWinogradConv2d`);
    /// 0 sends everything to the GEMM Winograd path. Measured on 2 threads (AVX2, batch 1, forward / input
    /// gradient, fused vs GEMM Winograd): 32→32 1024² 167 / 261 ms vs 309 / 348; 64→64 512² 110 / 127 vs
    /// 199 / 218; 128→128 256² 97 / 109 vs 127 / 150; but 256→256 128² 167 / 161 vs 92 / 100: there the
    /// GEMMs' blocking wins.
    public var fusedWinogradMaxChannels: Int

    /// Largest input or output channel count sent to the fused polyphase kernel
    /// (`FusedPolyphaseConvTranspose2d`); 0: the GEMM polyphase path. Measured on 2 threads (AVX2, batch 1,
    /// forward wall ms, fused vs GEMM polyphase): 32→32 512² 78 vs 229; 64→32 512² 137 vs 357; 128→64 256²
    /// 130 vs 212; but 256→128 128² 167 vs 146 and 512→512 32² 280 vs 74. The input gradient follows the
    /// same limit (64→32 512², x and in-scale gradients: 395 vs 929 CPU ms).
    public var fusedPolyphaseMaxChannels: Int

    /// Floats of the transformed tiles (V and M) one block of the GEMM Winograd paths holds (16 MB).
    /// Large blocks matter for wide layers: every block streams all 36 transformed filter matrices (36 MB
    /// at 512→512) through the GEMMs, and OpenBLAS packs each of them once per call. Measured on 512→512
    /// at 64×64: 1 M floats (28 tiles) ran at 2.0× the sgemm rate, 4 M (113 tiles) at 2.7×; the
    /// 32-channel layers did not care. Tests lower it to exercise many blocks (8 tiles at least).
    public var winogradBlockBudget: Int

    /// Floats of the im2col column buffer of one band of output rows (16 MB): bounds the buffer for
    /// 1024×1024 maps. Tests lower it to exercise many bands (one row at least).
    public var im2colBandBudget: Int

    /// StyleGAN2's upsampling modulated convs with at most this many input channels run as phase filters
    /// (one stride-1 conv with 4·out channels, `transposedConvBlurPhases`) instead of the polyphase
    /// transposed conv + blur. The phase form does 144 instead of 81 products per input tile but skips the
    /// 2H+1 intermediate and the blur pass. With the GEMM-based Winograd it won at 64 channels (1024 batch 1
    /// forward 1.92 → 1.81 s); now that both forms have fused C kernels the polyphase one is as fast or
    /// faster (forward 1.49 / 1.52 s without phase filters vs 1.55 / 1.59 s with them at 64;
    /// forward+backward equal within noise), so it is 0 (off) by default. Kept, tested, for CPUs where
    /// the balance differs.
    public var phaseFilterMaxChannels: Int

    public init(isa: ISA = ConvPlan.machineISA, winograd: Bool = true, fusedWinogradMaxChannels: Int = 128,
                fusedPolyphaseMaxChannels: Int = 128, winogradBlockBudget: Int = 1 << 22, im2colBandBudget: Int = 1 << 22,
                phaseFilterMaxChannels: Int = 0) {
        self.isa = isa == .avx2 && ConvPlan.cpuHasAVX2 ? .avx2 : .generic
        self.winograd = winograd
        self.fusedWinogradMaxChannels = fusedWinogradMaxChannels
        self.fusedPolyphaseMaxChannels = fusedPolyphaseMaxChannels
        self.winogradBlockBudget = winogradBlockBudget
        self.im2colBandBudget = im2colBandBudget
        self.phaseFilterMaxChannels = phaseFilterMaxChannels
    }

    /// The plan of this process: the thresholds above, for this CPU. Chosen once, never changed.
    public static let machine = ConvPlan()

    /// Whether this CPU has AVX2 and FMA (and the AVX2 copy of the kernels was built: x86-64 only).
    public static let cpuHasAVX2: Bool = nada_cpu_has_avx2() == 1

    /// The kernel copy `machine` uses: AVX2+FMA where the CPU has it, unless the environment says
    /// `NADA_KERNELS=generic` (read once, at first use; documented in the man page).
    public static let machineISA: ISA = choose(cpuHasAVX2: cpuHasAVX2, kernelsVariable: getenvString("NADA_KERNELS"))

    /// The ISA rule on its own, for tests: generic when asked for or when the CPU lacks AVX2+FMA.
    static func choose(cpuHasAVX2: Bool, kernelsVariable: String?) -> ISA {
        kernelsVariable == "generic" || !cpuHasAVX2 ? .generic : .avx2
    }

    /// `self` with another kernel copy (clamped to what the CPU has, as in `init`).
    public func with(isa: ISA) -> ConvPlan {
        ConvPlan(isa: isa, winograd: winograd, fusedWinogradMaxChannels: fusedWinogradMaxChannels,
                 fusedPolyphaseMaxChannels: fusedPolyphaseMaxChannels, winogradBlockBudget: winogradBlockBudget,
                 im2colBandBudget: im2colBandBudget, phaseFilterMaxChannels: phaseFilterMaxChannels)
    }

    /// The C kernels' flag for `isa` (1: the AVX2+FMA copy).
    var avx2Flag: Int32 { isa == .avx2 ? 1 : 0 }

    // MARK: Decisions, one per kind of call

    /// 3×3 stride-1 conv by Winograd: a 3×3 stride-1 kernel, enough tiles per sample (16) to amortise the
    /// 4× larger transformed filters, and enough channels per group (8) for the GEMMs to dominate the
    /// transforms. Otherwise im2col + GEMM.
    public func usesWinograd(input: [Int], weight: [Int], stride: Int, padding: Int, groups: Int) -> Bool {
        guard winograd, weight.count == 4, weight[2] == 3, weight[3] == 3, stride == 1, input.count == 4, groups >= 1 else { return false }
        let outH = input[2] + 2 * padding - 2, outW = input[3] + 2 * padding - 2
        let tiles = ((outH + 3) / 4) * ((outW + 3) / 4)
        return input[1] / groups >= 8 && weight[0] / groups >= 8 && tiles >= 16
    }

    /// Stride-2, 3×3 unpadded transposed conv (weight [O, C, 3, 3]) by polyphase Winograd: the same
    /// channel (8) and tile (16) floors as `usesWinograd`.
    public func usesPolyphaseWinograd(input: [Int], weight: [Int]) -> Bool {
        guard winograd, input.count == 4, weight.count == 4, weight[2] == 3, weight[3] == 3 else { return false }
        let tiles = (input[2] / 4 + 1) * (input[3] / 4 + 1)
        return input[1] >= 8 && weight[0] >= 8 && tiles >= 16
    }

    /// A Winograd conv (once `usesWinograd`) runs in the fused C kernel: groups = 1 and few channels.
    func usesFusedWinograd(channels: Int, outChannels: Int, groups: Int) -> Bool {
        groups == 1 && channels <= fusedWinogradMaxChannels && outChannels <= fusedWinogradMaxChannels
    }

    /// A polyphase transposed conv (once `usesPolyphaseWinograd`) runs in the fused C kernel: few channels.
    func usesFusedPolyphase(channels: Int, outChannels: Int) -> Bool {
        channels <= fusedPolyphaseMaxChannels && outChannels <= fusedPolyphaseMaxChannels
    }

    /// Tiles per block of the GEMM Winograd paths, for `points` transform points per tile: V and M of a
    /// block hold at most `winogradBlockBudget` floats, and a block has at least 8 tiles.
    func winogradTilesPerBlock(points: Int, channels: Int, outChannels: Int) -> Int {
        max(8, winogradBlockBudget / (points * (channels + outChannels)))
    }

    /// Output rows per im2col band: the column buffer holds at most `im2colBandBudget` floats (at least
    /// one row), and the bands are equal so that no small GEMM is left for the remainder.
    func im2colRowsPerBand(_ g: ConvGeometry) -> Int {
        if g.isPointwise { return g.outH }
        let most = max(1, min(g.outH, im2colBandBudget / max(1, g.patch * g.outW)))
        let bands = (g.outH + most - 1) / most
        return (g.outH + bands - 1) / bands
    }

    /// StyleGAN2's upsampling modulated conv runs as phase filters (`phaseFilterMaxChannels`).
    public func usesPhaseFilters(inChannels: Int) -> Bool { inChannels <= phaseFilterMaxChannels }
}
