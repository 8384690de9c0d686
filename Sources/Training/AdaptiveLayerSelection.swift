import Engine
import Models

/// Adaptive layer selection (`ZSSGAN.determine_opt_layers`): a few SGD steps on W+ against the global CLIP
/// loss, then the k rows that moved most choose the modules to train.
///
/// The reference runs the whole selection batch (8 by default) through the generator and CLIP at once.
/// At 1024 px that graph alone needs well over 10 GB, so the batch may be split into chunks whose
/// gradients are written side by side: each sample's W+ rows get gradient only from that sample's image,
/// and every chunk's loss is divided by the whole batch size, so the result is the whole-batch gradient
/// (per-sample ops are the same ops on fewer rows; only BLAS blocking may round differently).
extension NADATrainer {
    /// Images per chunk when `selectionChunk` is nil: as many as two 1024² images' worth of pixels
    /// (the training batch's own size at 1024), so the selection pass peaks no higher than a step.
    static let selectionPixelBudget = 2 * 1024 * 1024

    /// Samples per generator+CLIP forward/backward in the selection pass.
    var selectionChunkSize: Int {
        if let c = selectionChunk { return max(1, c) }
        let pixels = styleGAN2.frozen.config.size * styleGAN2.frozen.config.size
        return max(1, min(options.autoLayerBatch, Self.selectionPixelBudget / pixels))
    }

    /// True when the selection cannot change the chosen set: with k ≥ n_latent, top-k is every W+ row whatever
    /// moved. The README's 1024 recipe (`--auto_layer_k 18`, 18 rows) is this case; its W+ pass was 16.7 of 22.5 s
    /// per iteration (`nada-bench train`, issue 17), all of it discarded.
    var selectionChoosesEveryRow: Bool { options.autoLayerK >= styleGAN2.frozen.config.nLatent && !alwaysComputeSelection }

    func selectLayers() throws -> [String] {
        let (frozen, trainable) = styleGAN2
        let d = frozen.config.styleDim, n = frozen.config.nLatent, b = options.autoLayerBatch
        let z = Tensor.randn([b, d], using: &rng)
        if selectionChoosesEveryRow {
            // Skip the arithmetic, not the random numbers: the draws below are the ones the W+ pass makes, so a
            // seeded run stays bit-identical to one that computed it (SelectionChunkingTests checks).
            for _ in 0..<options.autoLayerIters { _ = noise(for: 1) }
            return chooseModules(rows: Array(0..<n))
        }
        let w0 = try Autograd.noGrad { try frozen.mapping(z).reshaped([b, 1, d]).expanded(to: [b, n, d]) }
        let w = w0.copy()
        // The reference unfreezes every layer here; only W's gradient is used, so we skip the weights'.
        trainable.setRequiresGrad(false)
        for _ in 0..<options.autoLayerIters {
            let g = try selectionGradient(w, noise: noise(for: 1), chunk: selectionChunkSize)
            w.withMutableValues { v in for i in 0..<v.count { v[i] -= 0.01 * g.pointer[i] } }
        }
        let moved = Autograd.noGrad { (w - w0).abs().mean(axis: 2).mean(axis: 0) }
        selectionPasses += 1
        return chooseModules(rows: LayerSelection.topK(moved.array, options.autoLayerK))
    }

    /// The modules that W+ `rows` drive become the trainable ones.
    private func chooseModules(rows chosen: [Int]) -> [String] {
        let trainable = styleGAN2.trainable
        let modules = chosen.map {
            LayerSelection.module(forLatentIndex: $0, numConvs: numConvs, numToRGBs: numToRGBs, corrected: options.correctedLayerMapping)
        }
        trainable.setRequiresGrad(false)
        trainable.setRequiresGrad(true) { LayerSelection.belongs($0, to: modules) }
        return modules
    }

    /// d/dW+ of Σ_models weight·global(G(W+), target) over the batch of `w` [B, n_latent, style_dim],
    /// computed `chunk` samples at a time. `noise` is drawn for the whole batch, then split, so every
    /// sample sees the same maps as in one pass.
    func selectionGradient(_ w: Tensor, noise: StyleGAN2Noise, chunk: Int) throws -> Tensor {
        let b = w.shape[0]
        if chunk >= b { return try globalLossGradient(w, noise: noise, batchSize: b) }
        let maps = try styleGAN2.trainable.noiseMaps(noise, batch: b)
        let grad = Tensor.zeros(w.shape)
        let rowValues = w.count / b
        for start in stride(from: 0, to: b, by: chunk) {
            let rows = start..<min(b, start + chunk)
            let (part, partMaps) = Autograd.noGrad {
                (w.slice(axis: 0, rows), maps.map { $0.shape[0] == 1 ? $0 : $0.slice(axis: 0, rows) })
            }
            let g = try globalLossGradient(part, noise: .explicit(partMaps), batchSize: b)
            grad.pointer.advanced(by: start * rowValues).update(from: g.pointer, count: g.count)
        }
        return grad
    }

    /// The gradient for one chunk of W+ codes; the loss is divided by `batchSize`, the whole batch's size.
    /// Only W+ is a leaf (the generator is frozen here), so the graph holds just what that gradient needs.
    private func globalLossGradient(_ w: Tensor, noise: StyleGAN2Noise, batchSize: Int) throws -> Tensor {
        let leaf = w.detached()
        leaf.requiresGrad = true
        let img = try styleGAN2.trainable.forward(wPlus: leaf, noise: noise)
        var total: Tensor?
        for (loss, c) in zip(losses, options.clipWeights) {
            let l = try loss.global(img, text: options.target, batchSize: batchSize) * c
            total = total.map { $0 + l } ?? l
        }
        total!.backward()
        return leaf.grad!
    }
}
