import Engine
import Foundation

/// StyleGAN-NADA's `CLIPLoss` for one CLIP model (`ZSSGAN/criteria/clip_loss.py`):
/// L = λ_global·global + λ_patch·patch-directional + λ_direction·directional + λ_manifold·angle.
/// `src` is the frozen generator's output, `tgt` the trainable one's, both in [-1, 1].
public final class NADALoss {
    public struct Weights: Codable, Equatable, Sendable {
        public var direction: Float = 1
        public var global: Float = 0
        public var patch: Float = 0
        public var manifold: Float = 0
        public init(direction: Float = 1, global: Float = 0, patch: Float = 0, manifold: Float = 0) {
            self.direction = direction; self.global = global; self.patch = patch; self.manifold = manifold
        }
    }

    public let model: CLIPFeatureModel
    public let weights: Weights
    /// Δt: the normalised text (or image-set) direction, [1, D]. Set on first use or by `setImageDirection`.
    public private(set) var targetDirection: Tensor?
    private var sourceTextMean: Tensor?
    private var targetTextMean: Tensor?
    private var patchTextDirections: Tensor?
    /// Patch centres are random in the reference (numpy); ours come from this seeded generator.
    public var patchRandom = SeededRandom(seed: 2)
    /// Each term's weighted value (λ·term) at the last `callAsFunction`, 0 for terms that are off: they add up to
    /// the returned loss. For the loss CSV and plot (issue 20).
    public private(set) var lastTerms = LossTerms()

    public init(model: CLIPFeatureModel, weights: Weights) {
        self.model = model
        self.weights = weights
    }

    // MARK: Features

    /// L2-normalised text features of `text` in every template, [T, D], not differentiable.
    public func textFeatures(_ text: String, templates: [String] = PromptTemplates.imagenet) throws -> Tensor {
        let raw = try model.encodeText(PromptTemplates.compose(text, templates))
        return Autograd.noGrad { raw / raw.norm() }
    }

    /// L2-normalised image features of generator outputs (differentiable through both the encoder and the norm).
    public func imageFeatures(_ images: Tensor) -> Tensor {
        let f = model.encodeImage(model.preprocessGenerated(images))
        return f / f.norm()
    }

    /// normalize(mean_j(f_tgt[j] - f_src[j])) over the templates.
    public func textDirection(source: String, target: String) throws -> Tensor {
        let s = try textFeatures(source), t = try textFeatures(target)
        return Autograd.noGrad {
            let d = (t - s).mean(axis: 0, keepDims: true)
            return d / d.norm()
        }
    }

    /// Uses an image-set direction (style images) instead of the text direction.
    public func setImageDirection(_ direction: Tensor) { targetDirection = direction }

    // MARK: Losses

    /// The paper's loss: mean_b(1 - cos(normalize(f(tgt) - f(src)), Δt)).
    public func directional(src: Tensor, source: String, tgt: Tensor, target: String) throws -> Tensor {
        if targetDirection == nil { targetDirection = try textDirection(source: source, target: target) }
        let es = Autograd.noGrad { imageFeatures(src) }
        var et = imageFeatures(tgt)
        var edit = et - es
        // The reference re-encodes `tgt + 1e-6` when the two images give identical features
        // (twin generators before the first step).
        if edit.values.allSatisfy({ $0 == 0 }) {
            et = imageFeatures(tgt + 1e-6)
            edit = et - es
        }
        edit = edit / edit.norm()
        return (1 - edit.cosineSimilarity(targetDirection!.expanded(to: edit.shape))).mean()
    }

    /// mean(1 - logits/100) with logits = exp(logit_scale)·cos(f(img), text("…")).
    ///
    /// `batchSize` divides the sum instead of the number of images given: with `images` one chunk of a
    /// larger batch, the chunks' gradients then add up to the whole batch's, with the same per-sample
    /// factor (sum·(1/B), as `mean()` computes it) and so the same rounding.
    public func global(_ images: Tensor, text: String, batchSize: Int? = nil) throws -> Tensor {
        let raw = try model.encodeText([text])
        let t = Autograd.noGrad { raw / raw.norm() }
        let img = imageFeatures(images)
        let logits = img.matmul(t.transposedLast()) * model.logitScaleExp
        let perImage = 1 - logits / 100
        return perImage.sum(axes: Array(0..<perImage.rank)) * (1 / Float(batchSize ?? perImage.count))
    }

