import Foundation

/// `manifest.json` at the store root: what each stored file is and the SHA-256 it had when it arrived.
public struct ModelManifest: Codable, Equatable {
    /// How far a stored file's SHA-256 can be trusted.
    public enum ChecksumOrigin: String, Codable, CaseIterable, Sendable {
        /// The publisher states it and the download matched it.
        case published
        /// Recorded at a first download with nothing to compare against: the bytes are whatever the server sent
        /// that day. Shown as unverified until `models confirm` compares it with a checksum from elsewhere.
        case unverified
        /// Recorded at a download, then confirmed by the user (`models confirm NAME --sha256 HEX`).
        case confirmed
        /// Hashed from the user's own file by `models add`.
        case added

        /// How `models list` and `models verify` describe it.
        public var label: String {
            switch self {
            case .published: return "published"
            case .unverified: return "UNVERIFIED: recorded at first download"
            case .confirmed: return "confirmed by user"
            case .added: return "from added file"
            }
        }
    }

    public struct Entry: Codable, Equatable {
        public var name: String
        public var kind: ModelKind
        /// Path relative to the store root, e.g. `generators/stylegan2-ffhq-config-f.pt`.
        public var file: String
        public var sha256: String
        public var size: Int64
        /// Where it came from: a URL for `models fetch`, the original path for `models add`.
        public var source: String
        public var sha256Origin: ChecksumOrigin
        /// ISO-8601 UTC.
        public var added: String

        /// True when the publisher states the checksum (and it was checked). Still written to manifest.json so
        /// that older nada-edit versions, which require the key, can read manifests written by this one.
        public var sha256Published: Bool { sha256Origin == .published }

        public init(name: String, kind: ModelKind, file: String, sha256: String, size: Int64, source: String,
                    origin: ChecksumOrigin, added: String) {
            self.name = name; self.kind = kind; self.file = file; self.sha256 = sha256; self.size = size
            self.source = source; self.sha256Origin = origin; self.added = added
        }

        enum CodingKeys: String, CodingKey {
            case name, kind, file, sha256, size, source, sha256Published, sha256Origin, added
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            kind = try c.decode(ModelKind.self, forKey: .kind)
            file = try c.decode(String.self, forKey: .file)
            sha256 = try c.decode(String.self, forKey: .sha256)
            size = try c.decode(Int64.self, forKey: .size)
            source = try c.decode(String.self, forKey: .source)
            added = try c.decode(String.self, forKey: .added)
            if let origin = try c.decodeIfPresent(ChecksumOrigin.self, forKey: .sha256Origin) {
                sha256Origin = origin
            } else {
                // Manifests written before sha256Origin existed: `fetch` recorded the URL as the source and `add`
                // the original path, so an unpublished checksum with a URL source came from a first download.
                let published = try c.decodeIfPresent(Bool.self, forKey: .sha256Published) ?? false
                let downloaded = source.hasPrefix("https://") || source.hasPrefix("http://")
                sha256Origin = published ? .published : (downloaded ? .unverified : .added)
            }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(kind, forKey: .kind)
            try c.encode(file, forKey: .file)
            try c.encode(sha256, forKey: .sha256)
            try c.encode(size, forKey: .size)
            try c.encode(source, forKey: .source)
            try c.encode(sha256Published, forKey: .sha256Published)
            try c.encode(sha256Origin, forKey: .sha256Origin)
            try c.encode(added, forKey: .added)
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
