import DurableIO

/// Errors that are the machine's, not the photo's: the output disk is full or read-only, a folder vanished,
/// permission was refused for an output. A batch or watcher stops on these instead of recording the photo as failed.
public func isEnvironmentalError(_ error: Error) -> Bool {
    (error as? FileSystemError)?.isEnvironmental ?? false
}

/// The failure lines of a summary: one path per line, the reason without the path repeated in front of it, and
/// identical reasons grouped under a count when many photos share them ("37 × not a JPEG or PNG image").
public enum FailureReport {
    /// From this many photos with the same reason on, they are listed under one "N × reason" heading.
    public static let groupFrom = 3

    public static func lines(_ failed: [(path: String, reason: String)]) -> [String] {
        let stripped = failed.map { (path: $0.path, reason: reason($0.reason, without: $0.path)) }
        var order = [String]()
        var byReason = [String: [String]]()
        for failure in stripped {
            if byReason[failure.reason] == nil { order.append(failure.reason) }
            byReason[failure.reason, default: []].append(failure.path)
        }
        var lines = [String]()
        for reason in order {
            let paths = byReason[reason]!
            if paths.count >= groupFrom {
                lines.append("  failed: \(paths.count) × \(reason):")
                lines += paths.map { "    \($0)" }
            } else {
                lines += paths.map { "  failed: \($0): \(reason)" }
            }
        }
        return lines
    }

    /// `reason` without a leading "<path>: " (errors name their file; the report already does).
    public static func reason(_ reason: String, without path: String) -> String {
        var text = reason
        while text.hasPrefix(path + ": ") { text.removeFirst(path.count + 2) }
        return text
    }
}
