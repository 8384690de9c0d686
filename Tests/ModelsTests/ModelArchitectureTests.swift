import Foundation
import XCTest
import Formats
@testable import Models

/// `models inspect` asks the models' own shape inference what a file holds (issue 14: no second copy of the
/// layouts), and that inference survives hostile shapes although Models is built without bounds checks.
final class ModelArchitectureTests: XCTestCase {
    func lines(_ relative: String) throws -> [String] {
        ModelArchitecture.describe(try loadFile(ModelFixtures.path(relative)))
    }

    func testGeneratorEncodersAndCLIP() throws {
        // The reference generator: size 64, style_dim 64, n_mlp 3, n_latent 10 (the pack's manifest).
        XCTAssertEqual(try lines("stylegan2/generator.pt"),
                       ["StyleGAN2 generator (rosinality layout) ('g_ema'): 64x64 px, style_dim 64, n_mlp 3, 10 W+ latents, 32 channels at 4x4"])
        let e4e = try lines("encoders/e4e.pt")
        XCTAssertTrue(e4e.contains("e4e (Encoder4Editing): 10 style outputs, 3-channel input, decoder 64x64 px, has latent_avg"), "\(e4e)")
        XCTAssertTrue(e4e.contains { $0.hasPrefix("StyleGAN2 generator (rosinality layout) ('state_dict.decoder'): 64x64 px") }, "\(e4e)")
        XCTAssertTrue(try lines("encoders/restyle_e4e.pt").contains { $0.hasPrefix("ReStyle e4e (ProgressiveBackboneEncoder): ") && $0.contains("6-channel input") })
        XCTAssertTrue(try lines("encoders/psp.pt").contains { $0.hasPrefix("pSp (GradualStyleEncoder): ") })
        // Three forms of one CLIP, one configuration, as CLIPModel(checkpoint:) infers it.
        let config = try CLIPModel(checkpoint: try loadFile(ModelFixtures.path("clip/model_state.pt"))).config
        for (form, family) in [("clip/model_jit.pt", "OpenAI CLIP"), ("clip/model_state.pt", "OpenAI CLIP"),
                               ("clip/hf/model.safetensors", "Hugging Face CLIPModel")] {
            XCTAssertEqual(try lines(form), ["\(family) ViT: \(config)"], form)
        }
    }

    func testLatentCodesAndUnknownArrays() throws {
        XCTAssertEqual(try lines("encoders/e4e_codes.npy").count, 1)
        XCTAssertTrue(try lines("encoders/e4e_codes.npy")[0].hasPrefix("latent codes: "))
        XCTAssertEqual(try lines("formats/c_f32.npy"), [], "a [2, 3, 4] array is not W+ codes")
    }

    /// Well-known tensor names with shapes no real model has (scalars, empty, huge): each guess says why the
    /// loader would refuse, without indexing past a shape or overflowing.
    func testHostileShapesUnderKnownNames() throws {
        func t(_ shape: [Int]) throws -> PyValue {
            .tensor(try ArrayData(dtype: .float32, shape: shape, bytes: Data(count: 4 * (try checkedCount(shape)))))
        }
        let big = 1 << 62
        let names: [(String, [Int])] = [
            ("input.input", []), ("conv1.conv.weight", [0]), ("conv1.conv.modulation.weight", [4, 4]), ("style.1.weight", []),
            ("encoder.input_layer.0.weight", [0]), ("encoder.styles.0.weight", []),
            ("visual.conv1.weight", [0, big, 0, big]), ("token_embedding.weight", [1, 1]), ("visual.proj", []),
            ("visual.positional_embedding", [big, 0]), ("text_projection", [1, 1]), ("positional_embedding", [1, 1]),
            ("ln_final.weight", [64]), ("transformer.resblocks.", [1]), ("visual.transformer.resblocks.0.attn.in_proj_weight", [1]),
        ]
        let root = PyValue.dict(try names.map { (key: PyValue.string($0.0), value: try t($0.1)) })
        let found = ModelArchitecture.describe(LoadedFile(path: "hostile.safetensors", format: .safetensors, root: root))
        XCTAssertEqual(found.count, 3, "\(found)")
        XCTAssertTrue(found[0].hasPrefix("StyleGAN2 generator (rosinality layout), not loadable: hostile.safetensors: 'style.1.weight' has shape []"), "\(found)")
        XCTAssertTrue(found[1].hasPrefix("pSp-family encoder, not loadable: hostile.safetensors: 'encoder.input_layer.0.weight' has shape [0]"), "\(found)")
        XCTAssertTrue(found[2].hasPrefix("OpenAI CLIP, not loadable: "), "\(found)")
        XCTAssertTrue(found[2].contains("do not describe a square patch grid"), "\(found)")
    }
}
