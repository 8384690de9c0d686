import Engine
import Formats
import Foundation
import Imaging
import Models

/// `nada-edit embed`: CLIP features, one float32 row per input, as `model.encode_text(clip.tokenize(texts))` or
/// `model.encode_image(preprocess(Image.open(file)))` give them.
public enum CLIPEmbedding {
    /// [N, embed_dim] text features.
    public static func text(_ texts: [String], model: CLIPModel, tokenizer: CLIPTokenizer, normalize: Bool) throws -> Tensor {
        let rows = try tokenizer.tokenize(texts, contextLength: model.config.contextLength)
        let features = try model.encodeText(tokens: rows)
        return normalize ? Autograd.noGrad { features.normalized() } : features
    }

    /// [N, embed_dim] image features of image files, each through CLIP's PIL preprocessing (Pillow bicubic resize of
    /// the short side, centre crop, RGB, (v/255 − mean)/std).
    public static func images(_ paths: [String], model: CLIPModel, normalize: Bool) throws -> Tensor {
        let r = model.config.imageResolution
        var values = [Float]()
        values.reserveCapacity(paths.count * 3 * r * r)
        for path in paths {
            let image = try clipPreprocessImageFile(path: path, size: r, mean: CLIPNormalization.mean, std: CLIPNormalization.std)
            guard image.shape == [3, r, r] else {
                throw PipelineError.io(path: path, problem: "preprocessing gave \(image.shape), expected [3, \(r), \(r)]")
            }
            values += image.values
        }
        let features = try Autograd.noGrad { try model.encodeImage(Tensor(shape: [paths.count, 3, r, r], values: values)) }
        return normalize ? Autograd.noGrad { features.normalized() } : features
    }

    /// Writes features as a float32 `.npy`; returns its shape.
    @discardableResult
    public static func write(_ features: Tensor, to path: String) throws -> [Int] {
        try writeNpy(ArrayData(shape: features.shape, floats: features.array), to: path)
        return features.shape
    }
}
