import DurableIO
import Foundation
import Imaging
@testable import Pipeline

/// Stands in for the editor: each output is the input's bytes followed by "|<domain>". A photo whose bytes
/// contain "BROKEN" fails like an undecodable image would.
final class FakeProcessor: PhotoProcessor {
    struct Failure: Error, CustomStringConvertible { var description: String }

    private let lock = NSLock()
    private var _calls = [String: Int]()     // input SHA-256 -> calls
    private var _jobs = [ProcessingJob]()
    var delay: TimeInterval = 0
    /// Called inside `process`, e.g. to deliver a signal mid-image.
    var duringProcess: ((ProcessingJob) -> Void)?
    /// Companion files to write beside each output (`compare`, `face2`, …), as the real editor does.
    var companions: [String] = []
    /// Thrown instead of writing outputs (an output-side failure such as a full disk).
    var writeError: Error?
    /// Zero bytes appended to every output (to fill a small filesystem).
    var padding = 0

    var calls: [String: Int] { lock.lock(); defer { lock.unlock() }; return _calls }
    var jobs: [ProcessingJob] { lock.lock(); defer { lock.unlock() }; return _jobs }

    func process(_ job: ProcessingJob) throws {
        lock.lock(); _calls[job.inputSHA256, default: 0] += 1; _jobs.append(job); lock.unlock()
        duringProcess?(job)
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: job.inputPath))
        if bytes.range(of: Data("BROKEN".utf8)) != nil { throw Failure(description: "corrupt image data (fake decoder)") }
        if let writeError { throw writeError }
        for output in job.outputs {
            precondition(output.writePath != output.finalPath)
            // Written as the real editor writes (AtomicFile: errors are FileSystemErrors naming the file and errno).
            try AtomicFile.write(Array(bytes + Data("|\(output.domain)".utf8) + Data(count: padding)), to: output.writePath, replacing: true)
            for tag in companions {
                try AtomicFile.write(Array(bytes + Data("|\(output.domain)|\(tag)".utf8)), to: output.companionWritePath(tag), replacing: true)
            }
        }
    }

    static func expectedOutput(for input: Data, domain: String, padding: Int = 0) -> Data { input + Data("|\(domain)".utf8) + Data(count: padding) }
}

/// Small "photos": real magic bytes plus a unique payload.
enum FakeImages {
    static let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let jpegMagic: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]

    static func png(_ payload: String) -> Data { Data(pngMagic) + Data(payload.utf8) }
    static func jpeg(_ payload: String) -> Data { Data(jpegMagic) + Data(payload.utf8) }

    static func write(_ data: Data, to path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }
}

/// Snapshot of every file under a folder (relative path -> bytes), to prove inputs never change.
func snapshot(_ folder: String) -> [String: Data] {
    var out = [String: Data]()
    guard let e = FileManager.default.enumerator(atPath: folder) else { return out }
    while let relative = e.nextObject() as? String {
        let path = folder + "/" + relative
        if FileOps.isRegularFile(path), let bytes = try? FileIO.read(path) { out[relative] = Data(bytes) }
    }
    return out
}
