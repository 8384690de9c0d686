import Engine
import XCTest
@testable import Models

/// What `--precision bf16` does to whole models at sizes where it applies (random weights; fp32, whose parity with
/// the official code the other tests show, is the reference). Heavy: release only (`swift test -c release`), as the
/// other real-size tests; a debug build skips with that message.
final class BF16ModelTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(Precision.cpuHasBF16, "this CPU has no AVX512-BF16: --precision bf16 runs fp32 here")
        #if DEBUG
        throw XCTSkip("real-size bf16 checks run in release builds (swift test -c release)")
        #endif
    }

    func relativeMaxError(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.array, b.array).map { abs($0 - $1) }.max()! / b.array.map(abs).max()!
    }

    /// A 64×64 generator with config-f widths (512 channels up to 32×32, so its convolutions take the GEMM paths
    /// that bf16 changes): the image stays within 1e-2 of its largest value (issue 17's bound), and bf16 did run.
    func testStyleGAN2ImageWithin1e2OfFP32() throws {
        let config = try StyleGAN2Config(size: 64, styleDim: 512, nMLP: 8, channels: [512, 512, 512, 512, 512])
        let g = StyleGAN2Generator(config: config, seed: 5)
        var rng = SeededRandom(seed: 9)
        let w = Tensor.randn([2, config.nLatent, 512], using: &rng)
        let fp32 = try Autograd.noGrad { try g.forward(wPlus: w) }
        let bf16 = try Precision.with(.bf16) { try Autograd.noGrad { try g.forward(wPlus: w) } }
        let error = relativeMaxError(bf16, fp32)
        XCTAssertLessThan(error, 1e-2, "image error in bf16")
        XCTAssertGreaterThan(error, 1e-5, "the products really ran in bf16")
        print("bf16 StyleGAN2 64 (config-f widths) image: max error \(error) of the largest value")
    }

    /// CLIP ViT-B/32 image features (what the losses compare): cosine to fp32 ≥ 0.999 per image.
    func testCLIPFeaturesKeepTheirDirection() throws {
        let model = CLIPModel.random(config: .vitB32, seed: 3)
        var rng = SeededRandom(seed: 4)
        let x = Tensor.randn([2, 3, 224, 224], using: &rng)
        let fp32 = try Autograd.noGrad { try model.encodeImage(x) }.array
        let bf16 = try Precision.with(.bf16) { try Autograd.noGrad { try model.encodeImage(x) } }.array
        let d = fp32.count / 2
        for i in 0..<2 {
            let a = Array(fp32[i * d..<(i + 1) * d]), b = Array(bf16[i * d..<(i + 1) * d])
            let dot = zip(a, b).map { Double($0) * Double($1) }.reduce(0, +)
            let cos = dot / (sqrt(a.map { Double($0 * $0) }.reduce(0, +)) * sqrt(b.map { Double($0 * $0) }.reduce(0, +)))
            XCTAssertGreaterThanOrEqual(cos, 0.999, "image \(i)")
            XCTAssertLessThan(cos, 1 - 1e-9, "the products really ran in bf16")
            print("bf16 CLIP ViT-B/32 image \(i): feature cosine to fp32 \(cos)")
        }
    }
}
