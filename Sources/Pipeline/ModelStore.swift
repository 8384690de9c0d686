import DurableIO
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The folder of models: `generators/ encoders/ clip/ vocab/ domains/` plus `manifest.json`.
///
/// Location, first match wins: `--models DIR`, `$NADA_EDIT_MODELS`, `$XDG_DATA_HOME/nada-edit/models`,
/// `~/.local/share/nada-edit/models`.
public final class ModelStore {
    public let root: String
    public var manifestPath: String { path("manifest.json") }

    public init(root: String) { self.root = (root as NSString).standardizingPath }

    /// The store location for this process (see type comment).
    public static func defaultRoot(override: String? = nil,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let override, !override.isEmpty { return override }
        if let explicit = environment["NADA_EDIT_MODELS"], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") { return xdg + "/nada-edit/models" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/share/nada-edit/models"
    }

    public func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }
    public func directory(for kind: ModelKind) -> String { path(kind.rawValue) }

    // MARK: manifest

    public func loadManifest() throws -> ModelManifest {
        guard FileOps.exists(manifestPath) else { return ModelManifest() }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: manifestPath)) }
        catch { throw PipelineError.invalidManifest(path: manifestPath, problem: "unreadable (\(error.localizedDescription))") }
        do { return try JSONDecoder().decode(ModelManifest.self, from: data) }
        catch { throw PipelineError.invalidManifest(path: manifestPath, problem: "not valid manifest JSON (\(error))") }
    }

    public func saveManifest(_ manifest: ModelManifest) throws {
        try FileOps.createDirectory(root)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileOps.writeAtomically(try encoder.encode(manifest), to: manifestPath)
    }

    /// Records a file already inside the store (used by `add` and `fetch`).
    @discardableResult
    public func record(name: String, kind: ModelKind, relativeFile: String, sha256: String, source: String,
                       origin: ModelManifest.ChecksumOrigin) throws -> ModelManifest.Entry {
        var manifest = try loadManifest()
        let entry = ModelManifest.Entry(name: name, kind: kind, file: relativeFile, sha256: sha256,
                                        size: FileOps.fileSize(path(relativeFile)) ?? 0, source: source,
                                        origin: origin, added: ISOTime.now())
        manifest.upsert(entry)
        try saveManifest(manifest)
        return entry
    }

    // MARK: add

    /// Copies `file` into `<kind>/`, hashing it, and records it. A domain record JSON is installed via `DomainRegistry`.
    @discardableResult
    public func add(file: String, kind explicitKind: ModelKind? = nil, name explicitName: String? = nil) throws -> ModelManifest.Entry {
        guard FileOps.isRegularFile(file) else { throw PipelineError.io(path: file, problem: "no such file") }
        let fileName = URL(fileURLWithPath: file).lastPathComponent
        guard let kind = explicitKind ?? ModelKind.guess(fromFileName: fileName) else {
            throw PipelineError.invalidArgument("\(file): cannot tell which kind of model this is; pass --kind (\(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if kind == .domains {
            let domain = try DomainRegistry(store: self).install(recordFile: file, name: explicitName)
            return ModelManifest.Entry(name: domain.record.name, kind: .domains, file: domain.generatorRelativePath,
                                       sha256: domain.record.generator.sha256, size: FileOps.fileSize(domain.generatorPath) ?? 0,
                                       source: file, origin: .added, added: domain.record.created)
        }
        let name = explicitName ?? ModelStore.defaultName(forFileName: fileName)
        try ModelStore.validateName(name)
        if let existing = try loadManifest().entry(named: name) {
            throw PipelineError.invalidArgument("a model named '\(name)' is already in the store (\(existing.file)); choose another --name")
        }
        let relative = "\(kind.rawValue)/\(fileName)"
        let destination = path(relative)
        guard !FileOps.exists(destination) else {
            throw PipelineError.io(path: destination, problem: "already exists in the store; remove it or rename the file")
        }
        try FileOps.createDirectory(directory(for: kind))
        AtomicFile.removeStaleTemporaries(in: directory(for: kind))   // an `add` killed mid-copy left these
        let temp = FileOps.temporaryPath(for: destination)
        let sha: String
        do {
            // The bytes, not the directory entry: a symlink (FileManager.copyItem copies it as a link) would leave
            // the store pointing at a file it does not own, which can change or vanish under the recorded checksum.
            try ModelStore.copyContents(of: file, to: temp)
            sha = try FileDigest.sha256Hex(ofFileAt: temp)
            // Never replace: the exists-check above can race with another `add` of the same name.
            try FileOps.commit(temporary: temp, to: destination, replacing: false)
        } catch { unlink(temp); throw error }
        return try record(name: name, kind: kind, relativeFile: relative, sha256: sha, source: file, origin: .added)
    }

    /// Copies the bytes `source` holds (following symlinks) into a new file `destination`, which must not exist.
    static func copyContents(of source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw PipelineError.io(path: source, problem: "cannot open for reading: \(FileOps.errnoText())") }
        defer { close(input) }
        var st = stat()
        guard fstat(input, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw PipelineError.io(path: source, problem: "not a regular file")
        }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw PipelineError.io(path: destination, problem: "cannot create: \(FileOps.errnoText())") }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw PipelineError.io(path: source, problem: "read failed: \(FileOps.errnoText())") }
            if n == 0 { return }
            var written = 0
            while written < n {
                let m = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, n - written) }
                if m < 0 && errno == EINTR { continue }
                guard m > 0 else { throw PipelineError.io(path: destination, problem: "write failed: \(FileOps.errnoText())") }
                written += m
            }
        }
    }

    static func defaultName(forFileName fileName: String) -> String {
        var name = fileName
        for suffix in [".txt.gz", ".gz", ".pt", ".pth", ".ckpt", ".safetensors", ".bin", ".json", ".pkl"] where name.lowercased().hasSuffix(suffix) {
            name = String(name.dropLast(suffix.count)); break
        }
        return name
    }

    static func validateName(_ name: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !name.isEmpty, !name.hasPrefix("."), name.unicodeScalars.allSatisfy({ allowed.contains($0) }) else {
            throw PipelineError.invalidArgument("invalid name '\(name)': use letters, digits, '-', '_' and '.', not starting with '.'")
        }
    }

    // MARK: list / verify

    public struct Listing {
        public var entries: [ModelManifest.Entry]
        /// Files in kind folders that the manifest does not mention (relative paths).
        public var untracked: [String]
    }

    public func list() throws -> Listing {
        let manifest = try loadManifest()
        let tracked = Set(manifest.entries.map(\.file))
        var untracked = [String]()
        for kind in ModelKind.allCases where kind != .domains {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory(for: kind))) ?? []
            for name in names.sorted() where !FileOps.isIgnoredName(name) && !tracked.contains("\(kind.rawValue)/\(name)") {
                untracked.append("\(kind.rawValue)/\(name)")
            }
        }
        return Listing(entries: manifest.entries, untracked: untracked)
    }

    public enum VerifyStatus: Equatable {
        case ok
        case missing
        case mismatch(actual: String)
    }

    public struct VerifyResult {
        public var entry: ModelManifest.Entry
        public var status: VerifyStatus
    }

    /// Re-hashes every manifest entry (and installed domain generators, which their records pin).
    public func verify() throws -> [VerifyResult] {
        var results = [VerifyResult]()
        for entry in try loadManifest().entries {
            let full = path(entry.file)
            guard FileOps.isRegularFile(full) else { results.append(VerifyResult(entry: entry, status: .missing)); continue }
            let actual = try FileDigest.sha256Hex(ofFileAt: full)
            results.append(VerifyResult(entry: entry, status: actual == entry.sha256 ? .ok : .mismatch(actual: actual)))
        }
        let registry = DomainRegistry(store: self)
        for name in (try? registry.names()) ?? [] {
            guard let domain = try? registry.domain(named: name) else { continue }
            let entry = ModelManifest.Entry(name: name, kind: .domains, file: domain.generatorRelativePath,
                                            sha256: domain.record.generator.sha256, size: 0, source: domain.recordPath,
                                            origin: .added, added: domain.record.created)
            guard FileOps.isRegularFile(domain.generatorPath) else { results.append(VerifyResult(entry: entry, status: .missing)); continue }
            let actual = try FileDigest.sha256Hex(ofFileAt: domain.generatorPath)
            results.append(VerifyResult(entry: entry, status: actual == entry.sha256 ? .ok : .mismatch(actual: actual)))
        }
        return results
    }

    /// `models confirm NAME --sha256 HEX`: the user compared a downloaded file's checksum with one from a source they
    /// trust. The file is re-hashed; it must match both the manifest and `sha256`. An unverified entry becomes
    /// confirmed; any other entry is only checked. Nothing changes on a mismatch.
    @discardableResult
    public func confirm(name: String, sha256 given: String) throws -> ModelManifest.Entry {
        let hex = given.trimmingCharacters(in: .whitespaces).lowercased()
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else {
            throw PipelineError.invalidArgument("--sha256 '\(given)' is not a SHA-256: give the 64 hex digits (as printed by sha256sum)")
        }
        var manifest = try loadManifest()
        guard var entry = manifest.entry(named: name) else {
            throw PipelineError.unknownModel(name: name, known: manifest.entries.map(\.name))
        }
        let full = path(entry.file)
        guard FileOps.isRegularFile(full) else { throw PipelineError.io(path: full, problem: "missing from the store; fetch it again") }
        let actual = try FileDigest.sha256Hex(ofFileAt: full)
        guard actual == entry.sha256 else {
            throw PipelineError.checksumMismatch(path: full, expected: entry.sha256, actual: actual)
        }
        guard actual == hex else {
            throw PipelineError.io(path: full, problem: "SHA-256 is \(actual), not the \(hex) you gave: this is a different or damaged copy; nothing was confirmed (remove it from the store and fetch again, or check where your checksum came from)")
        }
        if entry.sha256Origin == .unverified {
            entry.sha256Origin = .confirmed
            manifest.upsert(entry)
            try saveManifest(manifest)
        }
        return entry
    }

    /// Path of a stored model by manifest name, or nil.
    public func resolve(name: String) throws -> String? {
        guard let entry = try loadManifest().entry(named: name) else { return nil }
        return path(entry.file)
    }
}
