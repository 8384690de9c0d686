import Foundation
import XCTest
@testable import Pipeline

final class BackgroundTaskTests: XCTestCase {
    /// The body runs on another thread, concurrently with the caller: it waits for a signal that only the
    /// caller gives after starting it, so a body run inline (or lazily, in value()) would deadlock the test.
    func testBodyRunsAlongsideTheCaller() throws {
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let task = BackgroundTask { () -> String in
            started.signal()
            release.wait()
            return Thread.isMainThread ? "main" : "worker"
        }
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success, "the body did not start on its own")
        release.signal()
        XCTAssertEqual(try task.value(), "worker")
        XCTAssertEqual(try task.value(), "worker", "a second value() returns the same result without blocking")
    }

    func testErrorIsRethrownToEveryCaller() {
        struct Boom: Error, Equatable { let file: String }
        let task = BackgroundTask { () throws -> Int in throw Boom(file: "/models/e4e.pt") }
        for _ in 0..<2 {
            XCTAssertThrowsError(try task.value()) { XCTAssertEqual($0 as? Boom, Boom(file: "/models/e4e.pt")) }
        }
    }

    func testFinishedTaskHoldsItsValue() throws {
        let task = BackgroundTask.finished(42)
        XCTAssertEqual(try task.value(), 42)
        XCTAssertEqual(try task.value(), 42)
    }
}

/// The editor's start-up runs dlib's loading and the encoder's hash beside its model loading (`BackgroundTask`);
/// what it records and throws must not change.
final class EditorStartupTests: XCTestCase {
    static let encoder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/encoders/e4e.pt").path

    func testEncoderDigestIsTheFilesAndTheAlignerIsTheOneLoaded() throws {
        let aligner = BackgroundTask { try PhotoAligner(mode: .center, landmarkModel: nil) }
        let editor = try DomainEditor(encoderPath: Self.encoder, domains: [], settings: .init(), aligner: aligner)
        XCTAssertEqual(editor.encoderSHA256, try FileDigest.sha256Hex(ofFileAt: Self.encoder))
        XCTAssertTrue(editor.aligner === (try aligner.value()))
    }

    func testAlignerErrorIsThrownByTheEditor() {
        let missing = NSTemporaryDirectory() + "no-such-dir-\(getpid())/shape_predictor_68_face_landmarks.dat"
        let aligner = BackgroundTask { try PhotoAligner(mode: .ffhq, landmarkModel: missing) }
        XCTAssertThrowsError(try DomainEditor(encoderPath: Self.encoder, domains: [], settings: .init(), aligner: aligner)) {
            XCTAssertTrue("\($0)".contains(missing), "the error names the missing landmark model: \($0)")
        }
    }
}
