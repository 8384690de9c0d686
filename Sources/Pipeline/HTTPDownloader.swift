import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Resumable HTTP(S) downloads into a file, on URLSession (libcurl on Linux).
///
/// The bytes go to `.nada-edit-partial-<name>` beside the destination; a later call resumes it with
/// `Range: bytes=<size>-`. Only a complete file whose SHA-256 checks out is renamed into place.
public final class HTTPDownloader {
    public struct Result {
        public var path: String
        public var sha256: String
        public var bytes: Int64
        /// Bytes that were already on disk from an earlier, interrupted attempt.
        public var resumedFrom: Int64
    }

    /// What came back when the server sent a web page instead of the file (Google Drive's confirmation page).
    public struct HTMLResponse: Error {
        public var url: URL
        public var body: String
    }

    public var timeout: TimeInterval = 60
    public var progress: ((_ received: Int64, _ total: Int64?) -> Void)?

    public init() {}

    public static func partialPath(for destination: String) -> String {
        let url = URL(fileURLWithPath: destination)
        return url.deletingLastPathComponent().appendingPathComponent(".nada-edit-partial-\(url.lastPathComponent)").path
    }

    /// Downloads `url` to `destination`. `expectedSHA256`, when given, must match or nothing is kept.
    /// Throws `HTMLResponse` when `acceptHTML` is false and the server answers with a web page.
    @discardableResult
    public func download(_ url: URL, to destination: String, expectedSHA256: String?, acceptHTML: Bool = false) throws -> Result {
        let folder = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        try FileOps.createDirectory(folder)
        let partial = HTTPDownloader.partialPath(for: destination)
        var existing = FileOps.fileSize(partial) ?? 0
        var attempt = try fetch(url, into: partial, from: existing, acceptHTML: acceptHTML)
        if attempt.rangeNotSatisfiable {
            // The partial file is as long as (or longer than) the resource, or the resource changed: start over.
            unlink(partial)
            existing = 0
            attempt = try fetch(url, into: partial, from: 0, acceptHTML: acceptHTML)
        }
        if let html = attempt.html { throw html }
        if let error = attempt.error, attempt.status == nil {
            throw PipelineError.download(url: url.absoluteString, problem: "no answer from the server (\(error.localizedDescription))")
        }
        if let error = attempt.error {
            let have = FileOps.fileSize(partial) ?? 0
            throw PipelineError.download(url: url.absoluteString,
                                         problem: "interrupted after \(have) bytes (\(error.localizedDescription)); run the same command again to resume")
        }
        let size = FileOps.fileSize(partial) ?? 0
        if let total = attempt.expectedTotal, total != size {
            throw PipelineError.download(url: url.absoluteString, problem: "incomplete: have \(size) of \(total) bytes; run again to resume")
        }
        let sha = try FileDigest.sha256Hex(ofFileAt: partial)
        if let expected = expectedSHA256?.lowercased(), expected != sha {
            // A corrupt file must not be resumed from: delete it.
            unlink(partial)
            throw PipelineError.checksumMismatch(path: destination, expected: expected, actual: sha)
        }
        try FileOps.commit(temporary: partial, to: destination, replacing: true)
        return Result(path: destination, sha256: sha, bytes: size, resumedFrom: attempt.resumedFrom ?? existing)
    }

    // MARK: one request

    struct Attempt {
        var error: Error?
        var html: HTMLResponse?
        var rangeNotSatisfiable = false
        var expectedTotal: Int64?
        var resumedFrom: Int64?
        /// HTTP status, nil when no response arrived at all.
        var status: Int?
    }

