/// Errors of the Imaging library. Every case that concerns a file names it, so a batch run can
/// report "photo.jpg: file is truncated" rather than a bare codec message.
public enum ImagingError: Error, CustomStringConvertible, Equatable {
    case notAnImage(file: String, detail: String)
    case corrupt(file: String, detail: String)
    case truncated(file: String, detail: String)
    case tooManyPixels(file: String, width: Int, height: Int, limit: Int)
    case unsupported(file: String, detail: String)
    case io(file: String, detail: String)
    /// The file is larger than the reader's byte cap (see `FileIO.defaultMaxInputBytes`).
    case fileTooLarge(file: String, size: Int64, limit: Int)
    case outputExists(file: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .notAnImage(file, detail): return "\(file): not a JPEG or PNG image (\(detail))"
        case let .corrupt(file, detail): return "\(file): corrupt image data: \(detail)"
        case let .truncated(file, detail): return "\(file): file is truncated: \(detail)"
        case let .tooManyPixels(file, w, h, limit):
            return "\(file): image is \(w)x\(h) = \(w * h) pixels, more than the limit of \(limit) "
                + "(refusing to decode; raise it with --max-pixels \(w * h) if this image is genuine)"
        case let .unsupported(file, detail): return "\(file): unsupported image: \(detail)"
        case let .io(file, detail): return "\(file): \(detail)"
        case let .fileTooLarge(file, size, limit):
            return "\(file): file is \(size) bytes, more than the input limit of \(limit) bytes "
                + "(\(limit >> 20) MiB; photos are far smaller: is this really a JPEG or PNG photo?)"
        case let .outputExists(file): return "\(file): already exists (not overwriting)"
        case let .invalidArgument(detail): return "invalid argument: \(detail)"
        }
    }
}
