import Foundation

/// The training record of a domain: `domains/<name>/record.json`, written by the trainer.
///
/// Relative paths resolve against the folder holding the record, so a domain folder can be moved or copied whole.
public struct DomainRecord: Codable, Equatable {
    public struct FileRef: Codable, Equatable {
        public var path: String
        public var sha256: String
        public init(path: String, sha256: String) { self.path = path; self.sha256 = sha256 }
    }

    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var name: String
    /// NADA's source and target class texts (e.g. "photo" -> "pencil sketch").
    public var sourcePrompt: String
    public var targetPrompt: String
    /// The adapted generator (rosinality-style checkpoint).
    public var generator: FileRef
    /// The frozen generator it was adapted from; `--strength` interpolates between the two.
    public var baseGenerator: FileRef
    /// CLIP models used by the loss, e.g. ["ViT-B/32", "ViT-B/16"].
    public var clipModels: [String]
    public var iterations: Int
    public var finalLoss: Double
    public var wallTimeSeconds: Double
    public var toolVersion: String
    /// ISO-8601 UTC.
    public var created: String
    /// Free-form training settings (learning rate, layers, lambdas...) for provenance; optional.
    public var hyperparameters: [String: String]?

    public init(name: String, sourcePrompt: String, targetPrompt: String, generator: FileRef, baseGenerator: FileRef,
                clipModels: [String], iterations: Int, finalLoss: Double, wallTimeSeconds: Double, toolVersion: String,
                created: String, hyperparameters: [String: String]? = nil) {
        self.schemaVersion = DomainRecord.currentSchemaVersion
        self.name = name; self.sourcePrompt = sourcePrompt; self.targetPrompt = targetPrompt
        self.generator = generator; self.baseGenerator = baseGenerator; self.clipModels = clipModels
        self.iterations = iterations; self.finalLoss = finalLoss; self.wallTimeSeconds = wallTimeSeconds
        self.toolVersion = toolVersion; self.created = created; self.hyperparameters = hyperparameters
    }

    public static func load(from path: String) throws -> DomainRecord {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) }
        catch { throw PipelineError.io(path: path, problem: "cannot read domain record (\(error.localizedDescription))") }
        let record: DomainRecord
        do { record = try JSONDecoder().decode(DomainRecord.self, from: data) }
        catch { throw PipelineError.io(path: path, problem: "not a valid domain record: \(describe(error))") }
        guard record.schemaVersion <= currentSchemaVersion else {
            throw PipelineError.io(path: path, problem: "domain record schemaVersion \(record.schemaVersion) is newer than this tool understands (\(currentSchemaVersion))")
        }
        return record
    }

    /// Writes the record durably (pretty, sorted keys: stable diffs and easy reading).
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileOps.writeAtomically(try encoder.encode(self), to: path)
    }

    /// Resolves a path from the record against the folder that holds the record.
    public static func resolve(_ path: String, relativeTo recordPath: String) -> String {
        if path.hasPrefix("/") { return path }
        let folder = URL(fileURLWithPath: recordPath).deletingLastPathComponent()
        return (folder.appendingPathComponent(path).path as NSString).standardizingPath
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case DecodingError.dataCorrupted(let context): return context.debugDescription
        default: return "\(error)"
        }
    }
}
