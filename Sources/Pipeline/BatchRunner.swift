import Foundation
import Imaging
#if canImport(Glibc)
import Glibc
#endif

public struct BatchOptions {
    public var outputDirectory: String
    public var domains: [String]
    /// nil: same format as each input.
    public var format: ImageFormat?
    /// Replace existing outputs (default: skip them; never silently replaced).
    public var overwrite: Bool
    public var recursive: Bool
    /// Photos edited at once.
    public var jobs: Int

    public init(outputDirectory: String, domains: [String], format: ImageFormat? = nil, overwrite: Bool = false,
                recursive: Bool = false, jobs: Int = 1) {
        self.outputDirectory = outputDirectory; self.domains = domains; self.format = format
        self.overwrite = overwrite; self.recursive = recursive; self.jobs = jobs
    }
}

/// What a batch run did, for the closing summary and the exit status.
public struct BatchSummary {
    public var processed: [String] = []
    /// Inputs whose outputs all existed already.
    public var skipped: [String] = []
    public var failed: [(path: String, reason: String)] = []
    public var outputsWritten: [String] = []

    /// 0 when nothing failed, 1 otherwise.
    public var exitStatus: Int32 { failed.isEmpty ? 0 : 1 }

    public func report() -> String {
        var lines = ["processed \(processed.count), skipped \(skipped.count) (outputs exist), failed \(failed.count)"]
        for failure in failed { lines.append("  failed: \(failure.path): \(failure.reason)") }
        return lines.joined(separator: "\n")
    }
}

/// Batch editing: inputs -> `<output>/<stem>.<domain>.<ext>`, written under temporary names and renamed.
/// Inputs are only ever read.
public final class BatchRunner {
    public let options: BatchOptions
    public let processor: PhotoProcessor
    public var log: (String) -> Void = { _ in }

    public init(options: BatchOptions, processor: PhotoProcessor) {
        self.options = options
        self.processor = processor
    }

    public func run(inputs: [String]) throws -> BatchSummary {
        guard !options.domains.isEmpty else { throw PipelineError.invalidArgument("no domain given (use --domain NAME)") }
        for domain in options.domains { try ModelStore.validateName(domain) }
        try FileOps.createDirectory(options.outputDirectory)
        let outputFolder = URL(fileURLWithPath: options.outputDirectory).resolvingSymlinksInPath().path
        let domains = options.domains
        let scan = InputScan.expand(inputs, recursive: options.recursive) { path in
            URL(fileURLWithPath: path).deletingLastPathComponent().resolvingSymlinksInPath().path == outputFolder
                && OutputNaming.looksLikeOutput(path, domains: domains)
        }
        var summary = BatchSummary()
        summary.failed = scan.rejected

        // Plan every photo's outputs first, so two inputs that would write the same name are caught up front.
        var claimed = [String: String]()
        var work = [(image: InputImage, targets: [OutputTarget])]()
        for image in scan.images {
            let format = options.format ?? image.format
            let stem = OutputNaming.stem(of: image.path)
            var targets = [OutputTarget]()
            var clash: String?
            for domain in options.domains {
                let final = (options.outputDirectory as NSString).appendingPathComponent(OutputNaming.fileName(stem: stem, domain: domain, format: format))
                if let other = claimed[final] { clash = "output \(final) would also be written for \(other); rename one of the inputs" }
                targets.append(OutputTarget(domain: domain, finalPath: final, writePath: FileOps.temporaryPath(for: final), format: format))
            }
            if let clash { summary.failed.append((image.path, clash)); continue }
            for t in targets { claimed[t.finalPath] = image.path }
            let needed = options.overwrite ? targets : targets.filter { !FileOps.exists($0.finalPath) }
            if needed.isEmpty { summary.skipped.append(image.path); continue }
            work.append((image, needed))
        }

        let results = runConcurrently(work.count, jobs: max(1, options.jobs)) { index -> Result<[String], Error> in
            let item = work[index]
            return Result { try self.edit(item.image, targets: item.targets) }
        }
        for (index, result) in results.enumerated() {
            let path = work[index].image.path
            switch result {
            case .success(let outputs):
                summary.processed.append(path)
                summary.outputsWritten += outputs
            case .failure(let error):
                summary.failed.append((path, "\(error)"))
            }
        }
        return summary
    }

    /// Edits one photo; every target is committed or none is left behind under a temporary name.
    func edit(_ image: InputImage, targets: [OutputTarget]) throws -> [String] {
        defer { for t in targets { unlink(t.writePath) } }
        let sha = try FileDigest.sha256Hex(ofFileAt: image.path)
        log("editing \(image.path)")
        try processor.process(ProcessingJob(inputPath: image.path, inputSHA256: sha, inputFormat: image.format, outputs: targets))
        for t in targets where !FileOps.isRegularFile(t.writePath) {
            throw PipelineError.io(path: image.path, problem: "the editor produced no \(t.domain) output")
        }
        for t in targets { try FileOps.commit(temporary: t.writePath, to: t.finalPath) }
        return targets.map(\.finalPath)
    }
}

/// Runs `body(0..<count)` on `jobs` threads; results in index order.
func runConcurrently<T>(_ count: Int, jobs: Int, _ body: @escaping (Int) -> T) -> [T] {
    var results = [T?](repeating: nil, count: count)
    guard count > 0 else { return [] }
    let lock = NSLock()
    var next = 0
    DispatchQueue.concurrentPerform(iterations: min(jobs, count)) { _ in
        while true {
            lock.lock()
            let index = next
            next += 1
            lock.unlock()
            if index >= count { return }
            let value = body(index)
            lock.lock(); results[index] = value; lock.unlock()
        }
    }
    return results.map { $0! }
}
