import Engine

/// Where the per-layer noise maps come from (rosinality `noise` / `randomize_noise`).
public enum StyleGAN2Noise {
    /// The stored `noises.noise_i` buffers [1, 1, r, r], shared by the batch (`randomize_noise=False`).
    case stored
    /// Fresh N(0, 1) maps [B, 1, r, r] for every layer and sample, drawn layer by layer from one
    /// `SeededRandom(seed:)` (rosinality draws unseeded maps; this keeps runs reproducible).
    case random(seed: UInt64)
    /// One map per layer, each [1, 1, r, r] or [B, 1, r, r].
    case explicit([Tensor])
}
