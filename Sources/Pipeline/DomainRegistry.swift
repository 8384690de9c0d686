import Foundation

/// A domain as installed in the store: its record and the files it resolves to.
public struct InstalledDomain {
    public var record: DomainRecord
    public var recordPath: String
    public var generatorPath: String
    public var baseGeneratorPath: String
    /// Generator path relative to the store root (for listings).
    public var generatorRelativePath: String

    public var generatorExists: Bool { FileOps.isRegularFile(generatorPath) }
    /// The training run's page, copied in at install when the run wrote one.
    public var reportPath: String { ((recordPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent(TrainingReport.fileName) }
    public var baseGeneratorExists: Bool { FileOps.isRegularFile(baseGeneratorPath) }
}

/// `domains/<name>/record.json` + the adapted generator beside it.
public struct DomainRegistry {
    public let store: ModelStore
    public init(store: ModelStore) { self.store = store }

    public static let recordFileName = "record.json"

    public var root: String { store.directory(for: .domains) }
    func folder(_ name: String) -> String { (root as NSString).appendingPathComponent(name) }

    public func names() throws -> [String] {
        guard FileOps.isDirectory(root) else { return [] }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.filter { !FileOps.isIgnoredName($0) && FileOps.isRegularFile(folder($0) + "/" + DomainRegistry.recordFileName) }.sorted()
    }

    public func domain(named name: String) throws -> InstalledDomain {
        let recordPath = folder(name) + "/" + DomainRegistry.recordFileName
        guard !name.isEmpty, !name.contains("/"), FileOps.isRegularFile(recordPath) else {
            throw PipelineError.unknownDomain(name: name, known: (try? names()) ?? [])
        }
        let record = try DomainRecord.load(from: recordPath)
        let generator = DomainRecord.resolve(record.generator.path, relativeTo: recordPath)
        let base = DomainRecord.resolve(record.baseGenerator.path, relativeTo: recordPath)
        let rootPrefix = store.root.hasSuffix("/") ? store.root : store.root + "/"
        let relative = generator.hasPrefix(rootPrefix) ? String(generator.dropFirst(rootPrefix.count)) : generator
        return InstalledDomain(record: record, recordPath: recordPath, generatorPath: generator,
                               baseGeneratorPath: base, generatorRelativePath: relative)
    }

    /// A domain ready to edit with: both generators present and, when `verifyChecksums`, matching their records.
    public func resolve(_ name: String, verifyChecksums: Bool = false) throws -> InstalledDomain {
        let domain = try self.domain(named: name)
        guard domain.generatorExists else { throw PipelineError.invalidDomain(name: name, problem: "adapted generator \(domain.generatorPath) is missing") }
        guard domain.baseGeneratorExists else { throw PipelineError.invalidDomain(name: name, problem: "base generator \(domain.baseGeneratorPath) is missing") }
        if verifyChecksums {
            for (path, expected) in [(domain.generatorPath, domain.record.generator.sha256), (domain.baseGeneratorPath, domain.record.baseGenerator.sha256)] {
                let actual = try FileDigest.sha256Hex(ofFileAt: path)
                if actual != expected { throw PipelineError.checksumMismatch(path: path, expected: expected, actual: actual) }
            }
        }
        return domain
    }

    /// Installs a domain from a record written elsewhere (e.g. by `train --output`): copies the adapted generator
    /// into `domains/<name>/`, checks its SHA-256 against the record, and rewrites the paths for the new place.
    @discardableResult
    public func install(recordFile: String, name explicitName: String? = nil) throws -> InstalledDomain {
        var record = try DomainRecord.load(from: recordFile)
        if let explicitName { record.name = explicitName }
        try ModelStore.validateName(record.name)
        let destinationFolder = folder(record.name)
        guard !FileOps.exists(destinationFolder) else {
            throw PipelineError.invalidDomain(name: record.name, problem: "already installed at \(destinationFolder); remove it first (domains remove \(record.name))")
        }
        let sourceGenerator = DomainRecord.resolve(record.generator.path, relativeTo: recordFile)
        guard FileOps.isRegularFile(sourceGenerator) else {
            throw PipelineError.invalidDomain(name: record.name, problem: "generator \(sourceGenerator) named by \(recordFile) does not exist")
        }
        let actual = try FileDigest.sha256Hex(ofFileAt: sourceGenerator)
        guard actual == record.generator.sha256 else {
            throw PipelineError.checksumMismatch(path: sourceGenerator, expected: record.generator.sha256, actual: actual)
        }
        let base = DomainRecord.resolve(record.baseGenerator.path, relativeTo: recordFile)

        // Build the folder under a temporary name, then rename: a half-installed domain is never listed.
        try FileOps.createDirectory(root)
        let staging = FileOps.temporaryPath(for: destinationFolder)
        try FileOps.createDirectory(staging)
        do {
            let generatorName = URL(fileURLWithPath: sourceGenerator).lastPathComponent
            try FileManager.default.copyItem(atPath: sourceGenerator, toPath: staging + "/" + generatorName)
            try FileOps.fsyncFile(staging + "/" + generatorName)
            record.generator.path = generatorName
            record.baseGenerator.path = relativePath(from: destinationFolder, to: base)
            try record.write(to: staging + "/" + DomainRegistry.recordFileName)
            try TrainingReport.copyFiles(from: (recordFile as NSString).deletingLastPathComponent, to: staging)
            guard rename(staging, destinationFolder) == 0 else {
                throw PipelineError.io(path: destinationFolder, problem: "cannot rename staging folder into place: \(FileOps.errnoText())")
            }
            FileOps.fsyncDirectory(root)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        return try domain(named: record.name)
    }

    /// Deletes `domains/<name>/` (renamed aside first so a crash never leaves a half-deleted domain listed).
    public func remove(_ name: String) throws {
        _ = try domain(named: name)
        let trash = FileOps.temporaryPath(for: folder(name))
        guard rename(folder(name), trash) == 0 else {
            throw PipelineError.io(path: folder(name), problem: "cannot remove: \(FileOps.errnoText())")
        }
        FileOps.fsyncDirectory(root)
        do { try FileManager.default.removeItem(atPath: trash) }
        catch { throw PipelineError.io(path: trash, problem: "domain unlisted but its files could not be deleted (\(error.localizedDescription))") }
    }

    /// Paths inside the store are stored relative to the domain folder; others stay absolute.
    private func relativePath(from folder: String, to target: String) -> String {
        let rootPrefix = store.root.hasSuffix("/") ? store.root : store.root + "/"
        guard target.hasPrefix(rootPrefix), folder.hasPrefix(rootPrefix) else { return target }
        let folderDepth = folder.dropFirst(rootPrefix.count).split(separator: "/").count
        return String(repeating: "../", count: folderDepth) + target.dropFirst(rootPrefix.count)
    }
}
