import Engine
import Foundation
import Formats

/// OpenAI CLIP (ViT image tower + causal text transformer) as in `clip/model.py`, float32 on the CPU.
///
/// Every size comes from the checkpoint's tensor shapes (`CLIPConfig(inferringFrom:)`), so ViT-B/32,
/// ViT-B/16, ViT-L/14 and small test models load through the same code. Weights are frozen
/// (`requiresGrad` false): `encodeImage` is differentiable with respect to its pixels only.
public final class CLIPModel {
    public let config: CLIPConfig
    /// log of the logit scale, a 0-dim tensor as stored (exp ≈ 100 for released models).
    public let logitScale: Tensor
    /// Side of the square image input (224 for the released ViT-B models).
    public var inputResolution: Int { config.imageResolution }
    /// exp(logit_scale), the factor `CLIP.forward` multiplies cosine similarities by.
    public var logitScaleExp: Float { Foundation.exp(logitScale.item) }
    let visual: CLIPVisionTransformer
    let text: CLIPTextTransformer

    /// Builds the model from OpenAI-named parameters of the shapes `config` implies.
    public init(config: CLIPConfig, parameter: CLIPParameterSource) throws {
        self.config = config
        logitScale = try parameter("logit_scale", [])
        visual = try CLIPVisionTransformer(config: config, parameter)
        text = try CLIPTextTransformer(config: config, parameter)
    }

    /// From OpenAI-named weights (a state dict or a TorchScript archive's module state).
    public convenience init(weights: Weights) throws {
        var shapes: [String: [Int]] = [:]
        for (name, array) in weights.arrays { shapes[name] = array.shape }
        let config = try CLIPConfig(inferringFrom: shapes, source: weights.source)
        try self.init(config: config) { name, shape in try weights.tensor(name, shape: shape) }
    }

    /// An OpenAI TorchScript release (`ViT-B-32.pt`), a plain state-dict `.pt`, or a Hugging Face
    /// `model.safetensors`, as loaded by Formats; HF names go through `CLIPWeightNames`.
    public convenience init(checkpoint loaded: LoadedFile) throws {
        try self.init(weights: Weights(try CLIPModel.openAINamedTensors(loaded), source: loaded.path))
    }

    /// The file's CLIP tensors under OpenAI's names, wrappers removed: what `init(checkpoint:)` builds from.
    static func openAINamedTensors(_ loaded: LoadedFile) throws -> [(name: String, array: ArrayData)] {
        var pairs = loaded.tensors
        // Some training scripts save {"state_dict": {...}} or wrap the model in DataParallel ("module.").
        if !pairs.contains(where: { $0.name == "visual.proj" || $0.name.hasPrefix("vision_model.") }) {
            for prefix in ["state_dict.", "model.", "module.", "state_dict.module.", "model.module."]
            where pairs.contains(where: { $0.name == prefix + "visual.proj" }) {
                pairs = pairs.filter { $0.name.hasPrefix(prefix) }.map { (String($0.name.dropFirst(prefix.count)), $0.array) }
                break
            }
        }
        return try CLIPWeightNames.openAINamed(pairs, source: loaded.path)
    }

    /// Random weights of the given sizes (benchmarks). LayerNorms start at identity, everything else small normal.
    public static func random(config: CLIPConfig, seed: UInt64 = 0) -> CLIPModel {
        var rng = SeededRandom(seed: seed)
        return try! CLIPModel(config: config) { name, shape in
            if name == "logit_scale" { return Tensor.scalar(Float(Foundation.log(100.0))) }
            if name.contains("ln_") || name.contains("ln_final") {
                return name.hasSuffix(".weight") ? Tensor.ones(shape) : Tensor.zeros(shape)
            }
            let t = Tensor.zeros(shape)
            let std: Float = shape.count >= 2 ? 1 / Float(shape.dropFirst().reduce(1, *)).squareRoot() : 0.02
            t.withMutableValues { v in for i in v.indices { v[i] = std * (2 * rng.nextUniform() - 1) * 1.732 } }
            return t
        }
    }

    /// Image features [N, E] of normalized pixels [N, 3, R, R] (R = `config.imageResolution`), recorded for
    /// autograd when `pixels` needs a gradient.
    public func encodeImage(_ pixels: Tensor, tap: CLIPTap? = nil) throws -> Tensor {
        let r = config.imageResolution
        guard pixels.rank == 4, pixels.shape[1] == 3, pixels.shape[2] == r, pixels.shape[3] == r, pixels.shape[0] > 0 else {
            throw ShapeError("CLIP encodeImage: expected normalized images [N, 3, \(r), \(r)], got \(pixels.shape)")
        }
        return visual(pixels, tap: tap)
    }

    /// Text features [N, E] of token rows (`clip.tokenize` output: SOT ... EOT, zero padding; rows may be
    /// shorter than the context). Not recorded. Rows are grouped by EOT position into batches of at most
    /// `batchSize`, and each batch runs only up to its longest EOT (`skipPadding`); the causal mask makes
    /// that exact. `skipPadding: false` runs the full context like PyTorch does.
    public func encodeText(tokens: [[Int32]], batchSize: Int = 64, skipPadding: Bool = true, tap: CLIPTap? = nil) throws -> Tensor {
        let n = tokens.count
        guard n > 0 else { throw ShapeError("CLIP encodeText: no token rows") }
        var eot = [Int](repeating: 0, count: n)
        for (i, row) in tokens.enumerated() {
            guard !row.isEmpty, row.count <= config.contextLength else {
                throw ShapeError("CLIP encodeText: row \(i) has \(row.count) tokens; expected 1...\(config.contextLength)")
            }
            var best = 0
            for (t, id) in row.enumerated() {
                guard id >= 0, Int(id) < config.vocabSize else {
                    throw ShapeError("CLIP encodeText: row \(i) position \(t) has token id \(id), outside 0..<\(config.vocabSize)")
                }
                if id > row[best] { best = t } // first maximum, as torch.argmax
            }
            eot[i] = best
        }
        let order = skipPadding ? (0..<n).sorted { (eot[$0], $0) < (eot[$1], $1) } : Array(0..<n)
        let e = config.embedDim
        let out = Tensor.zeros([n, e])
        let step = max(1, batchSize)
        Autograd.noGrad {
            for start in stride(from: 0, to: n, by: step) {
                let idx = Array(order[start..<min(n, start + step)])
                let length = skipPadding ? idx.map { eot[$0] }.max()! + 1 : config.contextLength
                let f = text.encode(idx.map { tokens[$0] }, eot: idx.map { eot[$0] }, length: length, tap: tap)
                for (j, i) in idx.enumerated() { (out.pointer + i * e).update(from: f.pointer + j * e, count: e) }
            }
        }
        return out
    }

    /// `CLIP.forward`'s similarity: exp(logit_scale) · normalize(image) · normalize(text)ᵀ, [N_img, N_txt];
    /// `logits_per_text` is its transpose.
    public func logitsPerImage(imageFeatures: Tensor, textFeatures: Tensor) -> Tensor {
        imageFeatures.normalized().matmul(textFeatures.normalized().transposedLast()) * logitScaleExp
    }
}
