import CDlibShim

/// Errors of face detection and landmarking. "No face found" is a value a batch run reports
/// per photo, never a crash.
public enum FaceAlignmentError: Error, CustomStringConvertible, Equatable {
    case noFaceFound
    case modelMissing(path: String)
    case modelInvalid(path: String, detail: String)
    case dlib(String)

    public var description: String {
        switch self {
        case .noFaceFound: return "no face found"
        case let .modelMissing(path):
            return "\(path): landmark model not found (shape_predictor_68_face_landmarks.dat; on Debian/Ubuntu "
                + "the package \(FaceLandmarker.systemPackage) installs it in /usr/share/dlib/, or see "
                + "`nada-edit models fetch dlib-landmarks-68`; set NADA_LANDMARK_MODEL to use another copy)"
        case let .modelInvalid(path, detail): return "\(path): not a usable landmark model: \(detail)"
        case let .dlib(detail): return "face detection: \(detail)"
        }
    }
}

/// A face rectangle as dlib reports it (right/bottom inclusive), with the detector's score.
public struct FaceBox: Equatable, Sendable {
    public var left: Int, top: Int, right: Int, bottom: Int
    public var score: Double
    public init(left: Int, top: Int, right: Int, bottom: Int, score: Double = 0) {
        self.left = left; self.top = top; self.right = right; self.bottom = bottom; self.score = score
    }
    public var width: Int { right - left + 1 }
    public var height: Int { bottom - top + 1 }
    public var area: Int { max(width, 0) * max(height, 0) }
}

/// Which detected faces to align: the largest one, or every one.
public enum FaceSelection: String, Sendable, CaseIterable {
    case largest, all
}

private func errorText(_ buf: [CChar]) -> String {
    let s = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return s.isEmpty ? "unknown error" : s
}

/// dlib's HOG frontal face detector (`dlib.get_frontal_face_detector()`); its model is compiled
/// into dlib, so no file is needed. Safe to share between threads (the shim serialises calls).
public final class FaceDetector: @unchecked Sendable {
    private let handle: OpaquePointer

    public init() throws {
        var err = [CChar](repeating: 0, count: 1024)
        guard let h = nada_dlib_detector_create(&err, err.count) else {
            throw FaceAlignmentError.dlib(errorText(err))
        }
        handle = h
    }

    deinit { nada_dlib_detector_free(handle) }

    /// All faces, in dlib's order. `upsample` 1 is what the reference align scripts use
    /// (`detector(img, 1)`): it finds faces down to about 40 pixels.
    public func detect(_ image: RGBImage, upsample: Int = 1) throws -> [FaceBox] {
        guard (0...3).contains(upsample) else {
            throw ImagingError.invalidArgument("detector upsample must be 0...3, got \(upsample)")
        }
        var err = [CChar](repeating: 0, count: 1024)
        var boxes = [NadaDlibBox](repeating: NadaDlibBox(), count: 64)
        var n: Int32 = 0
        image.pixels.withUnsafeBufferPointer { px in
            n = nada_dlib_detect(handle, px.baseAddress, image.width, image.height, Int32(upsample),
                                 &boxes, Int32(boxes.count), &err, err.count)
        }
        guard n >= 0 else { throw FaceAlignmentError.dlib(errorText(err)) }
        return boxes.prefix(min(Int(n), boxes.count)).map {
            FaceBox(left: $0.left, top: $0.top, right: $0.right, bottom: $0.bottom, score: $0.score)
        }
    }

    /// The faces to align: the largest (ties: the later one, as the reference's last-wins loop)
    /// or all. Throws `.noFaceFound` when there is none.
    public func select(_ image: RGBImage, _ selection: FaceSelection, upsample: Int = 1) throws -> [FaceBox] {
        let boxes = try detect(image, upsample: upsample)
        guard !boxes.isEmpty else { throw FaceAlignmentError.noFaceFound }
        switch selection {
        case .all: return boxes
        case .largest:
            var best = boxes[0]
            for b in boxes.dropFirst() where b.area >= best.area { best = b }
            return [best]
        }
    }
}

/// Detector + dlib 68-point shape predictor (`shape_predictor_68_face_landmarks.dat`).
public final class FaceLandmarker: @unchecked Sendable {
    public let modelPath: String
    public let detector: FaceDetector
    private let predictor: OpaquePointer

    /// Environment variable naming the landmark model file.
    public static let modelEnvironmentVariable = "NADA_LANDMARK_MODEL"

    /// The model's file name, as dlib publishes it.
    public static let modelFileName = "shape_predictor_68_face_landmarks.dat"

    /// Where system packages put dlib's model: Debian/Ubuntu's `libdlib-data` installs dlib's own
    /// file at /usr/share/dlib/; a dlib built from source and installed under /usr/local puts its
    /// data in /usr/local/share/dlib/. Searched in this order, after the user's own choices.
    public static let systemModelPaths = [
        "/usr/share/dlib/" + modelFileName,
        "/usr/local/share/dlib/" + modelFileName,
    ]

    /// The Debian/Ubuntu package that provides the model.
    public static let systemPackage = "libdlib-data"

    /// The first of `systemModelPaths` that exists, or nil.
    public static func systemModelPath() -> String? { systemModelPaths.first { FileIO.exists($0) } }

    /// Loads the model; throws `.modelMissing` / `.modelInvalid` with the path when it cannot.
    public init(modelPath: String) throws {
        guard FileIO.exists(modelPath) else { throw FaceAlignmentError.modelMissing(path: modelPath) }
        var err = [CChar](repeating: 0, count: 1024)
        guard let p = nada_dlib_predictor_load(modelPath, &err, err.count) else {
            throw FaceAlignmentError.modelInvalid(path: modelPath, detail: errorText(err))
        }
        let parts = nada_dlib_predictor_parts(p)
        guard parts == 68 else {
            nada_dlib_predictor_free(p)
            throw FaceAlignmentError.modelInvalid(
                path: modelPath, detail: "it predicts \(parts) landmarks; FFHQ alignment needs the 68-point model")
        }
        self.modelPath = modelPath
        self.predictor = p
        self.detector = try FaceDetector()
    }

    deinit { nada_dlib_predictor_free(predictor) }

    public func detect(_ image: RGBImage) throws -> [FaceBox] { try detector.detect(image) }

    /// The 68 landmarks (integer pixel coordinates, as dlib gives them) of the face in `box`.
    public func landmarks(_ image: RGBImage, box: FaceBox) throws -> [FacePoint] {
        var err = [CChar](repeating: 0, count: 1024)
        var xy = [Double](repeating: 0, count: 2 * 68)
        let box = NadaDlibBox(left: box.left, top: box.top, right: box.right, bottom: box.bottom, score: box.score)
        var n: Int32 = 0
        image.pixels.withUnsafeBufferPointer { px in
            n = nada_dlib_predict(predictor, px.baseAddress, image.width, image.height, box, &xy, 68, &err, err.count)
        }
        guard n >= 0 else { throw FaceAlignmentError.dlib(errorText(err)) }
        guard n == 68 else { throw FaceAlignmentError.dlib("the predictor returned \(n) landmarks, expected 68") }
        return (0..<68).map { (xy[2 * $0], xy[2 * $0 + 1]) }
    }

    /// Landmarks of the selected faces (see `FaceDetector.select`); throws `.noFaceFound`.
    public func faces(_ image: RGBImage, selection: FaceSelection = .largest) throws -> [(box: FaceBox, landmarks: [FacePoint])] {
        try detector.select(image, selection).map { ($0, try landmarks(image, box: $0)) }
    }
}
