/// The image formats nada-edit reads and writes, recognised by their leading bytes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg
    case png

    /// Format from magic bytes: JPEG starts FF D8 FF, PNG with its 8-byte signature.
    public static func detect<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        let head = Array(bytes.prefix(8))
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        return nil
    }

    /// Format from a file name's extension (for choosing an output format).
    public static func fromExtension(_ path: String) -> ImageFormat? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "jpg", "jpeg", "jpe": return .jpeg
        case "png": return .png
        default: return nil
        }
    }

    public var fileExtension: String { self == .jpeg ? "jpg" : "png" }
}
