import Engine

/// What the NADA losses need from one CLIP model: the trainer never sees tokenizers or weight files.
public protocol CLIPFeatureModel: AnyObject {
    /// Side of the square input the image encoder expects (224 for ViT-B/32 and B/16).
    var inputResolution: Int { get }
    /// exp(logit_scale) of the checkpoint (100 for OpenAI's released models).
    var logitScaleExp: Float { get }
    /// Raw image features of already preprocessed pixels [N, 3, R, R]; differentiable w.r.t. the pixels.
    func encodeImage(_ pixels: Tensor) -> Tensor
    /// Raw text features [T, D] of the given strings (tokenized with context 77); not differentiable.
    func encodeText(_ texts: [String]) throws -> Tensor
    /// Preprocessing of generator outputs in [-1, 1] for this model (StyleGAN-NADA's tensor path).
    func preprocessGenerated(_ images: Tensor) -> Tensor
}
