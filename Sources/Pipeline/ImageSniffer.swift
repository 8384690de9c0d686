import Foundation

/// Image container formats the editor reads and writes, recognised by their magic bytes, not their names.
public enum ImageFormat: String, CaseIterable, Codable {
    case jpeg, png

    /// Extension used for outputs.
    public var fileExtension: String { self == .jpeg ? "jpg" : "png" }

    /// Names users type for `--format`.
    public init?(userName: String) {
        switch userName.lowercased() {
        case "jpg", "jpeg": self = .jpeg
        case "png": self = .png
        default: return nil
        }
    }

    /// JPEG: FF D8 FF (SOI + first marker). PNG: the 8-byte signature.
    public static func sniff(_ header: [UInt8]) -> ImageFormat? {
        if header.count >= 3, header[0] == 0xFF, header[1] == 0xD8, header[2] == 0xFF { return .jpeg }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if header.count >= 8, Array(header[0..<8]) == png { return .png }
        return nil
    }

    /// Reads the first bytes of a file; nil when unreadable or not JPEG/PNG.
    public static func sniff(fileAt path: String) -> ImageFormat? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 8) else { return nil }
        return sniff([UInt8](data))
    }

    /// Whether a name looks like it is meant to be an image (used to report misnamed/corrupt files as failures
    /// rather than silently ignoring them).
    public static func hasImageExtension(_ name: String) -> Bool {
        ["jpg", "jpeg", "jpe", "png"].contains(URL(fileURLWithPath: name).pathExtension.lowercased())
    }
}
