#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in image pixel coordinates (dlib landmarks are integer pixel positions).
public typealias FacePoint = (x: Double, y: Double)

/// An axis-aligned box in pixels, right/bottom exclusive (a PIL crop box).
public struct PixelBox: Equatable, Sendable, CustomStringConvertible {
    public var x0: Int, y0: Int, x1: Int, y1: Int
    public init(x0: Int, y0: Int, x1: Int, y1: Int) {
        self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
    }
    public var description: String { "\(x0),\(y0),\(x1),\(y1)" }
}

/// The result of the FFHQ alignment, with what is needed to record how it was made.
public struct AlignedFace {
    /// The aligned crop, outputSize x outputSize.
    public var image: RGBImage
    /// The 68 landmarks it was computed from (input image coordinates).
    public var landmarks: [FacePoint]
    /// The oriented quad in input image coordinates: top-left, bottom-left, bottom-right, top-right.
    public var quad: [FacePoint]
    /// Side of the quad in input pixels.
    public var qsize: Double
    /// Integer shrink factor applied first (1 when the photo was not shrunk).
    public var shrink: Int
    /// Crop box in the (shrunk) photo, or nil when the crop covered the whole photo.
    public var crop: PixelBox?
    /// Reflect padding (left, top, right, bottom) added around the crop, or nil when none.
    public var pad: PixelBox?

    /// Compact key/values for `Provenance.extra`.
    public var provenanceEntries: [String: String] {
        func fmt(_ v: Double) -> String {
            v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format3(v))
        }
        func pts(_ p: [FacePoint]) -> String { p.map { "\(fmt($0.x)),\(fmt($0.y))" }.joined(separator: " ") }
        var e = [
            "alignment": "ffhq",
            "alignment.quad": pts(quad),
            "alignment.landmarks": pts(landmarks),
        ]
        if shrink > 1 { e["alignment.shrink"] = String(shrink) }
        if let crop { e["alignment.crop"] = crop.description }
        if let pad { e["alignment.pad"] = pad.description }
        return e
    }
}

/// Three decimals without Foundation.
private func format3(_ v: Double) -> String {
    let r = (v * 1000).rounded() / 1000
    var s = String(r)
    if s.hasSuffix(".0") { s.removeLast(2) }
    return s
}

/// The FFHQ oriented quad from 68 dlib landmarks (e4e `align_face`, before any pixel work).
public func ffhqQuad(landmarks lm: [FacePoint]) throws -> (quad: [FacePoint], qsize: Double) {
    guard lm.count == 68 else {
        throw ImagingError.invalidArgument("FFHQ alignment needs the 68 dlib landmarks, got \(lm.count) points")
    }
    for (i, p) in lm.enumerated() where !p.x.isFinite || !p.y.isFinite {
        throw ImagingError.invalidArgument("landmark \(i) is not a finite point (\(p.x), \(p.y))")
    }
    // np.mean over 6 points: sequential sum, then divide.
    func mean(_ r: Range<Int>) -> FacePoint {
        var sx = 0.0, sy = 0.0
        for i in r { sx += lm[i].x; sy += lm[i].y }
        return (sx / Double(r.count), sy / Double(r.count))
    }
    let eyeLeft = mean(36..<42), eyeRight = mean(42..<48)
    let eyeAvg = ((eyeLeft.x + eyeRight.x) * 0.5, (eyeLeft.y + eyeRight.y) * 0.5)
    let eyeToEye = (eyeRight.x - eyeLeft.x, eyeRight.y - eyeLeft.y)
    let mouthAvg = ((lm[48].x + lm[54].x) * 0.5, (lm[48].y + lm[54].y) * 0.5)
    let eyeToMouth = (mouthAvg.0 - eyeAvg.0, mouthAvg.1 - eyeAvg.1)

    // x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]
    var x = (eyeToEye.0 + eyeToMouth.1, eyeToEye.1 - eyeToMouth.0)
    let xn = hypot(x.0, x.1)
    x = (x.0 / xn, x.1 / xn)
    let a = hypot(eyeToEye.0, eyeToEye.1) * 2.0, b = hypot(eyeToMouth.0, eyeToMouth.1) * 1.8
    let scale = a >= b ? a : b
    x = (x.0 * scale, x.1 * scale)
    let y = (-x.1, x.0)
    let c = (eyeAvg.0 + eyeToMouth.0 * 0.1, eyeAvg.1 + eyeToMouth.1 * 0.1)
    let quad: [FacePoint] = [
        (c.0 - x.0 - y.0, c.1 - x.1 - y.1),
        (c.0 - x.0 + y.0, c.1 - x.1 + y.1),
        (c.0 + x.0 + y.0, c.1 + x.1 + y.1),
        (c.0 + x.0 - y.0, c.1 + x.1 - y.1),
    ]
    let qsize = hypot(x.0, x.1) * 2
    guard qsize.isFinite, qsize >= 8 else {
        throw ImagingError.invalidArgument(
            "the landmarks give a face \(qsize) pixels across; too small (or degenerate) to align")
    }
    return (quad, qsize)
}

