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
    /// Provenance of the landmark model (file name and SHA-256), hashed once here, not per photo.
    let landmarkRecord: [String: String]

    /// The landmark model: `explicit`, else `$NADA_LANDMARK_MODEL`, else `landmarks/shape_predictor_68_face_landmarks.dat`
    /// in the model store, else the system copy (`libdlib-data`'s /usr/share/dlib/, then /usr/local/share/dlib/).
    /// `systemPaths` is for tests.
    public static func landmarkModelPath(explicit: String?, store: ModelStore,
                                         systemPaths: [String] = FaceLandmarker.systemModelPaths) -> String? {
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment[FaceLandmarker.modelEnvironmentVariable], !env.isEmpty { return env }
        let inStore = store.path("landmarks/" + FaceLandmarker.modelFileName)
        if FileOps.isRegularFile(inStore) { return inStore }
        return systemPaths.first { FileOps.isRegularFile($0) }
    }

    /// Where to look, for messages.
    static let lookupText = "--landmarks FILE, $\(FaceLandmarker.modelEnvironmentVariable), landmarks/ in the model store, "
        + "or \(FaceLandmarker.systemModelPaths[0]) from the \(FaceLandmarker.systemPackage) package on Debian/Ubuntu"

    /// `mode` nil picks ffhq when a landmark model is available and center otherwise (calling `warn` once).
    public init(mode: AlignmentMode?, landmarkModel: String?, warn: (String) -> Void = { _ in }) throws {
        let chosen = mode ?? (landmarkModel != nil ? .ffhq : .center)
        if mode == nil && chosen == .center {
            warn("no face landmark model found (\(Self.lookupText); `apt install \(FaceLandmarker.systemPackage)` provides it): photos are centre-cropped, not FFHQ-aligned")
        }
        if chosen == .ffhq {
            guard let landmarkModel else {
                throw PipelineError.invalidArgument("--align ffhq needs the dlib landmark model \(FaceLandmarker.modelFileName) (\(Self.lookupText)); on Debian/Ubuntu `apt install \(FaceLandmarker.systemPackage)` provides it")
            }
            let landmarker = try FaceLandmarker(modelPath: landmarkModel)
            self.landmarker = landmarker
            landmarkRecord = ["alignment.landmark_model": (landmarkModel as NSString).lastPathComponent,
                              "alignment.landmark_model_sha256": try FileDigest.sha256Hex(ofFileAt: landmarkModel)]
        } else {
            landmarker = nil
            landmarkRecord = [:]
        }
        self.mode = chosen
    }

    /// The shorter side a photo must keep when it is decoded (JPEG DCT scaling, `DecodeOptions.minimumSide`).
    /// center/none: 256, the encoders' input side (the crop is resized to 256 anyway).
    /// ffhq: 2048. e4e's `align_face` detects and landmarks the photo at full size, then shrinks it so the face
    /// quad is 512-1023 px before its 256 px crop. Photos with a shorter side under 4096 (12 MP phone photos,
    /// 24 MP cameras) are therefore decoded whole and align exactly as the reference; larger ones are decoded at
    /// 1/2, 1/4 or 1/8 to a shorter side of 2048-4095, where any face whose quad spans at least a quarter of the
    /// shorter side is still >= 512 px, i.e. above the reference's own shrink target, so the landmark rounding
    /// (1 px at the decoded scale) moves the 256 px crop by at most half a pixel. Smaller faces in such huge photos
    /// are landmarked at the reduced scale (dlib still finds faces down to ~40 px there); PNGs are never scaled.
    public var decodeMinimumSide: Int {
        switch mode {
        case .none, .center: return 256
        case .ffhq: return 2048
        }
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
                var record = aligned.provenanceEntries.merging(landmarkRecord) { $1 }
                record["alignment"] = "ffhq"
                if found.count > 1 { record["face"] = "\(index + 1) of \(found.count)" }
                return (aligned.image, record)
            }
        }
    }
    private let lock = NSLock()
}
