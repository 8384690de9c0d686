import Engine
import Models

/// StyleGAN-NADA on a StyleGAN3 generator, as the official `--sg3` path does it (`SG3Generator` and
/// `ZSSGAN.forward` in ZSSGAN/model/ZSSGAN.py). What differs from StyleGAN2:
/// - Trained tensors: a fixed set, `input.weight` and the weight and bias of every synthesis layer but L10 and
///   L12 (`StyleGAN3LayerSelection`); affines and the mapping stay frozen. There is no adaptive layer
///   selection, `--phase`, or corrected layer mapping ("neither model currently supports layer freezing").
/// - Codes: `style()` maps z with `truncation_psi=0.7` towards `mapping.w_avg` (cutoff None) and broadcasts
///   it to every W+ row; both generators synthesize from those codes. Only the first z of a mixing pair is
///   used by the official code, so style mixing is refused rather than silently dropped.
/// - Noise: StyleGAN3 has no noise inputs; instead the frozen image gets `randn_like · 5e-4` "to add
///   stochasticity in place of noise injections". `--noise stored` is refused (there is nothing stored).
/// - Samples and the style-image direction use the same truncated codes (official: `style()` ignores
///   `--sample_truncation`; ours uses `sampleTruncation`, 0.7 by default, towards w_avg).
extension NADATrainer {
    /// `SG3Generator.style`'s default `truncation`.
    public static let styleGAN3TrainingTruncation: Float = 0.7
    /// The standard deviation of the frozen image's jitter (`ZSSGAN.forward`).
    public static let styleGAN3FrozenJitter: Float = 5e-4

    /// `TrainingOptions()`'s (and `train`'s) default adaptive selection is k 1, 1 W+ step; a StyleGAN3 run turns
    /// it off, as the official code never selects layers for StyleGAN3. Other selection settings are refused by
    /// `init`.
    public static func optionsForStyleGAN3(_ options: TrainingOptions) -> TrainingOptions {
        var o = options
        let defaults = TrainingOptions()
        if o.autoLayerK == defaults.autoLayerK && o.autoLayerIters == defaults.autoLayerIters { o.autoLayerIters = 0 }
        return o
    }

    static func checkStyleGAN3(frozen: StyleGAN3Generator, trainable: StyleGAN3Generator, options o: TrainingOptions) throws {
        guard frozen.hasSameArchitecture(as: trainable) else {
            throw TrainingError("the trainable generator (\(trainable.source), \(trainable.family)) differs in architecture from the frozen one "
                + "(\(frozen.source), \(frozen.family))")
        }
        var refused: [String] = []
        if o.autoLayerIters > 0 && o.autoLayerK > 0 { refused.append("adaptive layer selection (--auto-layer-k \(o.autoLayerK), --auto-layer-iters \(o.autoLayerIters); pass --auto-layer-iters 0)") }
        if o.phase != .standard { refused.append("--phase \(o.phase.rawValue)") }
        if o.correctedLayerMapping { refused.append("--corrected-layer-mapping") }
        if o.mixing > 0 { refused.append("--mixing \(o.mixing) (the official code maps only the first code)") }
        if o.storedNoise { refused.append("--noise stored (StyleGAN3 has no noise inputs; the frozen image gets 5e-4 jitter as in the official code)") }
        if !refused.isEmpty {
            throw TrainingError("\(frozen.source) is a \(frozen.family) generator: StyleGAN-NADA trains a fixed layer set for StyleGAN3 "
                + "(every synthesis layer but L10 and L12, without their affines), so these cannot be used: " + refused.joined(separator: "; "))
        }
        for g in [frozen, trainable] where g.latentAverage == nil {
            throw TrainingError("\(g.source): this StyleGAN3 generator has no mapping.w_avg, which its training codes are truncated towards")
        }
    }

    /// Training codes: `w_avg.lerp(mapping(z), 0.7)` on every row, [B, num_ws, w_dim].
    func styleGAN3Codes(_ z: Tensor, _ g: StyleGAN3Generator) throws -> Tensor {
        let w = g.truncate(try g.mapping(z), psi: Self.styleGAN3TrainingTruncation, towards: g.latentAverage!)
        return w.reshaped([w.shape[0], 1, g.wDim]).expanded(to: [w.shape[0], g.numWs, g.wDim])
    }

    /// `randn_like(frozen_img) · 5e-4`, drawn from the run's generator.
    func styleGAN3Jitter(shape: [Int]) -> Tensor {
        var r = SeededRandom(seed: rng.next() ^ 2)
        return Tensor.randn(shape, using: &r) * Self.styleGAN3FrozenJitter
    }
}
