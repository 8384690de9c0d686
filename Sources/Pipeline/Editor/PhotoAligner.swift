import Engine
import Foundation
import Imaging

/// How a photo is brought to the square, face-centred crop the encoders expect.
public enum AlignmentMode: String, CaseIterable, Sendable {
    /// Take the photo as already aligned (only resized).
    case none
    /// Centre-crop to a square first.
    case center
    /// dlib face detection + 68 landmarks, then the FFHQ crop of e4e's `align_face` (256 px).
    case ffhq
}

/// Aligns photos for inversion and says what it did (for provenance). FFHQ alignment needs dlib's
/// 68-landmark model (`shape_predictor_68_face_landmarks.dat`).
public final class PhotoAligner: @unchecked Sendable {
    public let mode: AlignmentMode
    /// With ffhq: the largest face only, or every face found.
    public var faces: FaceSelection = .largest
    let landmarker: FaceLandmarker?

    /// The landmark model: `explicit`, else `$NADA_LANDMARK_MODEL`, else `landmarks/shape_predictor_68_face_landmarks.dat`
    /// in the model store.
    public static func landmarkModelPath(explicit: String?, store: ModelStore) -> String? {
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment[FaceLandmarker.modelEnvironmentVariable], !env.isEmpty { return env }
        let inStore = store.path("landmarks/shape_predictor_68_face_landmarks.dat")
        return FileOps.isRegularFile(inStore) ? inStore : nil
    }

    /// `mode` nil picks ffhq when a landmark model is available and center otherwise (calling `warn` once).
    public init(mode: AlignmentMode?, landmarkModel: String?, warn: (String) -> Void = { _ in }) throws {
        let chosen = mode ?? (landmarkModel != nil ? .ffhq : .center)
        if mode == nil && chosen == .center {
            warn("no face landmark model found (--landmarks FILE or $\(FaceLandmarker.modelEnvironmentVariable)): photos are centre-cropped, not FFHQ-aligned")
        }
        if chosen == .ffhq {
            guard let landmarkModel else {
                throw PipelineError.invalidArgument("--align ffhq needs the dlib landmark model shape_predictor_68_face_landmarks.dat: pass --landmarks FILE or set $\(FaceLandmarker.modelEnvironmentVariable)")
            }
            landmarker = try FaceLandmarker(modelPath: landmarkModel)
        } else {
            landmarker = nil
        }
        self.mode = chosen
    }

    /// The aligned photo (256×256 for ffhq) and provenance entries describing the alignment.
    public func align(_ photo: RGBImage) throws -> (image: RGBImage, record: [String: String]) {
        try alignFaces(photo)[0]
    }

    /// One aligned crop per face (`faces`: the largest, or all, largest first); a single crop for center/none.
    public func alignFaces(_ photo: RGBImage) throws -> [(image: RGBImage, record: [String: String])] {
        switch mode {
        case .none: return [(photo, ["alignment": "none"])]
        case .center:
            let side = min(photo.width, photo.height)
            return [(try centerCrop(photo, width: side, height: side), ["alignment": "center"])]
        case .ffhq:
            // dlib's detector is not documented thread-safe; one photo at a time.
            let found = try lock.withLock { try landmarker!.faces(photo, selection: faces) }
            return try found.sorted { $0.box.area > $1.box.area }.enumerated().map { index, face in
                let aligned = try alignFace(image: photo, landmarks: face.landmarks)
                var record = aligned.provenanceEntries
                record["alignment"] = "ffhq"
                if found.count > 1 { record["face"] = "\(index + 1) of \(found.count)" }
                return (aligned.image, record)
            }
        }
    }
    private let lock = NSLock()
}
