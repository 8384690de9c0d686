/// Errors of the Imaging library. Every case that concerns a file names it, so a batch run can
/// report "photo.jpg: file is truncated" rather than a bare codec message.
public enum ImagingError: Error, CustomStringConvertible, Equatable {
    case notAnImage(file: String, detail: String)
    case corrupt(file: String, detail: String)
    case truncated(file: String, detail: String)
    case tooManyPixels(file: String, width: Int, height: Int, limit: Int)
    case unsupported(file: String, detail: String)
    case io(file: String, detail: String)
    case outputExists(file: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .notAnImage(file, detail): return "\(file): not a JPEG or PNG image (\(detail))"
        case let .corrupt(file, detail): return "\(file): corrupt image data: \(detail)"
        case let .truncated(file, detail): return "\(file): file is truncated: \(detail)"
        case let .tooManyPixels(file, w, h, limit):
            return "\(file): image is \(w)x\(h) = \(w * h) pixels, more than the limit of \(limit) "
                + "(refusing to decode; raise the pixel limit if this image is genuine)"
        case let .unsupported(file, detail): return "\(file): unsupported image: \(detail)"
        case let .io(file, detail): return "\(file): \(detail)"
        case let .outputExists(file): return "\(file): already exists (not overwriting)"
        case let .invalidArgument(detail): return "invalid argument: \(detail)"
        }
    }
}
