import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Resumable HTTP(S) downloads into a file, on URLSession (libcurl on Linux).
///
/// The bytes go to `.nada-edit-partial-<name>` beside the destination, and the server's validator for them
/// (a strong ETag, else Last-Modified) to `.nada-edit-partial-<name>.validator`. A later call resumes with
/// `Range: bytes=<size>-` and `If-Range: <validator>`, so the bytes already on disk and the rest always come from
/// the same version of the file: a 200 answer (the server's copy changed) starts over, and a 206 whose validator
/// differs from the stored one (a server that ignores If-Range) is discarded and started over too. Without a
/// stored validator the partial bytes cannot be checked, so they are not resumed. Only a complete file whose
/// SHA-256 checks out is renamed into place; a crash at any point leaves at most the hidden partial file.
///
/// Redirects are followed only to hosts on `allowedHosts` (and never from https to http); the first URL is the
/// caller's choice and is not checked.
public final class HTTPDownloader {
    public struct Result {
        public var path: String
        public var sha256: String
        public var bytes: Int64
        /// Bytes that were already on disk from an earlier, interrupted attempt.
        public var resumedFrom: Int64
        /// Where the bytes came from after redirects.
        public var finalURL: URL
    }

    /// What came back when the server sent a web page instead of the file (Google Drive's confirmation page).
    public struct HTMLResponse: Error {
        public var url: URL
        public var body: String
    }

    public var timeout: TimeInterval = 60
    public var progress: ((_ received: Int64, _ total: Int64?) -> Void)?
    /// Redirect targets must be on this list (see `KnownCheckpoints.downloadHosts`).
    public var allowedHosts: HostAllowList = KnownCheckpoints.downloadHosts
    /// Notes for the user: redirects followed, resumes discarded and why.
    public var log: (String) -> Void = { _ in }

    /// Redirect chains longer than this are refused (libcurl's default is 30; publishers use one or two hops).
    static let maxRedirects = 10

    public init() {}

    public static func partialPath(for destination: String) -> String {
        let url = URL(fileURLWithPath: destination)
        return url.deletingLastPathComponent().appendingPathComponent(".nada-edit-partial-\(url.lastPathComponent)").path
    }

    public static func validatorPath(for destination: String) -> String { partialPath(for: destination) + ".validator" }

    /// Downloads `url` to `destination`. `expectedSHA256`, when given, must match or nothing is kept.
    /// Throws `HTMLResponse` when `acceptHTML` is false and the server answers with a web page.
    @discardableResult
    public func download(_ url: URL, to destination: String, expectedSHA256: String?, acceptHTML: Bool = false) throws -> Result {
        let folder = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        try FileOps.createDirectory(folder)
        let partial = HTTPDownloader.partialPath(for: destination)
        let validatorFile = HTTPDownloader.validatorPath(for: destination)
        var resume: (offset: Int64, validator: Validator)?
        if let size = FileOps.fileSize(partial), size > 0 {
            if let stored = Validator.read(from: validatorFile) {
                resume = (size, stored)
            } else {
                log("\(partial): no ETag or Last-Modified was recorded for its \(size) bytes, so they cannot be matched to the server's copy; starting over")
            }
        }
        var attempt = try fetch(url, into: partial, validatorFile: validatorFile, resume: resume, acceptHTML: acceptHTML)
        if let reason = attempt.restart {
            log("\(reason); downloading \(url.absoluteString) again from the start")
            HTTPDownloader.discard(partial: partial, validator: validatorFile)
            resume = nil
            attempt = try fetch(url, into: partial, validatorFile: validatorFile, resume: nil, acceptHTML: acceptHTML)
            if let reason = attempt.restart { throw PipelineError.download(url: url.absoluteString, problem: reason) }
        } else if let resume, attempt.status == 200, attempt.html == nil {
            log("the server's copy of \(url.absoluteString) changed since the interrupted download (If-Range \(resume.validator.value) no longer matches); the \(resume.offset) bytes on disk were discarded and it is downloading from the start")
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
            throw PipelineError.download(url: url.absoluteString, problem: "incomplete: have \(size) of \(total) bytes in \(partial); run again to resume")
        }
        let sha = try FileDigest.sha256Hex(ofFileAt: partial)
        if let expected = expectedSHA256?.lowercased(), expected != sha {
            // A corrupt file must not be resumed from: delete it.
            HTTPDownloader.discard(partial: partial, validator: validatorFile)
            throw PipelineError.checksumMismatch(path: destination, expected: expected, actual: sha)
        }
        // Never replace: a file already at this name in the store (untracked, or fetched by a concurrent run) stays.
        try FileOps.commit(temporary: partial, to: destination, replacing: false)
        unlink(validatorFile)
        return Result(path: destination, sha256: sha, bytes: size, resumedFrom: attempt.resumedFrom ?? 0, finalURL: attempt.finalURL ?? url)
    }

