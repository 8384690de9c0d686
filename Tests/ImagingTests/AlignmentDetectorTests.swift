import Foundation
import XCTest
@testable import Imaging

/// dlib detector (always: its model is built into dlib) and the 68-point predictor (only when the
/// 100 MB shape_predictor_68_face_landmarks.dat is on this machine; never committed).
final class AlignmentDetectorTests: XCTestCase {
    static let dir = TestSupport.packageRoot + "/fixtures/align"

    /// NADA_LANDMARK_MODEL, else the system copy (Debian's libdlib-data: /usr/share/dlib/), else the copy
    /// inside a venv's face_recognition_models package (a venv beside the package root or its parent).
    static func landmarkModel() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment[FaceLandmarker.modelEnvironmentVariable], !env.isEmpty {
            return env
        }
        if let system = FaceLandmarker.systemModelPath() { return system }
        for lib in [TestSupport.packageRoot + "/../venv/lib", TestSupport.packageRoot + "/../../venv/lib"] {
            for python in (try? fm.contentsOfDirectory(atPath: lib)) ?? [] where python.hasPrefix("python") {
                let path = lib + "/" + python
                    + "/site-packages/face_recognition_models/models/shape_predictor_68_face_landmarks.dat"
                if fm.fileExists(atPath: path) { return path }
            }
        }
        return nil
    }

    func fixtureLandmarks() throws -> [FacePoint] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/face_landmarks.json"))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try XCTUnwrap(obj["landmarks"] as? [[Double]]).map { ($0[0], $0[1]) }
    }

    /// The detector alone finds the one face of the encoders pack's photo, around the landmarks.
    func testDetectorFindsTheFace() throws {
        let image = try loadImage(path: Self.dir + "/input_face.png")
        let boxes = try FaceDetector().detect(image)
        XCTAssertEqual(boxes.count, 1, "\(boxes)")
        let box = try XCTUnwrap(boxes.first)
        // The fixture's landmarks (nose tip 30, eye corners 36/45, mouth corners 48/54) lie inside.
        let lm = try fixtureLandmarks()
        for i in [30, 36, 45, 48, 54] {
            XCTAssertTrue(Double(box.left) <= lm[i].x && lm[i].x <= Double(box.right)
                          && Double(box.top) <= lm[i].y && lm[i].y <= Double(box.bottom), "landmark \(i) outside \(box)")
        }
        XCTAssertGreaterThan(box.width, 60)
        XCTAssertLessThan(box.width, 140)
    }

    /// A flat grey photo has no face: `select` throws `.noFaceFound` (the batch editor's per-photo reason).
    func testNoFaceIsAnError() throws {
        let grey = RGBImage(width: 96, height: 80, fill: (128, 128, 128))
        let detector = try FaceDetector()
        XCTAssertEqual(try detector.detect(grey), [])
        XCTAssertThrowsError(try detector.select(grey, .largest)) { e in
            XCTAssertEqual(e as? FaceAlignmentError, .noFaceFound)
            XCTAssertEqual("\(e)", "no face found")
        }
    }

    /// Two copies of the face side by side (one half size): `all` returns both, `largest` the big one.
    func testSelection() throws {
        let face = try loadImage(path: Self.dir + "/input_face.png")
        let small = try pilResize(face, width: 160, height: 160, filter: .lanczos)
        let w = face.width + small.width
        var canvas = RGBImage(width: w, height: face.height, fill: (200, 200, 200))
        for y in 0..<face.height {
            for x in 0..<face.width {
                for c in 0..<3 { canvas.pixels[(y * w + x) * 3 + c] = face.pixels[(y * face.width + x) * 3 + c] }
            }
        }
        for y in 0..<small.height {
            for x in 0..<small.width {
                for c in 0..<3 { canvas.pixels[(y * w + face.width + x) * 3 + c] = small.pixels[(y * small.width + x) * 3 + c] }
            }
        }
        let detector = try FaceDetector()
        let all = try detector.select(canvas, .all)
        XCTAssertEqual(all.count, 2, "\(all)")
        let largest = try detector.select(canvas, .largest)
        XCTAssertEqual(largest.count, 1)
        XCTAssertEqual(largest.first?.area, all.map(\.area).max())
        XCTAssertLessThan(try XCTUnwrap(largest.first).right, face.width)
    }

    func testMissingAndCorruptModelThrow() throws {
        let missing = NSTemporaryDirectory() + "/no-such-landmark-model-\(UUID().uuidString).dat"
        XCTAssertThrowsError(try FaceLandmarker(modelPath: missing)) { e in
            XCTAssertEqual(e as? FaceAlignmentError, .modelMissing(path: missing))
            XCTAssertTrue("\(e)".contains(missing))
        }
        let dir = try TestSupport.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, bytes) in [("empty.dat", [UInt8]()), ("garbage.dat", [UInt8](repeating: 0x5a, count: 4096)),
                              ("png.dat", Array(try FileIO.read(Self.dir + "/input_face.png").prefix(5000)))] {
            let path = dir + "/" + name
            try FileIO.writeAtomically(bytes, to: path)
            XCTAssertThrowsError(try FaceLandmarker(modelPath: path), name) { e in
                guard case .modelInvalid(let p, _)? = e as? FaceAlignmentError else {
                    return XCTFail("\(name): unexpected error \(e)")
                }
                XCTAssertEqual(p, path)
            }
        }
    }

    /// With the real model: detector + predictor reproduce the fixture's landmarks, and the
    /// alignment from them equals the reference crop.
    func testRealModelLandmarksAndAlignment() throws {
        guard let model = Self.landmarkModel() else {
            throw XCTSkip("shape_predictor_68_face_landmarks.dat not found: install libdlib-data (Debian/Ubuntu) "
                          + "or set NADA_LANDMARK_MODEL to run this test")
        }
        let landmarker = try FaceLandmarker(modelPath: model)
        let image = try loadImage(path: Self.dir + "/input_face.png")
        let faces = try landmarker.faces(image)
        XCTAssertEqual(faces.count, 1)
        let lm = try XCTUnwrap(faces.first).landmarks
        let expected = try fixtureLandmarks()
        var worst = 0.0
        for (a, b) in zip(lm, expected) { worst = max(worst, abs(a.x - b.x), abs(a.y - b.y)) }
        // The fixture was made by this same dlib; allow 2 px in case another dlib build differs.
        XCTAssertLessThanOrEqual(worst, 2, "max landmark offset from the fixture")
        let aligned = try alignFace(image: image, landmarks: lm)
        let ref = try loadImage(path: Self.dir + "/face_aligned.png")
        var sum = 0
        for i in 0..<ref.pixels.count { sum += abs(Int(aligned.image.pixels[i]) - Int(ref.pixels[i])) }
        let meanAbs = Double(sum) / Double(ref.pixels.count)
        XCTAssertLessThanOrEqual(meanAbs, worst == 0 ? 0 : 8, "mean |Δ| of the aligned crop vs the fixture's")
    }
}
