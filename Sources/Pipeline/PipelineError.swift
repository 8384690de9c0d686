import Foundation

/// Every failure Pipeline reports: each names the file or entry and says what is wrong.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    case io(path: String, problem: String)
    case invalidManifest(path: String, problem: String)
    case unknownModel(name: String, known: [String])
    case checksumMismatch(path: String, expected: String, actual: String)
    case download(url: String, problem: String)
    case manualDownloadRequired(name: String, instructions: String)
    case unknownDomain(name: String, known: [String])
    case invalidDomain(name: String, problem: String)
    case invalidArgument(String)
    case alreadyRunning(lockPath: String)

    public var description: String {
        switch self {
        case let .io(path, problem): return "\(path): \(problem)"
        case let .invalidManifest(path, problem): return "model manifest \(path): \(problem)"
        case let .unknownModel(name, known):
            return "unknown model '\(name)'" + (known.isEmpty ? "" : "; known: \(known.joined(separator: ", "))")
        case let .checksumMismatch(path, expected, actual):
            return "\(path): SHA-256 mismatch: expected \(expected), got \(actual)"
        case let .download(url, problem): return "download \(url): \(problem)"
        case let .manualDownloadRequired(name, instructions):
            return "\(name) must be downloaded by hand:\n\(instructions)"
        case let .unknownDomain(name, known):
            return "unknown domain '\(name)'" + (known.isEmpty ? " (no domains installed)" : "; installed: \(known.joined(separator: ", "))")
        case let .invalidDomain(name, problem): return "domain '\(name)': \(problem)"
        case let .invalidArgument(message): return message
        case let .alreadyRunning(lockPath): return "another nada-edit is already using \(lockPath)"
        }
    }
}

extension PipelineError: LocalizedError {
    public var errorDescription: String? { description }
}