    private func fetch(_ url: URL, into partial: String, from offset: Int64, acceptHTML: Bool) throws -> Attempt {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.setValue("nada-edit", forHTTPHeaderField: "User-Agent")
        if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        let delegate = StreamingDelegate(partialPath: partial, offset: offset, acceptHTML: acceptHTML, progress: progress)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
        session.dataTask(with: request).resume()
        delegate.done.wait()
        session.finishTasksAndInvalidate()
        if let setupError = delegate.setupError { throw setupError }
        var attempt = Attempt()
        attempt.rangeNotSatisfiable = delegate.status == 416
        attempt.expectedTotal = delegate.expectedTotal
        attempt.resumedFrom = delegate.resumedFrom
        attempt.status = delegate.status
        if let status = delegate.status, !(200..<300).contains(status), status != 416 {
            throw PipelineError.download(url: url.absoluteString, problem: "server answered HTTP \(status)")
        }
        if delegate.isHTML {
            attempt.html = HTMLResponse(url: delegate.finalURL ?? url, body: String(decoding: delegate.htmlBody, as: UTF8.self))
        }
        attempt.error = delegate.error
        return attempt
    }
}

/// Receives the body and appends it to the partial file (or keeps a small HTML page in memory).
/// Unchecked Sendable: its state is touched only on the session's serial delegate queue, and read by the
/// caller after `done` is signalled.
private final class StreamingDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let partialPath: String
    let offset: Int64
    let acceptHTML: Bool
    let progress: ((Int64, Int64?) -> Void)?
    let done = DispatchSemaphore(value: 0)

    var handle: FileHandle?
    var status: Int?
    var error: Error?
    var setupError: Error?
    var isHTML = false
    var htmlBody = Data()
    var expectedTotal: Int64?
    var resumedFrom: Int64?
    var finalURL: URL?
    var received: Int64 = 0

    init(partialPath: String, offset: Int64, acceptHTML: Bool, progress: ((Int64, Int64?) -> Void)?) {
        self.partialPath = partialPath; self.offset = offset; self.acceptHTML = acceptHTML; self.progress = progress
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        status = http?.statusCode
        finalURL = response.url
        guard let status, (200..<300).contains(status) else { completionHandler(.cancel); return }
        let contentType = (http?.value(forHTTPHeaderField: "Content-Type") ?? "").lowercased()
        if contentType.hasPrefix("text/html") && !acceptHTML {
            isHTML = true
            completionHandler(.allow)
            return
        }
        let length = response.expectedContentLength >= 0 ? response.expectedContentLength : nil
        var start: Int64 = 0
        if status == 206 {
            // Trust only a Content-Range that starts exactly where our partial file ends.
            let range = http?.value(forHTTPHeaderField: "Content-Range") ?? ""
            guard let first = HTTPDownloader.contentRangeStart(range), first == offset else {
                setupError = PipelineError.download(url: response.url?.absoluteString ?? "?", problem: "server sent an unexpected range '\(range)' for a resume from byte \(offset)")
                completionHandler(.cancel)
                return
            }
            start = offset
        }
        resumedFrom = start
        expectedTotal = length.map { $0 + start }
        do {
            if start == 0 {
                guard FileManager.default.createFile(atPath: partialPath, contents: nil) else {
                    throw PipelineError.io(path: partialPath, problem: "cannot create download file")
                }
            }
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: partialPath))
            try h.truncate(atOffset: UInt64(start))
            try h.seekToEnd()
            handle = h
            received = start
            completionHandler(.allow)
        } catch {
            setupError = error
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if isHTML {
            if htmlBody.count < 2 << 20 { htmlBody.append(data) }
            return
        }
        guard let handle else { return }
        do {
            try handle.write(contentsOf: data)
            received += Int64(data.count)
            progress?(received, expectedTotal)
        } catch {
            setupError = PipelineError.io(path: partialPath, problem: "write failed (\(error.localizedDescription))")
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let handle {
            try? handle.synchronize()
            try? handle.close()
        }
        handle = nil
        if let error, setupError == nil, status.map({ (200..<300).contains($0) }) ?? true { self.error = error }
        done.signal()
    }
}

extension HTTPDownloader {
    /// First byte of `Content-Range: bytes 100-199/200`.
    static func contentRangeStart(_ header: String) -> Int64? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes ") else { return nil }
        let spec = trimmed.dropFirst(6)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        return Int64(spec[..<dash].trimmingCharacters(in: .whitespaces))
    }
}
