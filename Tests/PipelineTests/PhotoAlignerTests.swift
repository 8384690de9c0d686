import Foundation
import Imaging
@testable import Pipeline
import XCTest

/// The editor's alignment hook: the default choice, clear errors, and FFHQ alignment through dlib when the
/// landmark model is available ($NADA_LANDMARK_MODEL or the venv's face_recognition_models beside the package).
final class PhotoAlignerTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testDefaultIsCenterWithOneWarningWhenNoModel() throws {
        var warnings: [String] = []
        let aligner = try PhotoAligner(mode: nil, landmarkModel: nil) { warnings.append($0) }
        XCTAssertEqual(aligner.mode, .center)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("libdlib-data"), warnings[0])
        XCTAssertTrue(warnings[0].contains("/usr/share/dlib/shape_predictor_68_face_landmarks.dat"), warnings[0])
        let photo = RGBImage(width: 30, height: 20, fill: (1, 2, 3))
        let (image, record) = try aligner.align(photo)
        XCTAssertEqual([image.width, image.height], [20, 20])
        XCTAssertEqual(record["alignment"], "center")
    }

    func testFFHQWithoutModelIsAClearError() {
        XCTAssertThrowsError(try PhotoAligner(mode: .ffhq, landmarkModel: nil)) { error in
            XCTAssertTrue("\(error)".contains("shape_predictor_68_face_landmarks.dat"), "\(error)")
            XCTAssertTrue("\(error)".contains("libdlib-data"), "\(error)")
        }
        XCTAssertThrowsError(try PhotoAligner(mode: .ffhq, landmarkModel: "/nonexistent/model.dat"))
    }

    /// $NADA_LANDMARK_MODEL, else the system copy (Debian's libdlib-data), else a venv's face_recognition_models copy.
    func landmarkModel() throws -> String {
        if let env = ProcessInfo.processInfo.environment["NADA_LANDMARK_MODEL"], FileManager.default.fileExists(atPath: env) { return env }
        if let system = FaceLandmarker.systemModelPath() { return system }
        for base in [Self.root, Self.root.deletingLastPathComponent()] {
            let p = base.appendingPathComponent("venv/lib/python3.11/site-packages/face_recognition_models/models/shape_predictor_68_face_landmarks.dat").path
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw XCTSkip("dlib landmark model not found (install libdlib-data, which puts it in /usr/share/dlib/, or set NADA_LANDMARK_MODEL): FFHQ alignment of a real photo not checked here")
    }

    /// One aligner with the real model for all tests here: creating one hashes the 100 MB model (once per run in
    /// the CLI), which takes ~15 s in a debug build.
    nonisolated(unsafe) static var sharedAligner: PhotoAligner?

    /// The default choice (mode nil) with the real model: ffhq.
    func ffhqAligner() throws -> PhotoAligner {
        if let aligner = Self.sharedAligner {
            aligner.faces = .largest
            return aligner
        }
        let aligner = try PhotoAligner(mode: nil, landmarkModel: try landmarkModel())
        XCTAssertEqual(aligner.mode, .ffhq)
        Self.sharedAligner = aligner
        return aligner
    }

    func testFFHQAlignmentOfARealFaceAndNoFaceFailure() throws {
        let aligner = try ffhqAligner()
        XCTAssertEqual(aligner.mode, .ffhq)
        let photo = try loadImage(path: Self.root.appendingPathComponent("fixtures/encoders/input_face.png").path)
        let (image, record) = try aligner.align(photo)
        XCTAssertEqual([image.width, image.height], [256, 256])
        XCTAssertEqual(record["alignment"], "ffhq")
        XCTAssertNotNil(record["alignment.quad"])
        XCTAssertThrowsError(try aligner.align(RGBImage(width: 200, height: 200, fill: (128, 128, 128)))) { error in
            XCTAssertTrue("\(error)".contains("no face"), "\(error)")
        }
    }

    func testAllFacesGivesOneCropPerFace() throws {
        let aligner = try ffhqAligner()
        aligner.faces = .all
        let face = try loadImage(path: Self.root.appendingPathComponent("fixtures/encoders/input_face.png").path)
        let crops = try aligner.alignFaces(try ImageTensors.sheet([face, face]))
        XCTAssertEqual(crops.count, 2)
        XCTAssertEqual(crops.map { $0.record["face"] }, ["1 of 2", "2 of 2"])
        XCTAssertEqual(DomainEditor.facePath(for: "/out/a.sketch.png", face: 2), "/out/a.sketch.face2.png")
    }

    // MARK: issue 21: the model from Debian's libdlib-data, found without configuration

    /// --landmarks, then $NADA_LANDMARK_MODEL, then the store, then the system locations in order.
    func testLandmarkModelLookupOrder() throws {
        let dir = NSTemporaryDirectory() + "/aligner-lookup-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/store/landmarks", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = ModelStore(root: dir + "/store")
        let system1 = dir + "/usr-share-dlib.dat", system2 = dir + "/usr-local-share-dlib.dat"
        let saved = ProcessInfo.processInfo.environment["NADA_LANDMARK_MODEL"]
        unsetenv("NADA_LANDMARK_MODEL")
        defer { if let saved { setenv("NADA_LANDMARK_MODEL", saved, 1) } else { unsetenv("NADA_LANDMARK_MODEL") } }

        func lookup(_ explicit: String? = nil) -> String? {
            PhotoAligner.landmarkModelPath(explicit: explicit, store: store, systemPaths: [system1, system2])
        }
        XCTAssertNil(lookup())
        FileManager.default.createFile(atPath: system2, contents: Data([1]))
        XCTAssertEqual(lookup(), system2)
        FileManager.default.createFile(atPath: system1, contents: Data([1]))
        XCTAssertEqual(lookup(), system1, "/usr/share/dlib before /usr/local/share/dlib")
        let inStore = store.path("landmarks/shape_predictor_68_face_landmarks.dat")
        FileManager.default.createFile(atPath: inStore, contents: Data([1]))
        XCTAssertEqual(lookup(), inStore, "the store before the system copy")
        setenv("NADA_LANDMARK_MODEL", dir + "/env.dat", 1)
        XCTAssertEqual(lookup(), dir + "/env.dat", "the environment before the store")
        XCTAssertEqual(lookup(dir + "/flag.dat"), dir + "/flag.dat", "--landmarks first")
        XCTAssertEqual(FaceLandmarker.systemModelPaths, ["/usr/share/dlib/shape_predictor_68_face_landmarks.dat",
                                                         "/usr/local/share/dlib/shape_predictor_68_face_landmarks.dat"])
    }

    /// `models fetch dlib-landmarks-68` says the package provides the model before the manual steps.
    func testFetchInstructionsNameThePackageFirst() throws {
        let text = try XCTUnwrap(KnownCheckpoints.named("dlib-landmarks-68")).manualInstructions()
        let package = try XCTUnwrap(text.range(of: "libdlib-data"))
        let download = try XCTUnwrap(text.range(of: "Download http://dlib.net/files/"))
        XCTAssertLessThan(package.lowerBound, download.lowerBound, text)
        XCTAssertTrue(text.contains("/usr/share/dlib/shape_predictor_68_face_landmarks.dat"), text)
    }

    func photo(_ relative: String) throws -> RGBImage {
        try loadImage(path: Self.root.appendingPathComponent(relative).path)
    }

    func quad(_ record: [String: String]) throws -> [[Double]] {
        let text = try XCTUnwrap(record["alignment.quad"])
        return text.split(separator: " ").map { $0.split(separator: ",").map { Double($0)! } }
    }

    /// The e4e reference quad of fixtures/align/input_face.png (tools/align_reference.py, from dlib landmarks).
    func referenceQuad() throws -> [[Double]] {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("fixtures/align/expected.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let face = try XCTUnwrap(json["face"] as? [String: Any])
        return try XCTUnwrap(face["quad_source"] as? [[Double]])
    }

    func assertQuad(_ got: [[Double]], near expected: [[Double]], within tolerance: Double, _ what: String) {
        XCTAssertEqual(got.count, 4, what)
        for (a, b) in zip(got, expected) {
            XCTAssertEqual(a[0], b[0], accuracy: tolerance, what)
            XCTAssertEqual(a[1], b[1], accuracy: tolerance, what)
        }
    }

    /// The real model, found by the default lookup: a face photo aligns with the reference crop quad, and the
    /// provenance names the landmark model with its SHA-256.
    func testRealModelAlignsAFaceLikeTheReference() throws {
        let model = try landmarkModel()
        let aligner = try ffhqAligner()
        let (image, record) = try aligner.align(try photo("fixtures/align/input_face.png"))
        XCTAssertEqual([image.width, image.height], [256, 256])
        assertQuad(try quad(record), near: try referenceQuad(), within: 1, "crop quad vs e4e's from the same landmarks")
        XCTAssertEqual(record["alignment.landmark_model"], "shape_predictor_68_face_landmarks.dat")
        XCTAssertEqual(record["alignment.landmark_model_sha256"], try sha256sum(model))
        // The astronaut photo (skimage's) is a face too.
        let (astronaut, astronautRecord) = try aligner.align(try photo("fixtures/images/astronaut.png"))
        XCTAssertEqual([astronaut.width, astronaut.height], [256, 256])
        XCTAssertEqual(astronautRecord["alignment"], "ffhq")
    }

    /// The file's SHA-256 by coreutils' sha256sum (an independent implementation), else by FileDigest.
    func sha256sum(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum") else { return try FileDigest.sha256Hex(ofFileAt: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: output, as: UTF8.self).prefix(64))
    }

    /// "Exif\0\0" + little-endian TIFF with one IFD0 entry, Orientation = value, wrapped as a JPEG APP1 segment.
    func exifApp1(orientation: UInt8) -> [UInt8] {
        var b: [UInt8] = Array("Exif".utf8) + [0, 0, 0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0, 1, 0]
        b += [0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0, 0, 0, 0, 0]
        let length = b.count + 2
        return [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 255)] + b
    }

    /// A phone-style JPEG stored sideways with EXIF Orientation 6 gives the same crop as the upright JPEG.
    func testRotatedEXIFCopyGivesTheSameCrop() throws {
        let aligner = try ffhqAligner()
        let upright = try photo("fixtures/align/input_face.png")
        // Stored pixels turned 90° counter-clockwise; Orientation 6 tells viewers to turn them clockwise.
        let sideways = applyOrientation(upright, 8)
        XCTAssertEqual(applyOrientation(sideways, 6), upright)
        let uprightJPEG = try encodeImage(upright, format: .jpeg(quality: 95))
        var sidewaysJPEG = try encodeImage(sideways, format: .jpeg(quality: 95))
        sidewaysJPEG.insert(contentsOf: exifApp1(orientation: 6), at: 2)
        let a = try aligner.align(try decodeImage(uprightJPEG))
        let b = try aligner.align(try decodeImage(sidewaysJPEG, name: "sideways.jpg"))
        assertQuad(try quad(b.record), near: try quad(a.record), within: 1, "quad of the EXIF-rotated copy")
        assertQuad(try quad(b.record), near: try referenceQuad(), within: 1.5, "quad of the EXIF-rotated copy vs the reference")
        let meanDiff = Double(zip(a.image.pixels, b.image.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(a.image.pixels.count)
        XCTAssertLessThan(meanDiff, 3, "mean |Δ| between the two crops")
        // Without the orientation applied the face lies on its side: dlib's frontal detector does not find it
        // or finds a different quad, so the test above is not passing by accident.
        let raw = try decodeImage(sidewaysJPEG, options: DecodeOptions(applyEXIFOrientation: false))
        if let c = try? aligner.align(raw) {
            let q = try quad(c.record)
            XCTAssertGreaterThan(zip(q, try quad(a.record)).map { abs($0[0] - $1[0]) + abs($0[1] - $1[1]) }.max() ?? 0, 10)
        }
    }

    /// The cat has no human face: "no face found".
    func testCatPhotoHasNoFace() throws {
        let aligner = try ffhqAligner()
        XCTAssertThrowsError(try aligner.align(try photo("fixtures/images/chelsea.png"))) { error in
            XCTAssertEqual("\(error)", "no face found")
        }
    }

    /// Two different people side by side: --faces all gives both (largest first), --faces largest one.
    func testTwoFacesSideBySide() throws {
        let aligner = try ffhqAligner()
        let face = try photo("fixtures/align/input_face.png")
        let astronaut = try pilResize(try photo("fixtures/images/astronaut.png"), width: 256, height: 256, filter: .bicubic)
        let pair = try ImageTensors.sheet([face, astronaut])
        XCTAssertEqual([pair.width, pair.height], [512, 256])
        aligner.faces = .all
        let crops = try aligner.alignFaces(pair)
        XCTAssertEqual(crops.count, 2)
        XCTAssertEqual(crops.map { $0.record["face"] }, ["1 of 2", "2 of 2"])
        let centres = try crops.map { try quad($0.record).map { $0[0] }.reduce(0, +) / 4 }
        XCTAssertEqual(Set(centres.map { $0 < 256 }), [true, false], "one crop per half: \(centres)")
        aligner.faces = .largest
        XCTAssertEqual(try aligner.alignFaces(pair).count, 1)
    }
}
