import Formats
import Engine
import Models
import XCTest
@testable import Training

/// Adaptive layer selection split into chunks of the selection batch must give the whole batch's W+
/// gradient (up to float rounding) and so choose the same layers; and `step()` reports its parts' times.
final class SelectionChunkingTests: XCTestCase {
    /// The pack's tiny CLIP with prompts as synthetic token rows, so no vocabulary file is needed.
    final class TokenFreeCLIP: CLIPFeatureModel {
        let model: CLIPModel
        init(_ model: CLIPModel) { self.model = model }
        var inputResolution: Int { model.config.imageResolution }
        var logitScaleExp: Float { Foundation.exp(model.logitScale.item) }
        func encodeImage(_ pixels: Tensor) -> Tensor { try! model.encodeImage(pixels) }
        func encodeText(_ texts: [String]) throws -> Tensor {
            let vocab = model.config.vocabSize, context = model.config.contextLength
            // The highest id is the end token (the text encoder reads the features at the argmax id).
            let rows: [[Int32]] = texts.map { text in
                let end = min(context - 1, text.count % 5 + 2)
                return (0...end).map { t in t == end ? Int32(vocab - 1) : Int32(1 + (t * 37 + text.count) % (vocab - 2)) }
            }
            return try model.encodeText(tokens: rows)
        }
        func preprocessGenerated(_ images: Tensor) -> Tensor {
            clipPreprocessGenerated(images, resolution: inputResolution, antialias: true)
        }
    }

    func makeTrainer(selectionBatch: Int, chunk: Int?, k: Int = 3) throws -> NADATrainer {
        let path = TrainingFixtures.url("stylegan2/generator.pt").path
        let clip = TokenFreeCLIP(try CLIPModel(checkpoint: try loadFile(TrainingFixtures.url("clip/model_state.pt").path)))
        var options = TrainingOptions()
        options.batch = 2
        options.autoLayerIters = 2
        options.autoLayerK = k
        options.autoLayerBatch = selectionBatch
        // Two CLIP models with different weights: the chunks' sums must carry the weights too.
        options.clipWeights = [1, 0.5]
        let trainer = try NADATrainer(frozen: try StyleGAN2Generator(checkpoint: try loadFile(path)), trainable: try StyleGAN2Generator(checkpoint: try loadFile(path)),
                                      clip: [clip, clip], options: options)
        trainer.selectionChunk = chunk
        return trainer
    }

    func testChunkedGradientEqualsWholeBatch() throws {
        let trainer = try makeTrainer(selectionBatch: 5, chunk: nil)
        XCTAssertEqual(trainer.selectionChunkSize, 5, "a 64 px generator fits the whole selection batch")
        trainer.trainable.setRequiresGrad(false) { _ in true }
        let cfg = trainer.styleGAN2.frozen.config
        var r = SeededRandom(seed: 11)
        // Distinct rows per layer (W+), so a misplaced chunk or row would show.
        let w = Tensor.randn([5, cfg.nLatent, cfg.styleDim], using: &r)
        let whole = try trainer.selectionGradient(w, noise: .random(seed: 7), chunk: 5)
        let maxWhole = whole.values.map(abs).max()!
        XCTAssertGreaterThan(maxWhole, 0, "the global loss moves W+")
        for chunk in [1, 2, 4] {
            // 5 = 2 + 2 + 1 and 4 + 1: uneven last chunks; the loss is still divided by 5.
            let parts = try trainer.selectionGradient(w, noise: .random(seed: 7), chunk: chunk)
            XCTAssertEqual(parts.shape, whole.shape)
            let diff = zip(parts.values, whole.values).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(diff, 1e-5 * maxWhole, "chunks of \(chunk): max |Δgrad| \(diff) vs max |grad| \(maxWhole)")
        }
        // A different noise draw changes the gradient, so the comparison above did depend on the noise split.
        let otherNoise = try trainer.selectionGradient(w, noise: .random(seed: 8), chunk: 2)
        XCTAssertGreaterThan(zip(otherNoise.values, whole.values).map { abs($0 - $1) }.max()!, 1e-4 * maxWhole)
    }

    func testChunkedSelectionPicksSameLayers() throws {
        let whole = try makeTrainer(selectionBatch: 6, chunk: nil)
        let chunked = try makeTrainer(selectionBatch: 6, chunk: 4)
        for _ in 0..<2 {
            let a = try whole.selectLayers(), b = try chunked.selectLayers()
            XCTAssertEqual(a.count, 3)
            XCTAssertEqual(a, b)
            let trainable = { (t: NADATrainer) in t.trainable.parameterNames.filter { t.trainable.parameters[$0]!.requiresGrad } }
            XCTAssertEqual(trainable(whole), trainable(chunked))
        }
    }

    /// Issue 17: with k ≥ n_latent (the README's 1024 recipe) top-k is every row, so the W+ pass is skipped; the
    /// random numbers it would draw are still drawn, so training is bit-identical to a run that computed it.
    func testSelectionOfEveryRowIsSkippedAndTrainingStaysBitIdentical() throws {
        let n = try makeTrainer(selectionBatch: 2, chunk: nil).styleGAN2.frozen.config.nLatent
        for k in [n, n + 4] {
            let skipped = try makeTrainer(selectionBatch: 3, chunk: nil, k: k)
            let computed = try makeTrainer(selectionBatch: 3, chunk: nil, k: k)
            computed.alwaysComputeSelection = true
            for _ in 0..<2 {
                let a = try skipped.step(), b = try computed.step()
                XCTAssertEqual(Set(a.trainedModules), Set(b.trainedModules), "k = \(k)")
                XCTAssertEqual(a.loss.bitPattern, b.loss.bitPattern, "k = \(k): loss \(a.loss) vs \(b.loss)")
            }
            XCTAssertEqual(skipped.selectionPasses, 0, "k = \(k) ≥ n_latent = \(n): no W+ pass")
            XCTAssertEqual(computed.selectionPasses, 2)
            for name in skipped.trainable.parameterNames {
                let x = skipped.trainable.parameters[name]!, y = computed.trainable.parameters[name]!
                XCTAssertEqual(x.requiresGrad, y.requiresGrad, name)
                XCTAssertTrue(x.values.elementsEqual(y.values) { $0.bitPattern == $1.bitPattern }, "\(name) differs after 2 steps (k = \(k))")
            }
        }
        // One row fewer than n_latent: the pass runs and chooses.
        let fewer = try makeTrainer(selectionBatch: 2, chunk: nil, k: n - 1)
        XCTAssertEqual(try fewer.selectLayers().count, n - 1)
        XCTAssertEqual(fewer.selectionPasses, 1)
    }

    func testStepReportsTimings() throws {
        let trainer = try makeTrainer(selectionBatch: 2, chunk: 1)
        let t = try trainer.step().timings
        for (name, v) in [("select", t.select), ("frozen", t.frozen), ("trainF", t.trainableForward), ("clip", t.clip),
                          ("genB", t.generatorBackward), ("adam", t.adam)] {
            XCTAssertGreaterThan(v, 0, "\(name) time")
        }
        XCTAssertEqual(t.total, t.select + t.frozen + t.trainableForward + t.clip + t.generatorBackward + t.adam)
    }
}
