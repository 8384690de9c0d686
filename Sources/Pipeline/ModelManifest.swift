import Foundation

/// `manifest.json` at the store root: what each stored file is and the SHA-256 it had when it arrived.
public struct ModelManifest: Codable, Equatable {
    public struct Entry: Codable, Equatable {
        public var name: String
        public var kind: ModelKind
        /// Path relative to the store root, e.g. `generators/stylegan2-ffhq-config-f.pt`.
        public var file: String
        public var sha256: String
        public var size: Int64
        /// Where it came from: a URL for `models fetch`, the original path for `models add`.
        public var source: String
        /// True when the publisher states the checksum (and it was checked); false when recorded at first download.
        public var sha256Published: Bool
        /// ISO-8601 UTC.
        public var added: String

        public init(name: String, kind: ModelKind, file: String, sha256: String, size: Int64, source: String,
                    sha256Published: Bool, added: String) {
            self.name = name; self.kind = kind; self.file = file; self.sha256 = sha256; self.size = size
            self.source = source; self.sha256Published = sha256Published; self.added = added
        }
    }

    public var version: Int = 1
    public var entries: [Entry] = []

    public init(entries: [Entry] = []) { self.entries = entries }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// Adds or replaces the entry with the same name.
    public mutating func upsert(_ entry: Entry) {
        entries.removeAll { $0.name == entry.name || $0.file == entry.file }
        entries.append(entry)
        entries.sort { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) }
    }

    public mutating func remove(named name: String) { entries.removeAll { $0.name == name } }
}

public enum ISOTime {
    public static func now() -> String { string(Date()) }
    public static func string(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
