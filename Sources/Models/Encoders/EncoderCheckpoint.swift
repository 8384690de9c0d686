import Engine
import Formats

/// A pSp / e4e / ReStyle checkpoint as the official coaches save it:
/// `{"state_dict": {encoder.*, decoder.*}, "opts": {...}, "latent_avg": [n_styles, D]}`.
public struct EncoderCheckpoint {
    public let path: String
    public let kind: EncoderKind
    public let encoder: StyleEncoder
    /// The average latent, broadcast to [n_styles, style_dim]; nil when the checkpoint has none.
    public let latentAvg: Tensor?
    /// Whether the wrapper adds `latent_avg` to the encoder output (`opts.start_from_latent_avg`).
    public let startFromLatentAvg: Bool
    /// The bundled StyleGAN2 decoder's tensors (`decoder.` prefix removed), if present.
    public let decoderWeights: Weights?
    public let opts: PyValue?

    public init(file: LoadedFile) throws {
        path = file.path
        let all = try file.stateDict("state_dict")
        let weights = Weights(all, source: file.path)
        let encoderWeights = weights.scoped("encoder")
        guard encoderWeights.has("input_layer.0.weight") else {
            throw ModelLoadError("\(file.path): no 'encoder.input_layer.0.weight' in state_dict — not a pSp/e4e/ReStyle IR-SE checkpoint")
        }
        opts = file.root["opts"]
        kind = try EncoderCheckpoint.detectKind(encoderWeights, opts: opts, path: file.path)
        encoder = try StyleEncoder(kind: kind, weights: encoderWeights)
        startFromLatentAvg = opts?["start_from_latent_avg"]?.bool ?? (file.root["latent_avg"] != nil)
        if let avg = file.root["latent_avg"]?.tensor {
            let n = encoder.styleCount, d = encoder.styleDim
            let t = Tensor.zeros(avg.shape)
            avg.copyFloats(into: t.pointer)
            switch avg.shape {
            case [n, d]: latentAvg = t
            case [d], [1, d]: latentAvg = t.reshaped([1, d]).expanded(to: [n, d])
            default:
                throw ModelLoadError("\(file.path): latent_avg has shape \(avg.shape); expected [\(n), \(d)], [\(d)] or [1, \(d)]")
            }
        } else {
            latentAvg = nil
        }
        let decoder = weights.scoped("decoder")
        decoderWeights = decoder.names.isEmpty ? nil : decoder
    }

    /// `opts.encoder_type` when present; otherwise the tensors: a 6-channel input means ReStyle, lateral
    /// layers mean pSp or e4e (told apart by e4e's `stylegan_size` option, defaulting to e4e).
    static func detectKind(_ w: Weights, opts: PyValue?, path: String) throws -> EncoderKind {
        if let name = opts?["encoder_type"]?.string {
            guard let kind = EncoderKind(rawValue: name) else {
                let known = EncoderKind.allCases.map { $0.rawValue }.joined(separator: ", ")
                throw ModelLoadError("\(path): encoder_type '\(name)' is not supported (supported: \(known))")
            }
            return kind
        }
        let input = try w.shape("input_layer.0.weight")
        guard input.count == 4 else {   // the file's shape; Models is built without bounds checks
            throw ModelLoadError("\(path): 'encoder.input_layer.0.weight' has shape \(input), expected [64, C, 3, 3]")
        }
        let inputChannels = input[1]
        if inputChannels == 6 { return w.has("latlayer1.weight") ? .e4e : .restyleE4E }
        if w.has("latlayer1.weight") { return opts?["output_size"] != nil && opts?["stylegan_size"] == nil ? .pSp : .e4e }
        throw ModelLoadError("\(path): cannot tell the encoder type (no opts.encoder_type, no FPN layers, \(inputChannels)-channel input)")
    }

    /// Codes as the official wrapper returns them: encoder(x) + latent_avg when it starts from the average.
    public func encode(_ x: Tensor) -> Tensor {
        let codes = encoder(x)
        guard startFromLatentAvg, let latentAvg else { return codes }
        return Autograd.noGrad { codes + latentAvg }
    }
}