    static func discard(partial: String, validator: String) {
        // Partial first: a validator left without its bytes is harmless, bytes left with an old validator are not.
        unlink(partial)
        unlink(validator)
    }

    // MARK: one request

    struct Attempt {
        var error: Error?
        var html: HTMLResponse?
        /// Why the bytes on disk cannot be continued (changed validator, range not satisfiable, bad range).
        var restart: String?
        var expectedTotal: Int64?
        var resumedFrom: Int64?
        /// HTTP status, nil when no response arrived at all.
        var status: Int?
        var finalURL: URL?
    }

    private func fetch(_ url: URL, into partial: String, validatorFile: String, resume: (offset: Int64, validator: Validator)?,
                       acceptHTML: Bool) throws -> Attempt {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.setValue("nada-edit", forHTTPHeaderField: "User-Agent")
        var resumeHeaders = [(String, String)]()
        if let resume {
            resumeHeaders = [("Range", "bytes=\(resume.offset)-"), ("If-Range", resume.validator.value)]
        }
        for (name, value) in resumeHeaders { request.setValue(value, forHTTPHeaderField: name) }
        let delegate = StreamingDelegate(url: url, partialPath: partial, validatorPath: validatorFile, offset: resume?.offset ?? 0,
                                         expectedValidator: resume?.validator, resumeHeaders: resumeHeaders, acceptHTML: acceptHTML,
                                         allowedHosts: allowedHosts, progress: progress, log: log)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
        session.dataTask(with: request).resume()
        delegate.done.wait()
        session.finishTasksAndInvalidate()
        if let refused = delegate.refusedRedirect { throw refused }
        if let setupError = delegate.setupError { throw setupError }
        var attempt = Attempt()
        attempt.expectedTotal = delegate.expectedTotal
        attempt.resumedFrom = delegate.resumedFrom
        attempt.status = delegate.status
        attempt.finalURL = delegate.finalURL
        if let reason = delegate.restart {
            attempt.restart = reason
            return attempt
        }
        if delegate.status == 416 {
            // The partial file is as long as (or longer than) the resource.
            attempt.restart = "the server cannot serve \(url.absoluteString) from byte \(resume?.offset ?? 0) (HTTP 416)"
            return attempt
        }
        if let status = delegate.status, !(200..<300).contains(status) {
            throw PipelineError.download(url: url.absoluteString, problem: "server answered HTTP \(status)"
                                         + (delegate.finalURL.map { $0 != url ? " at \($0.absoluteString)" : "" } ?? ""))
        }
        if delegate.isHTML {
            attempt.html = HTMLResponse(url: delegate.finalURL ?? url, body: String(decoding: delegate.htmlBody, as: UTF8.self))
        }
        attempt.error = delegate.error
        return attempt
    }
}

/// The version of a resource the partial bytes belong to: a strong ETag, else Last-Modified.
struct Validator: Equatable {
    enum Kind: String { case etag = "ETag", lastModified = "Last-Modified" }
    var kind: Kind
    var value: String

    /// The validator to send in If-Range. A weak ETag (`W/"…"`) cannot be used there (RFC 9110 §13.1.5), so
    /// Last-Modified stands in for it.
    static func of(headers: (String) -> String?) -> Validator? {
        if let etag = headers("ETag")?.trimmingCharacters(in: .whitespaces), etag.hasPrefix("\""), etag.count >= 2 {
            return Validator(kind: .etag, value: etag)
        }
        if let date = headers("Last-Modified")?.trimmingCharacters(in: .whitespaces), !date.isEmpty {
            return Validator(kind: .lastModified, value: date)
        }
        return nil
    }

