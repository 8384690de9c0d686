import CVideoEncoder
import Foundation
import Imaging

/// A failure while writing a video, with FFmpeg's reason.
public struct VideoError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Writes RGB frames as an H.264 (libx264) MP4 in yuv420p through FFmpeg's libraries (the C shim in
/// `CVideoEncoder`). The file is complete only after `finish()`; a writer dropped before that leaves an
/// incomplete file for the caller to remove.
public final class VideoWriter {
    public let path: String
    public let width: Int
    public let height: Int
    private var handle: OpaquePointer?

    /// `width` and `height` must be even (yuv420p halves the chroma planes); `crf` is x264's constant rate
    /// factor (lower is better; 18 is visually lossless).
    /// `comment` and `description` are written into the MP4's metadata (provenance).
    public init(path: String, width: Int, height: Int, fps: Int, crf: Int = 18, comment: String? = nil, description: String? = nil) throws {
        self.path = path; self.width = width; self.height = height
        var message = [CChar](repeating: 0, count: 512)
        handle = nv_video_open(path, Int32(width), Int32(height), Int32(fps), Int32(crf), comment, description, &message, message.count)
        guard handle != nil else { throw VideoError("\(path): \(String(cString: message))") }
    }

    public func append(_ image: RGBImage) throws {
        guard let handle else { throw VideoError("\(path): the video is already finished") }
        guard image.width == width, image.height == height else {
            throw VideoError("\(path): frame is \(image.width)×\(image.height), the video is \(width)×\(height)")
        }
        var message = [CChar](repeating: 0, count: 512)
        let status = image.pixels.withUnsafeBufferPointer { nv_video_write_rgb(handle, $0.baseAddress, &message, message.count) }
        guard status == 0 else { throw VideoError("\(path): \(String(cString: message))") }
    }

    public func finish() throws {
        guard let handle else { return }
        self.handle = nil
        var message = [CChar](repeating: 0, count: 512)
        guard nv_video_finish(handle, &message, message.count) == 0 else { throw VideoError("\(path): \(String(cString: message))") }
    }

    deinit { if let handle { nv_video_abort(handle) } }
}
