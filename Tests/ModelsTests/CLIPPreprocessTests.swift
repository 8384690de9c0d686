import Foundation
import Formats
import XCTest
import Engine
@testable import Models

/// `clipPreprocessGenerated` against the CLIP reference pack's StyleGAN-NADA preprocessing outputs
/// (`preprocess_nada/`, copied to fixtures/clip-preprocess/). In the pack's terms:
///  - `out_S*_n*_aa1.npy` = NADA's preprocess under torchvision 0.29 (Resize antialias on)  -> `antialias: true`
///  - `out_S*_n48_aa0.npy` = the same with Resize(antialias=False), torchvision < 0.17 / the paper's 0.8.2
///    -> `antialias: false`
/// Inputs are `(float32(u8) - 128) / 112` of the pack's uint8 inputs (S = 64, 256 stored; S = 1024 is
/// regenerated from its SplitMix64 recipe and checked against the pack's byte sum and first bytes).
/// Bar: max |ours - ref| <= 2e-5 · max(1, max|ref|) (the pack's own float32 floor is up to 2.7e-4 for a
/// float64 implementation; ours mirrors PyTorch's float32 arithmetic).
final class CLIPPreprocessTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/clip-preprocess")

    /// The regenerated S = 1024 input, shared by the tests (3 M bytes are slow to make in debug builds).
    static let input1024: [UInt8] = splitmixBytes(seed: 13, count: 3 * 1024 * 1024)

    func input(size: Int) throws -> Tensor {
        let bytes: [Float]
        if size == 1024 {
            let raw = Self.input1024
            XCTAssertEqual(Array(raw.prefix(8)), [220, 196, 84, 162, 74, 209, 89, 185])
            XCTAssertEqual(raw.reduce(0) { $0 + Int($1) }, 400_974_150)
            bytes = raw.map { Float($0) }
        } else {
            let (shape, values) = try Self.readNpy("input_S\(size)_u8")
            XCTAssertEqual(shape, [1, 3, size, size])
            bytes = values
        }
        return Tensor(shape: [1, 3, size, size], values: bytes.map { ($0 - 128) / 112 })
    }

    func check(size: Int, resolution: Int, antialias: Bool) throws {
        let name = "out_S\(size)_n\(resolution)_aa\(antialias ? 1 : 0)"
        let (shape, ref) = try Self.readNpy(name)
        let out = clipPreprocessGenerated(try input(size: size), resolution: resolution, antialias: antialias)
        XCTAssertEqual(out.shape, shape, name)
        var err: Float = 0, m: Float = 0
        for (a, b) in zip(out.array, ref) { err = max(err, Swift.abs(a - b)); m = max(m, Swift.abs(b)) }
        print("CLIPPreprocessTests \(name): max abs error \(err), max |ref| \(m)")
        XCTAssertLessThanOrEqual(err, 2e-5 * max(1, m), name)
    }

    /// Paper setup (torchvision 0.8.2 semantics): antialias off, downscales 64/256/1024 -> 48.
    func testLegacyNoAntialias() throws {
        for s in [64, 256, 1024] { try check(size: s, resolution: 48, antialias: false) }
    }

    /// torchvision >= 0.17 default: antialias on, downscales to 48 and the 64 -> 224 upscale.
    func testAntialias() throws {
        for s in [64, 256, 1024] { try check(size: s, resolution: 48, antialias: true) }
        try check(size: 64, resolution: 224, antialias: true)
    }

    /// Non-square input (short side resized, long side center-cropped with a half-even offset) and the
    /// gradient w.r.t. the generator output, both settings (central differences, bar 2e-3).
    func testNonSquareAndGradient() {
        var rng = SeededRandom(seed: 7)
        let x = Tensor.randn([2, 3, 7, 9], using: &rng)
        for aa in [false, true] {
            let out = clipPreprocessGenerated(x, resolution: 4, antialias: aa)
            XCTAssertEqual(out.shape, [2, 3, 4, 4])
            // 7x9 -> 4x5, crop left = round(0.5) = 0: the first 4 columns of the resize.
            let full = (x.resized(height: 4, width: 5, mode: .bicubic, antialias: aa) + 1) / 2
            let expect = (full.slice(axis: 3, 0..<4) - Tensor(shape: [3, 1, 1], values: [0.48145466, 0.4578275, 0.40821073]))
                / Tensor(shape: [3, 1, 1], values: [0.26862954, 0.26130258, 0.27577711])
            XCTAssertEqual(out.array, expect.array)
            let probe = Tensor.randn([2, 3, 4, 4], using: &rng)
            let r = GradientCheck.check([x]) { (clipPreprocessGenerated(x, resolution: 4, antialias: aa) * probe).sum() }
            XCTAssertLessThan(r.maxError, 2e-3, "antialias \(aa): \(r)")
        }
    }

    /// The pack's SplitMix64 byte generator: top byte of the SplitMix64 output for seed + i·golden.
    static func splitmixBytes(seed: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { i in
            var z = seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z = z ^ (z >> 31)
            return UInt8(z >> 56)
        }
    }

    /// A fixture array (float32 or uint8) through Formats' .npy reader.
    static func readNpy(_ name: String) throws -> ([Int], [Float]) {
        let array = try Formats.readNpy(fixtures.appendingPathComponent(name + ".npy").path)
        return (array.shape, array.floats())
    }
}