    /// The file holds one header-style line, `ETag: "…"` or `Last-Modified: …`.
    static func read(from path: String) -> Validator? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first,
              let colon = line.firstIndex(of: ":"),
              let kind = Kind(rawValue: String(line[..<colon])) else { return nil }
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        // Header values never hold control characters; anything else is a damaged file.
        guard !value.isEmpty, !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { return nil }
        return Validator(kind: kind, value: value)
    }

    func write(to path: String) throws {
        try FileOps.writeAtomically(Data("\(kind.rawValue): \(value)\n".utf8), to: path)
    }
}

/// Receives the body and appends it to the partial file (or keeps a small HTML page in memory).
/// Unchecked Sendable: its state is touched only on the session's serial delegate queue, and read by the
/// caller after `done` is signalled.
private final class StreamingDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let url: URL
    let partialPath: String
    let validatorPath: String
    let offset: Int64
    let expectedValidator: Validator?
    let resumeHeaders: [(String, String)]
    let acceptHTML: Bool
    let allowedHosts: HostAllowList
    let progress: ((Int64, Int64?) -> Void)?
    let log: (String) -> Void
    let done = DispatchSemaphore(value: 0)

    var fd: Int32 = -1
    var status: Int?
    var error: Error?
    var setupError: Error?
    var refusedRedirect: PipelineError?
    var restart: String?
    var redirects = 0
    var isHTML = false
    var htmlBody = Data()
    var expectedTotal: Int64?
    var resumedFrom: Int64?
    var finalURL: URL?
    var received: Int64 = 0

    init(url: URL, partialPath: String, validatorPath: String, offset: Int64, expectedValidator: Validator?,
         resumeHeaders: [(String, String)], acceptHTML: Bool, allowedHosts: HostAllowList,
         progress: ((Int64, Int64?) -> Void)?, log: @escaping (String) -> Void) {
        self.url = url; self.partialPath = partialPath; self.validatorPath = validatorPath; self.offset = offset
        self.expectedValidator = expectedValidator; self.resumeHeaders = resumeHeaders; self.acceptHTML = acceptHTML
        self.allowedHosts = allowedHosts; self.progress = progress; self.log = log
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        redirects += 1
        let from = response.url ?? url
        guard let target = request.url else { completionHandler(nil); return }
        var problem = allowedHosts.refusal(from: from, to: target)
        if problem == nil && redirects > HTTPDownloader.maxRedirects { problem = "more than \(HTTPDownloader.maxRedirects) redirects" }
        if let problem {
            refusedRedirect = PipelineError.download(url: url.absoluteString, problem: "refused the redirect to \(target.absoluteString): \(problem)")
            completionHandler(nil)
            return
        }
        log("  redirected to \(target.absoluteString)")
        // The resume headers belong to the file, not to the first URL: keep them on every hop.
        var next = request
        for (name, value) in resumeHeaders where next.value(forHTTPHeaderField: name) == nil { next.setValue(value, forHTTPHeaderField: name) }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let http = response as? HTTPURLResponse
        status = http?.statusCode
        finalURL = response.url
        guard refusedRedirect == nil, let status, (200..<300).contains(status) else { completionHandler(.cancel); return }
        let header: (String) -> String? = { http?.value(forHTTPHeaderField: $0) }
        let contentType = (header("Content-Type") ?? "").lowercased()
        if contentType.hasPrefix("text/html") && !acceptHTML {
            isHTML = true
            completionHandler(.allow)
            return
        }
        let length = response.expectedContentLength >= 0 ? response.expectedContentLength : nil
        var start: Int64 = 0
        if status == 206 {
            // Continue only from a Content-Range that starts exactly where our partial file ends, of the same version.
            let range = header("Content-Range") ?? ""
            guard let first = HTTPDownloader.contentRangeStart(range), first == offset else {
                restart = "the server sent range '\(range)' for a resume from byte \(offset)"
                completionHandler(.cancel)
                return
            }
            if let expected = expectedValidator {
                let now = header(expected.kind.rawValue)?.trimmingCharacters(in: .whitespaces)
                guard now == expected.value else {
                    restart = "the server's copy changed since the interrupted download (\(expected.kind.rawValue) was \(expected.value), now \(now ?? "absent")) and it did not honour If-Range"
                    completionHandler(.cancel)
                    return
                }
            }
            start = offset
            expectedTotal = HTTPDownloader.contentRangeTotal(range) ?? length.map { $0 + start }
        } else {
            expectedTotal = length
        }
        resumedFrom = start
        do {
            try openPartial(start: start)
            if start == 0 {
                // Written after the truncation: the validator on disk never describes older bytes than the partial's.
                if let validator = Validator.of(headers: header) { try validator.write(to: validatorPath) } else { unlink(validatorPath) }
            }
            received = start
            completionHandler(.allow)
        } catch {
            setupError = error
            completionHandler(.cancel)
        }
    }

    private func openPartial(start: Int64) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (start == 0 ? O_TRUNC : 0)
        let opened = open(partialPath, flags, 0o644)
        guard opened >= 0 else { throw PipelineError.io(path: partialPath, problem: "cannot open the download file: \(FileOps.errnoText())") }
        guard lseek(opened, off_t(start), SEEK_SET) == off_t(start) else {
            let problem = FileOps.errnoText()
            close(opened)
            throw PipelineError.io(path: partialPath, problem: "cannot seek to byte \(start): \(problem)")
        }
        fd = opened
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if isHTML {
            if htmlBody.count < 2 << 20 { htmlBody.append(data) }
            return
        }
        guard fd >= 0 else { return }
        let failure: String? = data.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return FileOps.errnoText()
                }
                written += n
            }
            return nil
        }
        if let failure {
            setupError = PipelineError.io(path: partialPath, problem: "write failed after \(received) bytes of \(url.absoluteString): \(failure)")
            dataTask.cancel()
            return
        }
        received += Int64(data.count)
        progress?(received, expectedTotal)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if fd >= 0 {
            // Durability is `FileOps.commit`'s job (it fsyncs before the rename); here only release the descriptor.
            close(fd)
            fd = -1
        }
        if let error, setupError == nil, restart == nil, refusedRedirect == nil, status.map({ (200..<300).contains($0) }) ?? true {
            self.error = error
        }
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

    /// Complete length from `Content-Range: bytes 100-199/200`, nil when it is `*`.
    static func contentRangeTotal(_ header: String) -> Int64? {
        guard let slash = header.lastIndex(of: "/") else { return nil }
        return Int64(header[header.index(after: slash)...].trimmingCharacters(in: .whitespaces))
    }
}

