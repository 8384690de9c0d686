import Engine
import Formats
import Foundation
import XCTest
import Models

/// The CLIP-specific ops (attention on a fused q/k/v projection, patch extraction), the HF name table
/// and the loader's error messages, on tiny synthetic inputs.
final class CLIPModelOpsTests: XCTestCase {
    func testAttentionGradientMatchesFiniteDifferences() {
        for causal in [false, true] {
            var rng = SeededRandom(seed: 7)
            let qkv = Tensor.randn([2, 4, 3 * 8], using: &rng)
            let r = Tensor.randn([2, 4, 8], using: &rng)
            let result = GradientCheck.check([qkv], step: 1e-2) { (qkv.multiHeadAttention(heads: 2, causal: causal) * r).sum() }
            XCTAssertLessThan(result.maxError, 2e-3, "causal \(causal): \(result)")
        }
    }

    func testAttentionKernelEqualsRecordedPathAndNaiveMath() {
        var rng = SeededRandom(seed: 3)
        let n = 2, t = 5, heads = 2, hd = 4, d = heads * hd
        let qkv = Tensor.randn([n, t, 3 * d], using: &rng)
        for causal in [false, true] {
            let fast = Autograd.noGrad { qkv.multiHeadAttention(heads: heads, causal: causal) }
            qkv.requiresGrad = true
            let recorded = qkv.multiHeadAttention(heads: heads, causal: causal)
            qkv.requiresGrad = false
            // Naive: scores, mask, softmax, weighted sum, in Double.
            let x = qkv.array
            var worst = 0.0, worstRecorded = 0.0
            for b in 0..<n { for h in 0..<heads { for i in 0..<t {
                var s = [Double](repeating: -.infinity, count: t)
                for j in 0..<t where !causal || j <= i {
                    var dot = 0.0
                    for c in 0..<hd { dot += Double(x[(b * t + i) * 3 * d + h * hd + c]) * Double(x[(b * t + j) * 3 * d + d + h * hd + c]) }
                    s[j] = dot / Double(hd).squareRoot()
                }
                let m = s.max()!, e = s.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                for c in 0..<hd {
                    var o = 0.0
                    for j in 0..<t { o += e[j] / z * Double(x[(b * t + j) * 3 * d + 2 * d + h * hd + c]) }
                    let k = (b * t + i) * d + h * hd + c
                    worst = max(worst, abs(o - Double(fast.values[k])))
                    worstRecorded = max(worstRecorded, abs(o - Double(recorded.values[k])))
                }
            } } }
            XCTAssertLessThan(worst, 1e-5, "kernel, causal \(causal)")
            XCTAssertLessThan(worstRecorded, 1e-5, "recorded, causal \(causal)")
        }
    }

    func testPatchesAreConvolutionWithStrideEqualKernel() {
        var rng = SeededRandom(seed: 5)
        let images = Tensor.randn([2, 3, 6, 6], using: &rng)
        let w = Tensor.randn([4, 3, 3, 3], using: &rng)
        let out = images.patches(size: 3).linear(weight: w.reshaped([4, 27])) // [2, 4, 4]
        var worst: Float = 0
        for b in 0..<2 { for o in 0..<4 { for gy in 0..<2 { for gx in 0..<2 {
            var acc: Float = 0
            for c in 0..<3 { for ky in 0..<3 { for kx in 0..<3 {
                acc += images.values[((b * 3 + c) * 6 + gy * 3 + ky) * 6 + gx * 3 + kx] * w.values[((o * 3 + c) * 3 + ky) * 3 + kx]
            } } }
            worst = max(worst, abs(acc - out.values[(b * 4 + gy * 2 + gx) * 4 + o]))
        } } } }
        XCTAssertLessThan(worst, 1e-5)
        let r = Tensor.randn([2, 4, 27], using: &rng)
        let check = GradientCheck.check([images]) { (images.patches(size: 3) * r).sum() }
        XCTAssertLessThan(check.maxError, 1e-3, "\(check)")
    }

