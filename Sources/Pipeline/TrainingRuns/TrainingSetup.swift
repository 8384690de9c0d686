import Foundation
import Imaging
import Formats
import Engine
import Models
import Training

/// The files a NADA training run is made from, loaded into a ready trainer: the tokenizer, every CLIP model
/// and the frozen and trainable generators. `nada-edit train` and `nada-edit demo` both start here.
public struct TrainingSetup {
    public var generatorPath: String
    /// Start the trainable copy from this checkpoint instead of `generatorPath` (same architecture).
    public var trainableGeneratorPath: String?
    public var clipPaths: [String]
    public var vocabularyPath: String
    /// Merge lines taken from the vocabulary file: CLIP's 48894 for real runs; nil takes them all (the demo's
    /// small vocabulary made by `tools/make_demo_vocab.py`).
    public var vocabularyMergeCount: Int? = CLIPTokenizer.openAIMergeCount
    /// CLIP resize with antialiasing (false: torchvision 0.8.2's, the paper's setup).
    public var antialias = true
    /// `--sample-latents`: Z codes [iterations, batch, style_dim] replayed instead of drawn (parity with a reference run).
    public var sampleLatentsPath: String?
    /// `--style-images`: train towards the mean CLIP embedding of these images instead of a target text.
    public var styleImagesFolder: String?
    public var options: TrainingOptions

    public init(generatorPath: String, trainableGeneratorPath: String? = nil, clipPaths: [String], vocabularyPath: String,
                options: TrainingOptions) {
        self.generatorPath = generatorPath; self.trainableGeneratorPath = trainableGeneratorPath
        self.clipPaths = clipPaths; self.vocabularyPath = vocabularyPath; self.options = options
    }

    /// Loads every model and builds the trainer; the CLIP loss models are returned too (style-image directions use them).
    public func makeTrainer() throws -> (trainer: NADATrainer, clip: [CLIPLossModel]) {
        let tokenizer: CLIPTokenizer
        do {
            tokenizer = try ModelResolver.tokenizer(at: vocabularyPath, mergeCount: vocabularyMergeCount)
        } catch let error as CLIPTokenizerError where vocabularyMergeCount == CLIPTokenizer.openAIMergeCount {
            throw CLIPTokenizerError("\(error); get the real vocabulary with `nada-edit models fetch clip-bpe-vocab`")
        }
        let clip = try clipPaths.map {
            CLIPLossModel(model: try ModelResolver.clip(at: $0), tokenizer: tokenizer, antialias: antialias, name: ($0 as NSString).lastPathComponent)
        }
        let frozen = try ModelResolver.anyGenerator(at: generatorPath)
        let trainable = try ModelResolver.anyGenerator(at: trainableGeneratorPath ?? generatorPath)
        // StyleGAN3 trains the official fixed layer set: the default adaptive selection is turned off (and
        // recorded so), other selection options are refused by the trainer (see StyleGAN3Training.swift).
        let options = frozen is StyleGAN3Generator ? NADATrainer.optionsForStyleGAN3(self.options) : self.options
        let trainer = try NADATrainer(frozen: frozen, trainable: trainable, clip: clip, options: options)
        if let sampleLatentsPath {
            let a = try readNpy(sampleLatentsPath)
            let t = Tensor.zeros(a.shape)
            a.copyFloats(into: t.pointer)
            trainer.replayLatents = t
        }
        if let styleImagesFolder { try setStyleDirection(trainer, folder: styleImagesFolder, clip: clip) }
        return (trainer, clip)
    }

    /// The direction from the mean CLIP embedding of generated samples to that of the images in `folder`.
    func setStyleDirection(_ trainer: NADATrainer, folder: String, clip: [CLIPLossModel]) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            .filter { ["png", "jpg", "jpeg"].contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
        guard !names.isEmpty else { throw PipelineError.invalidArgument("--style-images \(folder): no .png/.jpg/.jpeg files") }
        guard Set(clip.map { $0.inputResolution }).count == 1 else {
            throw PipelineError.invalidArgument("--style-images needs CLIP models with one input resolution")
        }
        // CLIP's own PIL pipeline for image files (bicubic resize, centre crop, normalise), as the reference.
        let images = try names.map { name -> Tensor in
            let f = try clipPreprocessImageFile(path: "\(folder)/\(name)", size: clip[0].inputResolution,
                                                mean: CLIPNormalization.mean, std: CLIPNormalization.std)
            return Tensor(shape: [1] + f.shape, values: f.values)
        }
        try trainer.setImageDirection(styleImages: images)
    }
}
