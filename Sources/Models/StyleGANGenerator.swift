import Engine
import Formats

/// What the pipeline's generator-agnostic parts (`generate`, NADA training, saving a trained domain) ask of a
/// generator, whichever family it is: rosinality / StyleGAN2-ADA (`StyleGAN2Generator`) or NVlabs StyleGAN3-T/-R
/// (`StyleGAN3Generator`). Family-specific work (noise maps, style mixing, layer selection, encoders, weight
/// interpolation) stays on the concrete types; callers that need it check the type and say why they refuse.
public protocol StyleGANGenerator: AnyObject {
    /// Where the weights came from (file path), for messages.
    var source: String { get }
    /// "StyleGAN2", "StyleGAN3-T" or "StyleGAN3-R", for messages and records.
    var familyName: String { get }
    var zDim: Int { get }
    var wDim: Int { get }
    /// Rows of a W+ code: rosinality's n_latent, NVlabs' num_ws.
    var numWs: Int { get }
    var resolution: Int { get }
    /// The truncation centre ([1, w_dim]) when the file holds one (`latent_avg`, NVlabs `mapping.w_avg`).
    var latentAverage: Tensor? { get }
    /// Trainable tensors by state-dict name, and those names in state-dict order.
    var parameters: [String: Tensor] { get }
    var parameterNames: [String] { get }
    func setRequiresGrad(_ flag: Bool, where predicate: (String) -> Bool)
    /// z [N, z_dim] → w [N, w_dim] (no truncation).
    func mapping(_ z: Tensor) throws -> Tensor
    /// The mean of `count` mapped N(0, 1) codes drawn from `SeededRandom(seed:)`, [1, w_dim]; not recorded.
    func meanLatent(count: Int, seed: UInt64) -> Tensor
    /// W [B, w_dim] (used for every row) or W+ [B, numWs, w_dim] → image [B, 3, resolution, resolution].
    /// `noise` feeds StyleGAN2's noise inputs; StyleGAN3 has none and ignores it.
    func synthesize(_ w: Tensor, noise: StyleGAN2Noise) throws -> Tensor
}

extension StyleGANGenerator {
    /// `center + psi·(w − center)`: rosinality's truncation and NVlabs' `w_avg.lerp(w, psi)` (cutoff None), in
    /// the operation order of `StyleGAN2Generator.forward`, so both paths give the same floats.
    public func truncate(_ w: Tensor, psi: Float, towards center: Tensor) -> Tensor {
        let t = center.reshaped([1, wDim])
        return t + psi * (w - t)
    }
}

extension StyleGAN2Generator: StyleGANGenerator {
    public var familyName: String { "StyleGAN2" }
    public var zDim: Int { config.styleDim }
    public var wDim: Int { config.styleDim }
    public var numWs: Int { config.nLatent }
    public var resolution: Int { config.size }

    public func synthesize(_ w: Tensor, noise: StyleGAN2Noise) throws -> Tensor {
        try forward([w], inputIsLatent: true, noise: noise)
    }
}

extension StyleGAN3Generator: StyleGANGenerator {}