/// Hosts a download may be redirected to: exact names (`github.com`) and `*.domain` patterns, which match any
/// name under `domain` but not `domain` itself.
public struct HostAllowList: Equatable, Sendable {
    public private(set) var patterns: [String]

    public init(_ patterns: [String]) { self.patterns = []; for p in patterns { add(p) } }

    public mutating func add(_ pattern: String) {
        let p = HostAllowList.normalize(pattern)
        if !p.isEmpty && !patterns.contains(p) { patterns.append(p) }
    }

    public func adding(_ more: [String]) -> HostAllowList { var copy = self; for p in more { copy.add(p) }; return copy }

    public func allows(host: String) -> Bool {
        let h = HostAllowList.normalize(host)
        guard !h.isEmpty else { return false }
        return patterns.contains { p in
            p.hasPrefix("*.") ? h.hasSuffix(String(p.dropFirst(1))) && h.count > p.count - 1 : h == p
        }
    }

    /// Why a redirect from `from` to `to` is refused, or nil when it may be followed.
    public func refusal(from: URL?, to: URL) -> String? {
        let scheme = to.scheme?.lowercased() ?? ""
        guard scheme == "https" || scheme == "http" else { return "only http and https URLs are followed, not '\(scheme)'" }
        if from?.scheme?.lowercased() == "https" && scheme == "http" { return "it would leave https for plain http" }
        guard let host = to.host, allows(host: host) else {
            let host = to.host ?? "?"
            return "host '\(host)' is not on the list of the publishers' download hosts; if you trust it, run again with --allow-host \(host)"
        }
        return nil
    }

    /// `--allow-host` values: a host name or `*.domain`, nothing else (no scheme, port or path).
    public static func validate(_ pattern: String) throws {
        let p = normalize(pattern)
        let name = p.hasPrefix("*.") ? String(p.dropFirst(2)) : p
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789-.")
        guard !name.isEmpty, !name.contains("*"), name.unicodeScalars.allSatisfy({ allowed.contains($0) }),
              !name.hasPrefix(".") else {
            throw PipelineError.invalidArgument("invalid host '\(pattern)': give a host name such as downloads.example.org or *.example.org (no scheme, port or path)")
        }
    }

    static func normalize(_ host: String) -> String {
        var h = host.trimmingCharacters(in: .whitespaces).lowercased()
        if h.hasSuffix(".") { h.removeLast() }
        return h
    }
}
