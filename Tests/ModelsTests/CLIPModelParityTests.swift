import Engine
import Formats
import Foundation
import XCTest
import Models

/// Parity of `CLIPModel` with the reference pack (`fixtures/clip/`, copied from
/// `../shared/reference/clip/`): the tiny random-weight ViT CLIP in all three forms it ships —
/// TorchScript (`model_jit.pt`), plain state dict (`model_state.pt`) and Hugging Face safetensors
/// (`hf/model.safetensors`) — against the official `clip/model.py` outputs (float32, 1 thread).
/// Tolerance as the pack states: max|ours − ref| ≤ 2e-5·max(1, max|ref|), capped at 1e-4.
final class CLIPModelParityTests: XCTestCase {
    static let forms = ["model_jit.pt", "model_state.pt", "hf/model.safetensors"]

    func testConfigIsInferredFromShapesInEveryForm() throws {
        for form in Self.forms {
            let c = try CLIPFixtures.model(form).config
            XCTAssertEqual(c, CLIPConfig(embedDim: 32, imageResolution: 48, visionLayers: 1, visionWidth: 128, visionPatchSize: 16,
                                         contextLength: 77, vocabSize: 49408, textWidth: 64, textLayers: 2), form)
            XCTAssertEqual(c.visionHeads, 2)
            XCTAssertEqual(c.textHeads, 1)
            XCTAssertEqual(try CLIPFixtures.model(form).logitScale.item, 4.60546875, form)
        }
    }

    func testTextFeaturesOfPromptsAndTemplates() throws {
        for form in Self.forms {
            let model = try CLIPFixtures.model(form)
            for set in ["prompts", "templates_photo", "templates_sketch"] {
                let tokens = try CLIPFixtures.tokens("text/\(set)_tokens.npy")
                let expected = try CLIPFixtures.array("text/\(set)_features.npy")
                let ours = try model.encodeText(tokens: tokens)
                XCTAssertEqual(ours.shape, expected.shape)
                try CLIPFixtures.assertClose(ours, expected, "\(form) \(set) features")
                // Skipping the padding after each batch's last EOT is exact (causal mask): the full
                // 77-position run (as PyTorch computes it) agrees too. Once per set keeps debug runs short.
                if form == "model_state.pt" {
                    let full = try model.encodeText(tokens: tokens, batchSize: 40, skipPadding: false)
                    try CLIPFixtures.assertClose(full, expected, "\(form) \(set) features, full context")
                }
            }
        }
        let normalized = try CLIPFixtures.model("model_state.pt").encodeText(tokens: CLIPFixtures.tokens("text/prompts_tokens.npy")).normalized()
        try CLIPFixtures.assertClose(normalized, CLIPFixtures.array("text/prompts_features_norm.npy"), "normalized prompt features")
    }

    func testTextRowsMayOmitThePadding() throws {
        let model = try CLIPFixtures.model("model_state.pt")
        let tokens = try CLIPFixtures.tokens("text/prompts_tokens.npy")
        // Rows cut just after their EOT (what a tokenizer without padding returns).
        let trimmed = tokens.map { row in Array(row[...row.firstIndex(of: row.max()!)!]) }
        try CLIPFixtures.assertClose(model.encodeText(tokens: trimmed), CLIPFixtures.array("text/prompts_features.npy"), "trimmed rows")
    }

    func testImageFeaturesAndLogits() throws {
        let images = try CLIPFixtures.array("image/images.npy")
        let texts = try CLIPFixtures.tokens("text/prompts_tokens.npy")
        for form in Self.forms {
            let model = try CLIPFixtures.model(form)
            let features = try model.encodeImage(images)
            try CLIPFixtures.assertClose(features, CLIPFixtures.array("image/image_features.npy"), "\(form) image features")
            try CLIPFixtures.assertClose(features.normalized(), CLIPFixtures.array("image/image_features_norm.npy"), "\(form) normalized image features")
            let logits = model.logitsPerImage(imageFeatures: features, textFeatures: try model.encodeText(tokens: texts))
            try CLIPFixtures.assertClose(logits, CLIPFixtures.array("image/logits_per_image.npy"), "\(form) logits_per_image")
        }
    }

