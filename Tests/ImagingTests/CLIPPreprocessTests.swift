import Formats
import XCTest
@testable import Imaging

/// CLIP's PIL preprocessing against the reference pack (preprocess_pil/: Pillow 13.0.0 +
/// torchvision 0.29.2, copied to fixtures/images/): RGB (chelsea), L (camera) and RGBA
/// (astronaut) PNGs, uint8 after Resize+CenterCrop+convert('RGB') at 224 and 48, and the float
/// [3,48,48] after ToTensor+Normalize.
final class CLIPPreprocessTests: XCTestCase {
    /// openai/CLIP `_transform`'s constants (Models.CLIPNormalization; Imaging does not depend on Models).
    static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    static let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    let names = ["chelsea", "camera", "astronaut"]

    func testUint8ResizeAndCropMatchPillowExactly() throws {
        for name in names {
            for size in [224, 48] {
                let ref = try readNpy("\(TestSupport.fixtures)/\(name)_n\(size)_rgb_u8.npy")
                XCTAssertEqual(ref.shape, [size, size, 3])
                XCTAssertEqual(ref.dtype, .uint8)
                let ours = try clipResizeAndCrop(path: "\(TestSupport.fixtures)/\(name).png", size: size)
                let diffs = zip(ours.pixels, [UInt8](ref.bytes)).filter { $0 != $1 }.count
                XCTAssertEqual(diffs, 0, "\(name) n=\(size): \(diffs) of \(ref.count) values differ")
            }
        }
    }

    func testNormalizedFloatsMatchBitwise() throws {
        for name in names {
            let ref = try readNpy("\(TestSupport.fixtures)/\(name)_n48.npy")
            let ours = try clipPreprocessImageFile(path: "\(TestSupport.fixtures)/\(name).png", size: 48, mean: Self.clipMean, std: Self.clipStd)
            XCTAssertEqual(ours.shape, [3, 48, 48])
            XCTAssertEqual(ref.shape, [3, 48, 48])
            let maxDiff = zip(ours.values, ref.floats()).map { abs($0 - $1) }.max()!
            XCTAssertEqual(maxDiff, 0, "\(name): max |ours - ref| = \(maxDiff)")
        }
    }

    func testSizeRuleAndCropOffsets() throws {
        // Examples from the spec: 640x480 -> 298x224 (crop left 37); 500x333 -> 336x224 (left 56).
        XCTAssertTrue(CLIPPreprocess.resizedSize(width: 640, height: 480, shortSide: 224) == (298, 224))
        XCTAssertTrue(CLIPPreprocess.resizedSize(width: 500, height: 333, shortSide: 224) == (336, 224))
        XCTAssertEqual(centerCropOffset(298, 224), 37)
        XCTAssertEqual(centerCropOffset(336, 224), 56)
        // Round half to even: margins 1, 3, 5, 7 -> 0, 2, 2, 4.
        XCTAssertEqual([1, 3, 5, 7].map { centerCropOffset(224 + $0, 224) }, [0, 2, 2, 4])
        // Padding when the crop is larger: 2x1 image into 4x3 -> image at (1, 1).
        let img = try RGBImage(width: 2, height: 1, pixels: [9, 9, 9, 8, 8, 8])
        let padded = try centerCrop(img, width: 4, height: 3)
        XCTAssertEqual(padded[1, 1].r, 9)
        XCTAssertEqual(padded[2, 1].r, 8)
        XCTAssertEqual(padded[0, 0].r, 0)
    }

    /// Properties of the resampler that do not need Pillow: a constant image stays constant,
    /// an identity resize is a copy, and bilinear upscaling by 2 of [0, 255] ramps as Pillow's
    /// triangle filter predicts.
    func testResamplerProperties() throws {
        let flat = RGBImage(width: 37, height: 23, fill: (17, 130, 250))
        for filter in [ResampleFilter.bicubic, .bilinear, .nearest] {
            for (w, h) in [(10, 7), (80, 50), (37, 5)] {
                let out = try pilResize(flat, width: w, height: h, filter: filter)
                XCTAssertEqual(out, RGBImage(width: w, height: h, fill: (17, 130, 250)), "\(filter) \(w)x\(h)")
            }
        }
        var r = TestRandom(seed: 5)
        let noise = try RGBImage(width: 9, height: 4, pixels: r.bytes(108))
        XCTAssertEqual(try pilResize(noise, width: 9, height: 4), noise)
        // 2 -> 4 pixels, bilinear: centres at 0.25, 0.75, 1.25, 1.75 of the input grid -> 0, 64, 191, 255.
        let ramp = try RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 255, 255, 255])
        let up = try pilResize(ramp, width: 4, height: 1, filter: .bilinear)
        XCTAssertEqual(up.pixels.enumerated().filter { $0.offset % 3 == 0 }.map { $0.element }, [0, 64, 191, 255])
    }

    func testEncoderPreprocessRange() throws {
        let out = try encoderPreprocessImageFile(path: "\(TestSupport.fixtures)/chelsea.png", size: 32, centerCropSquare: true)
        XCTAssertEqual(out.shape, [3, 32, 32])
        XCTAssertGreaterThanOrEqual(out.values.min()!, -1)
        XCTAssertLessThanOrEqual(out.values.max()!, 1)
    }
}
