import Foundation
import XCTest
@testable import Engine
import TestSupport

/// The resampling fixtures, read with Formats' .npy reader (the one reader every test target uses).
enum ResampleFixtures {
    static func tensor(_ name: String) throws -> Tensor {
        try Fixtures.tensor("engine-resize/" + name + ".npy")
    }

    /// max |a - b| and the bar 2e-5 · max(1, max|ref|).
    static func error(_ a: Tensor, _ ref: Tensor) -> (err: Float, bar: Float) {
        var err: Float = 0, m: Float = 0
        for (x, y) in zip(a.array, ref.array) { err = max(err, Swift.abs(x - y)); m = max(m, Swift.abs(y)) }
        return (err, 2e-5 * max(1, m))
    }
}

/// `resized` against PyTorch 2.15 `F.interpolate(..., align_corners=False)` (fixtures/engine-resize, made by
/// tools/gen_resize_fixtures.py): forward, and the input gradient of sum(out · g), for both modes with
/// antialias off and on, over downscales, upscales, odd and mixed sizes. Bar: 2e-5 · max(1, max|ref|).
final class ResizeTests: XCTestCase {
    // name -> output (H, W); keep in sync with tools/gen_resize_fixtures.py.
    let cases: [(String, Int, Int)] = [
        ("down8to5", 5, 5), ("up5x7to11x13", 11, 13), ("mixed13x9to4x17", 4, 17),
        ("down32x30to7x9", 7, 9), ("onlyW6x6to6x4", 6, 4),
    ]

    func testMatchesPyTorch() throws {
        var worst: Float = 0
        defer { print("ResizeTests: worst error / bar over all fixture cases = \(worst)") }
        for (name, h, w) in cases {
            let x = try ResampleFixtures.tensor(name + "_x")
            let g = try ResampleFixtures.tensor(name + "_g")
            for mode in [ResizeMode.bilinear, .bicubic] {
                for aa in [false, true] {
                    let variant = "\(name)_\(mode)_aa\(aa ? 1 : 0)"
                    let ref = try ResampleFixtures.tensor(variant + "_out")
                    let refGrad = try ResampleFixtures.tensor(variant + "_gx")
                    x.requiresGrad = true; x.grad = nil
                    let out = x.resized(height: h, width: w, mode: mode, antialias: aa)
                    XCTAssertEqual(out.shape, ref.shape, variant)
                    let (e, bar) = ResampleFixtures.error(out, ref)
                    XCTAssertLessThanOrEqual(e, bar, "\(variant) forward")
                    worst = max(worst, e / bar)
                    (out * g).sum().backward()
                    let (eg, barg) = ResampleFixtures.error(try XCTUnwrap(x.grad), refGrad)
                    XCTAssertLessThanOrEqual(eg, barg, "\(variant) input gradient")
                    worst = max(worst, eg / barg)
                }
            }
        }
    }

    /// Antialiasing must change a downscale (it widens the kernel) and bicubic must differ from bilinear:
    /// guards against a mode or flag being ignored.
    func testModesAndAntialiasDiffer() {
        var rng = SeededRandom(seed: 3)
        let x = Tensor.randn([1, 1, 12, 12], using: &rng)
        let a = x.resized(height: 5, width: 5, mode: .bicubic, antialias: false)
        let b = x.resized(height: 5, width: 5, mode: .bicubic, antialias: true)
        let c = x.resized(height: 5, width: 5, mode: .bilinear, antialias: false)
        XCTAssertGreaterThan(ResampleFixtures.error(a, b).err, 1e-3)
        XCTAssertGreaterThan(ResampleFixtures.error(a, c).err, 1e-3)
        // (12 -> 5: not an integer ratio, where bilinear and bicubic would both sample exact pixels.)
        // Same size: identity in every variant.
        for mode in [ResizeMode.bilinear, .bicubic] {
            for aa in [false, true] {
                XCTAssertEqual(x.resized(height: 12, width: 12, mode: mode, antialias: aa).array, x.array)
            }
        }
    }

    /// Central differences (h = 1e-2, Double accumulation); the op is linear so the bar is tight: 1e-3.
    func testGradientCheck() {
        var rng = SeededRandom(seed: 4)
        let x = Tensor.randn([2, 1, 7, 6], using: &rng)
        for (h, w) in [(3, 4), (10, 9), (7, 2)] {
            for mode in [ResizeMode.bilinear, .bicubic] {
                for aa in [false, true] {
                    let weights = Tensor.randn([2, 1, h, w], using: &rng)
                    let r = GradientCheck.check([x]) { (x.resized(height: h, width: w, mode: mode, antialias: aa) * weights).sum() }
                    XCTAssertLessThan(r.maxError, 1e-3, "\(h)x\(w) \(mode) aa=\(aa): \(r)")
                }
            }
        }
    }
}
