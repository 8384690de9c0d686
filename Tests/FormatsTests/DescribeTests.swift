import Foundation
import XCTest
@testable import Formats

final class DescribeTests: XCTestCase {
    func testStyleGAN2Generator() throws {
        let text = describe(try loadFile(try Fixtures.reference("stylegan2/generator.pt")), maxTensors: 3)
        print(text)
        XCTAssertTrue(text.contains("format: PyTorch zip checkpoint"))
        XCTAssertTrue(text.contains("top-level: g_ema (89 tensors)"))
        // The reference generator: size 64, style_dim 64, n_mlp 3, n_latent 10 (manifest config).
        XCTAssertTrue(text.contains("StyleGAN2 generator (rosinality layout) ('g_ema'): 64x64 px, style_dim 64, n_mlp 3, 10 W+ latents, 32 channels at 4x4"), text)
        XCTAssertTrue(text.contains("  g_ema.style.1.weight"))
        XCTAssertTrue(text.contains("... 86 more"))
    }

    func testEncoders() throws {
        let e4e = describe(try loadFile(try Fixtures.reference("encoders/e4e.pt")), maxTensors: 0)
        print(e4e)
        XCTAssertTrue(e4e.contains("e4e (Encoder4Editing): 10 style outputs, 3-channel input, decoder 64x64 px, has latent_avg"), e4e)
        XCTAssertTrue(e4e.contains("StyleGAN2 generator (rosinality layout) ('state_dict.decoder')"), e4e)
        let restyle = describe(try loadFile(try Fixtures.reference("encoders/restyle_e4e.pt")), maxTensors: 0)
        XCTAssertTrue(restyle.contains("ReStyle e4e (ProgressiveBackboneEncoder)"), restyle)
        XCTAssertTrue(restyle.contains("6-channel input"), restyle)
    }

    func testCLIPAndLatents() throws {
        let jit = describe(try loadFile(try Fixtures.reference("clip/model_jit.pt")), maxTensors: 0)
        print(jit)
        XCTAssertTrue(jit.contains("format: TorchScript archive"))
        XCTAssertTrue(jit.contains("OpenAI CLIP ViT"), jit)
        let hf = describe(try loadFile(try Fixtures.reference("clip/hf/model.safetensors")), maxTensors: 0)
        XCTAssertTrue(hf.contains("Hugging Face CLIPModel"), hf)
        XCTAssertTrue(hf.contains("metadata format: pt"), hf)
    }

    func testUnknownAndArrays() throws {
        let npy = describe(try loadFile(Fixtures.path("c_f32.npy")))
        XCTAssertTrue(npy.contains("format: NumPy .npy"))
        XCTAssertTrue(npy.contains("not recognised"))
        XCTAssertTrue(npy.contains("float32  [2, 3, 4]"), npy)
    }

    /// Well-known tensor names with shapes no real model has (scalars, empty, huge): the guesses must
    /// not index past a shape or overflow (Formats is built with checks on, so that would trap).
    func testHostileShapesUnderKnownNamesDoNotTrap() throws {
        func t(_ shape: [Int]) throws -> PyValue {
            .tensor(try ArrayData(dtype: .float32, shape: shape, bytes: Data(count: 4 * (try checkedCount(shape)))))
        }
        let big = 1 << 62
        let names: [(String, [Int])] = [
            ("input.input", []), ("conv1.conv.weight", [0]), ("style.1.weight", []),
            ("encoder.input_layer.0.weight", [0]), ("encoder.styles.0.weight", []),
            ("visual.conv1.weight", [0, big]), ("token_embedding.weight", []), ("visual.proj", []),
            ("visual.positional_embedding", [0, big]),
            ("vision_model.embeddings.patch_embedding.weight", []), ("text_model.embeddings.token_embedding.weight", []),
        ]
        let root = PyValue.dict(try names.map { (key: PyValue.string($0.0), value: try t($0.1)) })
        let text = describe(LoadedFile(path: "hostile.safetensors", format: .safetensors, root: root))
        XCTAssertTrue(text.contains("StyleGAN2 generator (rosinality layout): 4x4 px, style_dim 0, n_mlp 1, 2 W+ latents, 0 channels at 4x4"), text)
        XCTAssertTrue(text.contains("pSp-family encoder (encoder_type ?): 1 style outputs, 0-channel input"), text)
        XCTAssertTrue(text.contains("OpenAI CLIP ViT: width 0, 0 layers, patch \(big), 0 px input, embed dim 0, vocab 0"), text)
        XCTAssertTrue(text.contains("Hugging Face CLIPModel: vision width 0"), text)
    }
}
