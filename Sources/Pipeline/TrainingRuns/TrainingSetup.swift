import Foundation
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
        let frozen = try ModelResolver.generator(at: generatorPath)
        let trainable = try ModelResolver.generator(at: trainableGeneratorPath ?? generatorPath)
        return (try NADATrainer(frozen: frozen, trainable: trainable, clip: clip, options: options), clip)
    }
}
