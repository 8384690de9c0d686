import Foundation
import XCTest
@testable import Imaging

/// FFHQ alignment against tools/align_reference.py (numpy/scipy/Pillow, following e4e's
/// utils/alignment.py step by step). Fixtures: fixtures/align/ (see the script's docstring).
final class AlignmentTests: XCTestCase {
    static let dir = TestSupport.packageRoot + "/fixtures/align"

    func landmarks(_ file: String) throws -> [FacePoint] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/" + file))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let pts = try XCTUnwrap(obj["landmarks"] as? [[Double]])
        return pts.map { ($0[0], $0[1]) }
    }

    func expected(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/expected.json"))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try XCTUnwrap(obj[name] as? [String: Any])
    }

    /// (max |Δ| over all channels, number of channel values that differ).
    func compare(_ a: RGBImage, _ b: RGBImage) -> (maxDiff: Int, differing: Int) {
        XCTAssertEqual(a.width, b.width)
        XCTAssertEqual(a.height, b.height)
        var m = 0, n = 0
        for i in 0..<min(a.pixels.count, b.pixels.count) {
            let d = abs(Int(a.pixels[i]) - Int(b.pixels[i]))
            m = max(m, d)
            if d != 0 { n += 1 }
        }
        return (m, n)
    }

    func checkGeometry(_ got: AlignedFace, _ exp: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws {
        let quad = try XCTUnwrap(exp["quad_source"] as? [[Double]])
        for (p, q) in zip(got.quad, quad) {
            XCTAssertEqual(p.x, q[0], accuracy: 1e-9, file: file, line: line)
            XCTAssertEqual(p.y, q[1], accuracy: 1e-9, file: file, line: line)
        }
        XCTAssertEqual(got.qsize, try XCTUnwrap(exp["qsize_source"] as? Double), accuracy: 1e-9, file: file, line: line)
        XCTAssertEqual(got.shrink, max(try XCTUnwrap(exp["shrink"] as? Int), 1), file: file, line: line)
        let crop = (exp["crop"] as? [Int]).map { PixelBox(x0: $0[0], y0: $0[1], x1: $0[2], y1: $0[3]) }
        let pad = (exp["pad"] as? [Int]).map { PixelBox(x0: $0[0], y0: $0[1], x1: $0[2], y1: $0[3]) }
        XCTAssertEqual(got.crop, crop, file: file, line: line)
        XCTAssertEqual(got.pad, pad, file: file, line: line)
    }

    /// The encoders pack's photo with its dlib landmarks: crop path, no shrink, no padding.
    /// Expected bit-exact (Pillow's QUAD/bilinear arithmetic is reproduced operation by operation).
    func testFaceMatchesReference() throws {
        let image = try loadImage(path: Self.dir + "/input_face.png")
        let got = try alignFace(image: image, landmarks: try landmarks("face_landmarks.json"))
        try checkGeometry(got, try expected("face"))
        let ref = try loadImage(path: Self.dir + "/face_aligned.png")
        let (m, n) = compare(got.image, ref)
        XCTAssertEqual(m, 0, "max |Δ| vs reference (\(n) values differ)")
    }

    /// A 9x nearest-neighbour enlargement of a window of the photo: qsize > 1024, so the photo is
    /// shrunk by 3 with Pillow's fixed-point LANCZOS, and the quad leaves the photo, so it is
    /// padded (reflect + gaussian blend + median fade). Also bit-exact: the LANCZOS taps are
    /// Pillow's 22-bit fixed point, the blur sums in scipy's order in double, and the blend
    /// repeats numpy-1's float32 operations one by one (the script keeps numpy-1 typing).
    func testZoomShrinkAndPadMatchesReference() throws {
        let exp = try expected("zoom")
        let window = try XCTUnwrap(exp["window"] as? [Int])
        let k = try XCTUnwrap(exp["factor"] as? Int)
        let face = try loadImage(path: Self.dir + "/input_face.png")
        let w = (window[2] - window[0]) * k, h = (window[3] - window[1]) * k
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let s = ((window[1] + y / k) * face.width + window[0] + x / k) * 3
                for c in 0..<3 { px[(y * w + x) * 3 + c] = face.pixels[s + c] }
            }
        }
        let big = try RGBImage(width: w, height: h, pixels: px)
        let lm = try landmarks("face_landmarks.json").map {
            (($0.x - Double(window[0])) * Double(k) + Double((k - 1) / 2),
             ($0.y - Double(window[1])) * Double(k) + Double((k - 1) / 2))
        }
        let got = try alignFace(image: big, landmarks: lm)
        try checkGeometry(got, exp)
        XCTAssertEqual(got.shrink, 3)
        XCTAssertNotNil(got.pad)
        let ref = try loadImage(path: Self.dir + "/zoom_aligned.png")
        let (m, n) = compare(got.image, ref)
        XCTAssertEqual(m, 0, "max |Δ| vs reference (\(n) values differ)")
    }

    /// The photo rotated by 23° with non-integer landmarks: a tilted quad through the crop path.
    func testRotatedMatchesReference() throws {
        let image = try loadImage(path: Self.dir + "/rotated_input.png")
        let got = try alignFace(image: image, landmarks: try landmarks("rotated_landmarks.json"))
        try checkGeometry(got, try expected("rotated"))
        let ref = try loadImage(path: Self.dir + "/rotated_aligned.png")
        let (m, n) = compare(got.image, ref)
        XCTAssertEqual(m, 0, "max |Δ| vs reference (\(n) values differ)")
    }

    func testBadLandmarksThrow() throws {
        let image = RGBImage(width: 64, height: 64)
        let lm = try landmarks("face_landmarks.json")
        XCTAssertThrowsError(try alignFace(image: image, landmarks: Array(lm.prefix(5)))) { e in
            XCTAssertTrue("\(e)".contains("68"), "\(e)")
        }
        var nan = lm
        nan[40] = (.nan, 3)
        XCTAssertThrowsError(try alignFace(image: image, landmarks: nan))
        let dot = [FacePoint](repeating: (10, 10), count: 68)
        XCTAssertThrowsError(try alignFace(image: image, landmarks: dot)) { e in
            XCTAssertTrue("\(e)".contains("too small"), "\(e)")
        }
        // Landmarks far outside the photo: an error, not a crash.
        let far = lm.map { ($0.x + 100_000, $0.y + 100_000) }
        XCTAssertThrowsError(try alignFace(image: image, landmarks: far))
    }

    /// The provenance entries carry the quad and the landmarks.
    func testProvenanceEntries() throws {
        let image = try loadImage(path: Self.dir + "/input_face.png")
        let got = try alignFace(image: image, landmarks: try landmarks("face_landmarks.json"))
        let e = got.provenanceEntries
        XCTAssertEqual(e["alignment"], "ffhq")
        XCTAssertEqual(e["alignment.landmarks"]?.split(separator: " ").count, 68)
        XCTAssertEqual(e["alignment.quad"]?.split(separator: " ").count, 4)
        XCTAssertEqual(e["alignment.crop"], got.crop?.description)
    }
}