    func testHuggingFaceNamesMapToOpenAINames() throws {
        // Width 4: q/k/v rows are concatenated, projections transposed, the rest copied.
        func arr(_ shape: [Int], _ base: Float) -> ArrayData { ArrayData(shape: shape, floats: (0..<shape.reduce(1, *)).map { base + Float($0) }) }
        var hf: [(name: String, array: ArrayData)] = [
            ("text_projection.weight", arr([3, 4], 0)), ("visual_projection.weight", arr([3, 4], 100)),
            ("logit_scale", arr([], 4.6)),
        ]
        for (_, name, _) in CLIPWeightNames.topLevel where !hf.contains(where: { $0.name == name }) { hf.append((name, arr([2], 0))) }
        for p in ["text_model.encoder.layers.0.", "vision_model.encoder.layers.0."] {
            hf += [("\(p)self_attn.q_proj.weight", arr([4, 4], 0)), ("\(p)self_attn.k_proj.weight", arr([4, 4], 16)),
                   ("\(p)self_attn.v_proj.weight", arr([4, 4], 32)), ("\(p)self_attn.q_proj.bias", arr([4], 0)),
                   ("\(p)self_attn.k_proj.bias", arr([4], 4)), ("\(p)self_attn.v_proj.bias", arr([4], 8))]
            for s in ["self_attn.out_proj.weight", "self_attn.out_proj.bias", "layer_norm1.weight", "layer_norm1.bias", "mlp.fc1.weight",
                      "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias", "layer_norm2.weight", "layer_norm2.bias"] { hf.append(("\(p)\(s)", arr([2], 0))) }
        }
        hf.append(("text_model.embeddings.position_ids", ArrayData(shape: [1, 3], floats: [0, 1, 2]))) // ignored
        XCTAssertTrue(CLIPWeightNames.isHuggingFace(hf.map { $0.name }))
        let mapped = try CLIPWeightNames.openAINamed(hf, source: "synthetic")
        let byName = Dictionary(uniqueKeysWithValues: mapped.map { ($0.name, $0.array) })
        XCTAssertEqual(byName.count, 14 + 2 * 12)
        XCTAssertEqual(byName["text_projection"]?.shape, [4, 3])
        XCTAssertEqual(byName["text_projection"]?.floats(), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        XCTAssertEqual(byName["visual.proj"]?.floats().first, 100)
        XCTAssertEqual(byName["transformer.resblocks.0.attn.in_proj_weight"]?.shape, [12, 4])
        XCTAssertEqual(byName["visual.transformer.resblocks.0.attn.in_proj_weight"]?.floats(), (0..<48).map { Float($0) })
        XCTAssertEqual(byName["transformer.resblocks.0.attn.in_proj_bias"]?.floats(), (0..<12).map { Float($0) })
        // OpenAI names pass through untouched.
        let openAI = [(name: "visual.proj", array: arr([2, 2], 0))]
        XCTAssertEqual(try CLIPWeightNames.openAINamed(openAI, source: "x").map { $0.name }, ["visual.proj"])
        // A missing HF tensor is named in the error.
        let broken = hf.filter { $0.name != "vision_model.encoder.layers.0.self_attn.k_proj.bias" }
        XCTAssertThrowsError(try CLIPWeightNames.openAINamed(broken, source: "synthetic")) { error in
            XCTAssertTrue("\(error)".contains("vision_model.encoder.layers.0.self_attn.k_proj.bias"), "\(error)")
        }
    }

    func testConfigInferenceFollowsBuildModel() throws {
        var shapes: [String: [Int]] = [
            "visual.proj": [768, 512], "visual.conv1.weight": [768, 3, 32, 32], "visual.positional_embedding": [50, 768],
            "text_projection": [512, 512], "positional_embedding": [77, 512], "token_embedding.weight": [49408, 512], "ln_final.weight": [512],
        ]
        for i in 0..<12 {
            shapes["visual.transformer.resblocks.\(i).attn.in_proj_weight"] = [2304, 768]
            shapes["transformer.resblocks.\(i).attn.in_proj_weight"] = [1536, 512]
            shapes["transformer.resblocks.\(i).ln_1.weight"] = [512]
        }
        XCTAssertEqual(try CLIPConfig(inferringFrom: shapes, source: "b32"), .vitB32)
        shapes["visual.conv1.weight"] = [768, 3, 16, 16]
        shapes["visual.positional_embedding"] = [197, 768]
        XCTAssertEqual(try CLIPConfig(inferringFrom: shapes, source: "b16"), .vitB16)
        shapes["visual.positional_embedding"] = [198, 768]
        XCTAssertThrowsError(try CLIPConfig(inferringFrom: shapes, source: "bad grid"))
        shapes["visual.proj"] = nil
        shapes["visual.layer1.0.conv1.weight"] = [64, 64, 1, 1]
        XCTAssertThrowsError(try CLIPConfig(inferringFrom: shapes, source: "rn50")) { XCTAssertTrue("\($0)".contains("ResNet"), "\($0)") }
    }

    func testBadInputsThrowClearErrors() throws {
        let tiny = CLIPConfig(embedDim: 8, imageResolution: 8, visionLayers: 1, visionWidth: 64, visionPatchSize: 4,
                              contextLength: 6, vocabSize: 10, textWidth: 64, textLayers: 1)
        let model = CLIPModel.random(config: tiny, seed: 1)
        XCTAssertThrowsError(try model.encodeImage(Tensor.zeros([1, 3, 9, 9]))) { XCTAssertTrue("\($0)".contains("[N, 3, 8, 8]"), "\($0)") }
        XCTAssertThrowsError(try model.encodeText(tokens: [[1, 2, 10]])) { XCTAssertTrue("\($0)".contains("token id 10"), "\($0)") }
        XCTAssertThrowsError(try model.encodeText(tokens: [[1, 2, 3, 4, 5, 6, 7]])) { XCTAssertTrue("\($0)".contains("7 tokens"), "\($0)") }
        XCTAssertThrowsError(try model.encodeText(tokens: [[]]))
        XCTAssertEqual(try model.encodeText(tokens: [[1, 9, 0], [2, 3, 9, 0, 0, 0]]).shape, [2, 8])
        XCTAssertThrowsError(try CLIPModel(checkpoint: try loadFile(CLIPFixtures.path("text/prompts_features.npy"))))
    }
}
