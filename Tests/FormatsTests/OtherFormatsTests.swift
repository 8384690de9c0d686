import Foundation
import XCTest
@testable import Formats

/// Legacy torch.save, TorchScript, safetensors and .npz.
final class OtherFormatsTests: XCTestCase {
    func testLegacyGeneratorEqualsZipGenerator() throws {
        let legacy = try loadFile(try Fixtures.reference("stylegan2/generator_legacy.pt"))
        XCTAssertEqual(legacy.format, .torchLegacy)
        let expected = try Fixtures.expectedObject("stylegan2/generator_legacy.pt")
        XCTAssertEqual(Set(legacy.topLevelKeys), Set(expected.keys))
        assertMatchesDigests(try legacy.stateDict("g_ema"), expected["g_ema"] as! [[String: Any]])
        // Same weights as the zip checkpoint of the same generator.
        let zip = try loadFile(try Fixtures.reference("stylegan2/generator.pt"))
        XCTAssertEqual(try legacy.stateDict("g_ema").map(\.array.bytes), try zip.stateDict("g_ema").map(\.array.bytes))
    }

    func testLegacyViewsAndValues() throws {
        let file = try loadFile(Fixtures.path("views_legacy.pt"))
        XCTAssertEqual(file.format, .torchLegacy)
        try checkViewsFixture(file)
    }

    func testTinyTorchScriptEqualsItsStateDict() throws {
        let jit = try loadFile(Fixtures.path("tiny_jit.pt"))
        let state = try loadFile(Fixtures.path("tiny_state.pt"))
        XCTAssertEqual(jit.format, .torchScript)
        XCTAssertEqual(jit.tensors.map(\.name), ["steps", "fc.weight", "fc.bias", "norm.weight", "norm.bias"])
        XCTAssertEqual(jit.tensors.map(\.name), state.tensors.map(\.name))
        XCTAssertEqual(jit.tensors.map(\.array.bytes), state.tensors.map(\.array.bytes))
        XCTAssertEqual(jit.root["fc.weight"]?.tensor?.floats(), [0.5, -1, 2, 0.25, 3, -0.125])
        XCTAssertEqual(jit.root["steps"]?.tensor?.int64s(), [5])
        XCTAssertEqual(jit.metadata["constants"], "float64[]", "the traced 1.702 constant, read as data")
    }

    func testCLIPTorchScriptMatchesTorchStateDict() throws {
        let file = try loadFile(try Fixtures.reference("clip/model_jit.pt"))
        XCTAssertEqual(file.format, .torchScript)
        assertMatchesDigests(file.tensors, try Fixtures.expectedDigests("clip/model_jit.pt"))
        XCTAssertEqual(file.metadata["constants"], "int64[], float64[], float16[77, 77], int64[]")
        XCTAssertEqual(file.root["input_resolution"]?.tensor?.int64s(), [48])
    }

    func testSmallSafetensors() throws {
        let file = try loadFile(Fixtures.path("small.safetensors"))
        XCTAssertEqual(file.format, .safetensors)
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "fixture"])
        XCTAssertEqual(file.tensors.map(\.name), ["u8", "w", "bf", "step", "empty"])
        XCTAssertEqual(file.root["u8"]?.tensor?.int64s(), [1, 2, 250])
        XCTAssertEqual(file.root["w"]?.tensor?.shape, [2, 3])
        XCTAssertEqual(file.root["w"]?.tensor?.floats(), [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], "misaligned F32")
        XCTAssertEqual(file.root["bf"]?.tensor?.floats(), [1.5, -3])
        XCTAssertEqual(file.root["step"]?.tensor?.shape, [])
        XCTAssertEqual(file.root["step"]?.tensor?.int64s(), [42])
        XCTAssertEqual(file.root["empty"]?.tensor?.shape, [0, 4])
    }

    /// The Hugging Face export holds the same CLIP weights in fp16, renamed, some transposed or split.
    func testHuggingFaceCLIPSafetensorsAgreesWithOpenAIWeights() throws {
        let hf = try loadFile(try Fixtures.reference("clip/hf/model.safetensors"))
        let openai = try loadFile(try Fixtures.reference("clip/model_state.pt"))
        XCTAssertEqual(hf.metadata["format"], "pt")
        XCTAssertTrue(hf.tensors.allSatisfy { $0.array.dtype == .float16 })
        func hfT(_ n: String) throws -> ArrayData { try XCTUnwrap(hf.root[n]?.tensor, n) }
        func oaT(_ n: String) throws -> ArrayData { try XCTUnwrap(openai.root[n]?.tensor, n) }
        XCTAssertEqual(try hfT("logit_scale").floats(), try oaT("logit_scale").floats())
        XCTAssertEqual(try hfT("text_model.embeddings.token_embedding.weight").floats(), try oaT("token_embedding.weight").floats())
        let proj = try oaT("text_projection"), projHF = try hfT("text_projection.weight")
        XCTAssertEqual(projHF.shape, proj.shape.reversed())
        let (r, c) = (proj.shape[0], proj.shape[1])
        let p = proj.floats(), q = projHF.floats()
        XCTAssertEqual((0..<c).flatMap { j in (0..<r).map { i in p[i * c + j] } }, q)
        let inProj = try oaT("transformer.resblocks.1.attn.in_proj_weight").floats()
        let k = try hfT("text_model.encoder.layers.1.self_attn.k_proj.weight").floats()
        XCTAssertEqual(Array(inProj[k.count..<(2 * k.count)]), k)
    }

    func testNpzStoredAndDeflated() throws {
        for name in ["stored.npz", "deflated.npz"] {
            let file = try loadFile(Fixtures.path(name))
            XCTAssertEqual(file.format, .npz, name)
            XCTAssertEqual(file.tensors.map(\.name), ["w", "codes"], name)
            XCTAssertEqual(file.root["w"]?.tensor?.shape, [2, 3, 4])
            XCTAssertEqual(file.root["w"]?.tensor?.floats(), (0..<24).map(Float.init), name)
            XCTAssertEqual(file.root["codes"]?.tensor?.int64s(), [0, 1, 2, 3, 4, 5], name)
        }
    }
}