/// FFHQ alignment as in encoder4editing's `utils/alignment.py` (`align_face`, identical math in
/// pSp/ReStyle and the FFHQ dataset script): oriented quad from the eyes and mouth, LANCZOS
/// shrink of large photos, crop, reflect padding with blurred blend, Pillow QUAD bilinear warp to
/// transformSize, LANCZOS resize to outputSize. The encoder repos use 256/256; FFHQ itself 1024/4096.
/// Landmarks are in `image`'s pixel coordinates (the reference does not apply EXIF orientation:
/// pass the image and landmarks in the same orientation).
public func alignFace(image: RGBImage, landmarks: [(x: Double, y: Double)], outputSize: Int = 256,
                      transformSize: Int = 256, enablePadding: Bool = true) throws -> AlignedFace {
    guard outputSize > 0, transformSize > 0, outputSize <= 16384, transformSize <= 16384 else {
        throw ImagingError.invalidArgument("alignment sizes must be in 1...16384 (output \(outputSize), transform \(transformSize))")
    }
    let (sourceQuad, sourceQsize) = try ffhqQuad(landmarks: landmarks)
    var quad = sourceQuad
    var qsize = sourceQsize
    var img = image

    // Shrink.
    let shrink = Int((qsize / Double(outputSize) * 0.5).rounded(.down))
    if shrink > 1 {
        let rw = Int((Double(img.width) / Double(shrink)).rounded(.toNearestOrEven))
        let rh = Int((Double(img.height) / Double(shrink)).rounded(.toNearestOrEven))
        guard rw > 0, rh > 0 else {
            throw ImagingError.invalidArgument("the face is far larger than the \(image.width)x\(image.height) photo")
        }
        img = try pilResize(img, width: rw, height: rh, filter: .lanczos)
        let s = Double(shrink)
        quad = quad.map { ($0.x / s, $0.y / s) }
        qsize /= s
    }

    // Crop.
    let border = max(Int((qsize * 0.1).rounded(.toNearestOrEven)), 3)
    let qx = quad.map { $0.x }, qy = quad.map { $0.y }
    let minX = Int(qx.min()!.rounded(.down)), minY = Int(qy.min()!.rounded(.down))
    let maxX = Int(qx.max()!.rounded(.up)), maxY = Int(qy.max()!.rounded(.up))
    let crop = PixelBox(x0: max(minX - border, 0), y0: max(minY - border, 0),
                        x1: min(maxX + border, img.width), y1: min(maxY + border, img.height))
    var didCrop: PixelBox? = nil
    if crop.x1 - crop.x0 < img.width || crop.y1 - crop.y0 < img.height {
        guard crop.x1 > crop.x0, crop.y1 > crop.y0 else {
            throw ImagingError.invalidArgument("the face quad lies outside the \(img.width)x\(img.height) photo")
        }
        img = cropImage(img, crop)
        quad = quad.map { ($0.x - Double(crop.x0), $0.y - Double(crop.y0)) }
        didCrop = crop
    }

    // Pad.
    let qx2 = quad.map { $0.x }, qy2 = quad.map { $0.y }
    var pad = [max(-Int(qx2.min()!.rounded(.down)) + border, 0),
               max(-Int(qy2.min()!.rounded(.down)) + border, 0),
               max(Int(qx2.max()!.rounded(.up)) - img.width + border, 0),
               max(Int(qy2.max()!.rounded(.up)) - img.height + border, 0)]
    var didPad: PixelBox? = nil
    if enablePadding && pad.max()! > border - 4 {
        let least = Int((qsize * 0.3).rounded(.toNearestOrEven))
        pad = pad.map { max($0, least) }
        img = FFHQPadding.apply(img, left: pad[0], top: pad[1], right: pad[2], bottom: pad[3], qsize: qsize)
        quad = quad.map { ($0.x + Double(pad[0]), $0.y + Double(pad[1])) }
        didPad = PixelBox(x0: pad[0], y0: pad[1], x1: pad[2], y1: pad[3])
    }

    // Transform (Pillow is given quad + 0.5).
    let q = quad.map { ($0.x + 0.5, $0.y + 0.5) }
    img = PillowQuad.transform(img, size: transformSize, nw: q[0], sw: q[1], se: q[2], ne: q[3])
    if outputSize < transformSize {
        img = try pilResize(img, width: outputSize, height: outputSize, filter: .lanczos)
    }
    return AlignedFace(image: img, landmarks: landmarks, quad: sourceQuad, qsize: sourceQsize,
                       shrink: max(shrink, 1), crop: didCrop, pad: didPad)
}

/// PIL `img.crop(box)` for a box inside the image.
func cropImage(_ image: RGBImage, _ box: PixelBox) -> RGBImage {
    let w = box.x1 - box.x0, h = box.y1 - box.y0
    var out = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0..<h {
        let s = ((box.y0 + y) * image.width + box.x0) * 3
        out.replaceSubrange((y * w * 3)..<((y + 1) * w * 3), with: image.pixels[s..<(s + w * 3)])
    }
    return RGBImage(uncheckedWidth: w, height: h, pixels: out)
}
