@_exported import TestSupport
import Formats
import Models
import Training

/// Training tests' data: the shared fixtures plus the reference pack's tiny CLIP.
typealias TrainingFixtures = Fixtures

extension Fixtures {
    /// The reference pack's tiny CLIP (state-dict form) with OpenAI's tokenizer, antialiased preprocessing.
    static func tinyCLIP() throws -> CLIPLossModel {
        let model = try CLIPModel(checkpoint: try loadFile(url("clip/model_state.pt").path))
        return CLIPLossModel(model: model, tokenizer: try CLIPTokenizer(bpeFile: try clipVocabulary()), antialias: true)
    }
}