    func testGradientWithRespectToTheInputImages() throws {
        let r = try CLIPFixtures.array("image/grad_R.npy")
        let expected = try CLIPFixtures.array("image/grad_images.npy")
        for form in Self.forms {
            let model = try CLIPFixtures.model(form)
            let images = try CLIPFixtures.array("image/images.npy")
            images.requiresGrad = true
            let loss = (try model.encodeImage(images) * r).sum()
            loss.backward()
            let grad = try XCTUnwrap(images.grad, "\(form): no gradient reached the images")
            try CLIPFixtures.assertClose(grad, expected, "\(form) d/d images of (encode_image(images)·R).sum()")
        }
    }

    func testIntermediatesOfBothTowers() throws {
        let model = try CLIPFixtures.model("model_jit.pt")
        var seen: [String: Tensor] = [:]
        _ = try model.encodeImage(CLIPFixtures.array("image/images.npy")) { name, value in seen[name] = value.copy() }
        // Ours: patch tokens [N, g², D]; reference: conv1 output [N, D, g, g].
        let conv1 = try XCTUnwrap(seen["vision_conv1"]).permuted([0, 2, 1]).reshaped([3, 128, 3, 3])
        try CLIPFixtures.assertClose(conv1, CLIPFixtures.array("intermediates/vision_conv1.npy"), "vision_conv1")
        for name in ["vision_ln_pre", "vision_block0", "vision_ln_post"] {
            try CLIPFixtures.assertClose(try XCTUnwrap(seen[name], name), CLIPFixtures.array("intermediates/\(name).npy"), name)
        }
        seen = [:]
        let tokens = Array(try CLIPFixtures.tokens("text/prompts_tokens.npy")[0..<2])
        _ = try model.encodeText(tokens: tokens, skipPadding: false) { name, value in seen[name] = value.copy() }
        for name in ["text_x0", "text_block0", "text_block1", "text_ln_final"] {
            try CLIPFixtures.assertClose(try XCTUnwrap(seen[name], name), CLIPFixtures.array("intermediates/\(name).npy"), name)
        }
    }
}

/// Access to `fixtures/clip/` (found from this file's path, so tests run from any directory).
enum CLIPFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/clip")

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    nonisolated(unsafe) static var models: [String: CLIPModel] = [:]

    static func model(_ form: String) throws -> CLIPModel {
        if let m = models[form] { return m }
        let m = try CLIPModel(checkpoint: try loadFile(path(form)))
        models[form] = m
        return m
    }

    static func array(_ relative: String) throws -> Tensor {
        let a = try readNpy(path(relative))
        return Tensor(shape: a.shape, values: a.floats())
    }

    static func tokens(_ relative: String) throws -> [[Int32]] {
        let a = try readNpy(path(relative))
        let ids = a.int64s(), width = a.shape[1]
        return (0..<a.shape[0]).map { i in ids[(i * width)..<((i + 1) * width)].map { Int32($0) } }
    }

    /// The pack's tolerance; records the measured error in the test log.
    static func assertClose(_ ours: Tensor, _ ref: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(ours.shape, ref.shape, what, file: file, line: line)
        guard ours.shape == ref.shape else { return }
        var maxDiff: Float = 0, maxRef: Float = 0
        for (a, b) in zip(ours.values, ref.values) { maxDiff = max(maxDiff, abs(a - b)); maxRef = max(maxRef, abs(b)) }
        let tol = min(1e-4, 2e-5 * max(1, maxRef))
        print("CLIP parity \(what): max|diff| \(maxDiff) (max|ref| \(maxRef), tolerance \(tol))")
        XCTAssertLessThanOrEqual(maxDiff, tol, "\(what): max|diff| \(maxDiff) > \(tol)", file: file, line: line)
    }
}
