import Engine
import Foundation
import Models

/// A CLIP checkpoint with its tokenizer and preprocessing, as the NADA losses use it.
/// Weights are frozen: gradients reach the images, never CLIP.
public final class CLIPLossModel: CLIPFeatureModel {
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    /// Bicubic resize with antialiasing (torchvision >= 0.17, the reference pack) or without (the paper's 0.8.2).
    public let antialias: Bool
    public let name: String

    public init(model: CLIPModel, tokenizer: CLIPTokenizer, antialias: Bool = true, name: String = "CLIP") {
        self.model = model
        self.tokenizer = tokenizer
        self.antialias = antialias
        self.name = name
    }

    public var inputResolution: Int { model.config.imageResolution }
    public var logitScaleExp: Float { Foundation.exp(model.logitScale.item) }

    public func encodeImage(_ pixels: Tensor) -> Tensor {
        // Shapes come from our own preprocessing, so a failure here is a programming error.
        try! model.encodeImage(pixels)
    }

    public func encodeText(_ texts: [String]) throws -> Tensor {
        try model.encodeText(tokens: try tokenizer.tokenize(texts))
    }

    public func preprocessGenerated(_ images: Tensor) -> Tensor {
        clipPreprocessGenerated(images, resolution: inputResolution, antialias: antialias)
    }
}
