import Engine
import Formats

/// Real images into W+: an encoder checkpoint plus the generator that decodes its codes.
///
/// pSp and e4e predict the codes in one pass. ReStyle (`utils/inference_utils.run_on_batch`) starts from
/// the average image and refines: at step t it sees [image, previous reconstruction pooled to 256] and adds
/// its output to the previous codes (to `latent_avg` at t = 0).
public final class Inverter {
    public let encoder: EncoderCheckpoint
    public let decoder: StyleGAN2Generator
    private var cachedAverageImage: Tensor?

    /// Uses `decoder` when given, otherwise the checkpoint's bundled decoder.
    public init(encoder: EncoderCheckpoint, decoder: StyleGAN2Generator? = nil) throws {
        self.encoder = encoder
        if let decoder {
            self.decoder = decoder
        } else {
            guard let w = encoder.decoderWeights else {
                throw ModelLoadError("\(encoder.path): the checkpoint has no bundled decoder; pass a generator")
            }
            self.decoder = try StyleGAN2Generator(weights: w)
        }
        let n = self.decoder.config.nLatent, d = self.decoder.config.styleDim
        guard encoder.encoder.styleCount == n, encoder.encoder.styleDim == d else {
            throw ModelLoadError("\(encoder.path): encoder predicts \(encoder.encoder.styleCount)×\(encoder.encoder.styleDim) codes, "
                + "but the generator \(self.decoder.source) takes \(n)×\(d)")
        }
    }

    /// `face_pool`: adaptive average pooling to 256×256.
    public static func facePool(_ images: Tensor) -> Tensor { images.adaptiveAvgPool2d(height: 256, width: 256) }

    /// The generator's image of W+ codes with the stored noise (what every official inference script uses).
    public func reconstruct(_ codes: Tensor) throws -> Tensor {
        try Autograd.noGrad { try decoder.forward(wPlus: codes, noise: .stored) }
    }

    /// ReStyle's starting point: the decoded `latent_avg`, face-pooled to 256, [3, 256, 256].
    public func averageImage() throws -> Tensor {
        if let cachedAverageImage { return cachedAverageImage }
        guard let avg = encoder.latentAvg else {
            throw ModelLoadError("\(encoder.path): ReStyle needs latent_avg, and this checkpoint has none")
        }
        let img = Inverter.facePool(try reconstruct(avg.reshaped([1] + avg.shape)))
        let result = img.reshaped(Array(img.shape.dropFirst()))
        cachedAverageImage = result
        return result
    }

    public struct Result {
        /// Final W+ codes [N, n_latent, style_dim].
        public let codes: Tensor
        /// Codes after each iteration (one entry for pSp/e4e).
        public let codesPerIteration: [Tensor]
        /// Native-resolution reconstructions after each iteration, when asked for.
        public let reconstructions: [Tensor]
    }

    /// Inverts `x` [N, 3, 256, 256] in [-1, 1]. `iterations` is used by ReStyle only (default 5, as the
    /// NADA notebook); reconstructions are decoded when `reconstruct` is true (ReStyle always decodes).
    public func invert(_ x: Tensor, iterations: Int = 5, reconstruct wantImages: Bool = false) throws -> Result {
        guard x.rank == 4, x.shape[1] == 3 else { throw ShapeError("invert: images must be [N, 3, H, W], got \(x.shape)") }
        if !encoder.kind.isIterative {
            let codes = encoder.encode(x)
            return Result(codes: codes, codesPerIteration: [codes], reconstructions: wantImages ? [try reconstruct(codes)] : [])
        }
        guard iterations >= 1 else { throw ShapeError("invert: ReStyle needs at least one iteration, got \(iterations)") }
        let n = x.shape[0]
        let avg = try averageImage()
        var previous = avg.reshaped([1] + avg.shape).expanded(to: [n] + avg.shape)
        var codes: Tensor?
        var allCodes: [Tensor] = [], images: [Tensor] = []
        for _ in 0..<iterations {
            let input = Tensor.concat([x, previous], axis: 1)
            let delta = encoder.encoder(input)
            let base = codes ?? encoder.latentAvg!.reshaped([1] + encoder.latentAvg!.shape)
            let next = Autograd.noGrad { delta + base }
            let image = try reconstruct(next)
            allCodes.append(next)
            if wantImages { images.append(image) }
            previous = Inverter.facePool(image)
            codes = next
        }
        return Result(codes: codes!, codesPerIteration: allCodes, reconstructions: images)
    }
}