    /// |cos(f(tgt), f(src)) - cos(t̄_tgt, t̄_src)| averaged over the batch (the "manifold angle" loss).
    public func angle(src: Tensor, source: String, tgt: Tensor, target: String) throws -> Tensor {
        if sourceTextMean == nil {
            let s = try textFeatures(source).mean(axis: 0, keepDims: true)
            let t = try textFeatures(target).mean(axis: 0, keepDims: true)
            sourceTextMean = Autograd.noGrad { s / s.norm() }
            targetTextMean = Autograd.noGrad { t / t.norm() }
        }
        let cosText = Autograd.noGrad { (targetTextMean! * sourceTextMean!).sum() }
        let es = imageFeatures(src), et = imageFeatures(tgt)
        let cosImage = (et * es).sum(axis: -1).clamped(-1, 1)
        return (cosImage - cosText).abs().mean()
    }

    /// Patch-directional loss: one 510-pixel patch per image at a random centre (same for src and tgt),
    /// scored against the 15 part-template directions with softmax weights. Needs images of at least 511 px.
    public func patchDirectional(src: Tensor, source: String, tgt: Tensor, target: String) throws -> Tensor {
        let size = 510, half = size / 2
        let h = src.shape[2], w = src.shape[3]
        guard h > size, w > size else {
            throw TrainingError("patch loss needs images larger than \(size) px; these are \(w)x\(h) (use --lambda-patch 0)")
        }
        if patchTextDirections == nil {
            let dirs = try zip(PromptTemplates.compose(source, PromptTemplates.parts),
                               PromptTemplates.compose(target, PromptTemplates.parts)).map { try textDirection(source: $0, target: $1) }
            patchTextDirections = Tensor.concat(dirs, axis: 0)
        }
        let batch = src.shape[0]
        var srcPatches: [Tensor] = [], tgtPatches: [Tensor] = []
        for b in 0..<batch {
            let cx = half + Int(patchRandom.next() % UInt64(w - size))
            let cy = half + Int(patchRandom.next() % UInt64(h - size))
            func crop(_ x: Tensor) -> Tensor {
                x.slice(axis: 0, b..<(b + 1)).slice(axis: 2, (cy - half)..<(cy + half)).slice(axis: 3, (cx - half)..<(cx + half))
            }
            srcPatches.append(crop(src)); tgtPatches.append(crop(tgt))
        }
        let fs = Autograd.noGrad { imageFeatures(Tensor.concat(srcPatches, axis: 0)) }
        let ft = imageFeatures(Tensor.concat(tgtPatches, axis: 0))
        var edit = ft - fs
        edit = edit / edit.norm()
        let dirs = patchTextDirections!                                        // [15, D]
        let p = edit.shape[0], k = dirs.shape[0], d = dirs.shape[1]
        let e3 = edit.reshaped([p, 1, d]).expanded(to: [p, k, d])
        let d3 = dirs.reshaped([1, k, d]).expanded(to: [p, k, d])
        let dist = 1 - e3.cosineSimilarity(d3)                                 // [P, 15]
        let scores = edit.matmul(dirs.transposedLast()).softmax()              // [P, 15]
        return (dist * scores).mean()
    }

    /// The weighted sum of the enabled terms (terms with weight 0 are not computed).
    public func callAsFunction(src: Tensor, source: String, tgt: Tensor, target: String) throws -> Tensor {
        var total: Tensor?
        var terms = LossTerms()
        func add(_ t: Tensor, _ w: Float, _ term: WritableKeyPath<LossTerms, Float>) -> Void {
            total = total.map { $0 + t * w } ?? t * w
            terms[keyPath: term] = t.item * w
        }
        if weights.global != 0 { add(try global(tgt, text: "a \(target)"), weights.global, \.global) }
        if weights.patch != 0 { add(try patchDirectional(src: src, source: source, tgt: tgt, target: target), weights.patch, \.patch) }
        if weights.direction != 0 { add(try directional(src: src, source: source, tgt: tgt, target: target), weights.direction, \.directional) }
        if weights.manifold != 0 { add(try angle(src: src, source: source, tgt: tgt, target: target), weights.manifold, \.manifold) }
        lastTerms = terms
        return total ?? Tensor.scalar(0)
    }
}

/// The weighted terms of one loss evaluation (λ·term; 0 for a term that is off), in the reference's names.
public struct LossTerms: Sendable, Equatable {
    public var directional: Float = 0
    public var global: Float = 0
    public var patch: Float = 0
    public var manifold: Float = 0
    public init(directional: Float = 0, global: Float = 0, patch: Float = 0, manifold: Float = 0) {
        self.directional = directional; self.global = global; self.patch = patch; self.manifold = manifold
    }

    /// Column names of the loss CSV, in this order.
    public static let names = ["directional", "global", "patch", "manifold"]
    public var values: [Float] { [directional, global, patch, manifold] }

    /// Several CLIP models' terms, each scaled by its model weight (as the total is formed).
    public mutating func add(_ other: LossTerms, weight: Float) {
        directional += other.directional * weight; global += other.global * weight
        patch += other.patch * weight; manifold += other.manifold * weight
    }
}

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
