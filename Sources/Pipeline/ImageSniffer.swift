import Foundation
import Imaging

// Pipeline's uses of Imaging's `ImageFormat`: content decides the format, never the file name.
extension ImageFormat {
    /// Names users type for `--format`.
    public init?(userName: String) {
        switch userName.lowercased() {
        case "jpg", "jpeg": self = .jpeg
        case "png": self = .png
        default: return nil
        }
    }

    /// Reads the first bytes of a file; nil when unreadable or not JPEG/PNG.
    public static func sniff(fileAt path: String) -> ImageFormat? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 8) else { return nil }
        return detect([UInt8](data))
    }

    /// Whether a name looks meant as an image (so misnamed or corrupt files are reported as failures rather
    /// than silently ignored).
    public static func hasImageExtension(_ name: String) -> Bool { fromExtension(name) != nil }
}
