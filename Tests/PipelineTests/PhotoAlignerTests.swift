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
        let photo = RGBImage(width: 30, height: 20, fill: (1, 2, 3))
        let (image, record) = try aligner.align(photo)
        XCTAssertEqual([image.width, image.height], [20, 20])
        XCTAssertEqual(record["alignment"], "center")
    }

    func testFFHQWithoutModelIsAClearError() {
        XCTAssertThrowsError(try PhotoAligner(mode: .ffhq, landmarkModel: nil)) { error in
            XCTAssertTrue("\(error)".contains("shape_predictor_68_face_landmarks.dat"), "\(error)")
        }
        XCTAssertThrowsError(try PhotoAligner(mode: .ffhq, landmarkModel: "/nonexistent/model.dat"))
    }

    func landmarkModel() throws -> String {
        if let env = ProcessInfo.processInfo.environment["NADA_LANDMARK_MODEL"], FileManager.default.fileExists(atPath: env) { return env }
        for base in [Self.root, Self.root.deletingLastPathComponent()] {
            let p = base.appendingPathComponent("venv/lib/python3.11/site-packages/face_recognition_models/models/shape_predictor_68_face_landmarks.dat").path
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw XCTSkip("dlib landmark model not found (set NADA_LANDMARK_MODEL): FFHQ alignment of a real photo not checked here")
    }

    func testFFHQAlignmentOfARealFaceAndNoFaceFailure() throws {
        let model = try landmarkModel()
        let aligner = try PhotoAligner(mode: nil, landmarkModel: model)
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
        let aligner = try PhotoAligner(mode: .ffhq, landmarkModel: try landmarkModel())
        aligner.faces = .all
        let face = try loadImage(path: Self.root.appendingPathComponent("fixtures/encoders/input_face.png").path)
        let crops = try aligner.alignFaces(try ImageTensors.sheet([face, face]))
        XCTAssertEqual(crops.count, 2)
        XCTAssertEqual(crops.map { $0.record["face"] }, ["1 of 2", "2 of 2"])
        XCTAssertEqual(DomainEditor.facePath(for: "/out/a.sketch.png", face: 2), "/out/a.sketch.face2.png")
    }
}
