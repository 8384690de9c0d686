import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 for download tests: one connection at a time, `Connection: close`.
final class LocalHTTPServer {
    struct Request {
        var method: String
        var path: String
        var headers: [String: String]   // lower-cased names
    }

    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: Data
        /// Send only this many body bytes, then drop the connection (simulates an interrupted transfer).
        var cutAfter: Int?

        init(status: Int, headers: [(String, String)] = [], body: Data = Data(), cutAfter: Int? = nil) {
            self.status = status; self.headers = headers; self.body = body; self.cutAfter = cutAfter
        }
    }

    private let listener: Int32
    let port: UInt16
    private let handler: (Request) -> Response
    private let lock = NSLock()
    private var _requests = [Request]()
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    var requests: [Request] { lock.lock(); defer { lock.unlock() }; return _requests }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(handler: @escaping (Request) -> Response) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PipelineTestError("socket failed") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw PipelineTestError("bind/listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in self.serve() }
    }

    func stop() {
        lock.lock(); stopped = true; lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        finished.wait()
    }

    private func serve() {
        defer { finished.signal() }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                lock.lock(); let done = stopped; lock.unlock()
                if done { return }
                continue
            }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !buffer.containsHeaderEnd {
            let n = recv(client, &chunk, chunk.count, 0)
            if n <= 0 { return }
            buffer.append(contentsOf: chunk[0..<n])
        }
        let text = String(decoding: buffer, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return }
        var headers = [String: String]()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = Request(method: String(parts[0]), path: String(parts[1]), headers: headers)
        lock.lock(); _requests.append(request); lock.unlock()
        let response = handler(request)
        var head = "HTTP/1.1 \(response.status) \(response.status < 300 ? "OK" : "Error")\r\n"
        var hasLength = false
        for (name, value) in response.headers {
            head += "\(name): \(value)\r\n"
            if name.lowercased() == "content-length" { hasLength = true }
        }
        if !hasLength { head += "Content-Length: \(response.body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        var out = Data(head.utf8)
        out.append(response.body.prefix(response.cutAfter ?? response.body.count))
        out.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(client, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                sent += n
            }
        }
    }

    /// Serves `body`, honouring `Range: bytes=N-` with 206 responses. `etag` / `lastModified` are sent when given; with
    /// `honourIfRange` an `If-Range` that matches neither makes the answer the whole body with 200 (RFC 9110 §13.1.5),
    /// without it the header is ignored, like a server that only knows Range.
    static func rangeResponse(_ body: Data, request: Request, contentType: String = "application/octet-stream",
                              etag: String? = nil, lastModified: String? = nil, honourIfRange: Bool = true) -> Response {
        var validators = [(String, String)]()
        if let etag { validators.append(("ETag", etag)) }
        if let lastModified { validators.append(("Last-Modified", lastModified)) }
        var rangeApplies = true
        if honourIfRange, let ifRange = request.headers["if-range"] {
            let strongETag = etag.flatMap { $0.hasPrefix("W/") ? nil : $0 }
            rangeApplies = ifRange == strongETag || (ifRange == lastModified && lastModified != nil)
        }
        if rangeApplies, let range = request.headers["range"], range.hasPrefix("bytes="),
           let start = Int(range.dropFirst(6).split(separator: "-").first ?? "") {
            guard start < body.count else {
                return Response(status: 416, headers: [("Content-Range", "bytes */\(body.count)")] + validators)
            }
            return Response(status: 206, headers: [("Content-Type", contentType), ("Content-Range", "bytes \(start)-\(body.count - 1)/\(body.count)")] + validators,
                            body: body.subdata(in: start..<body.count))
        }
        return Response(status: 200, headers: [("Content-Type", contentType)] + validators, body: body)
    }

    /// A 302 to `location`.
    static func redirect(to location: String) -> Response {
        Response(status: 302, headers: [("Location", location)])
    }
}

private extension Array where Element == UInt8 {
    var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 13 && self[i + 1] == 10 && self[i + 2] == 13 && self[i + 3] == 10 { return true }
        return false
    }
}

struct PipelineTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A fresh temporary folder removed at the end of the test. On tmpfs (/dev/shm) when there is one: the pipeline
/// fsyncs every ledger line and output, which costs ~20 ms each on a real disk and nothing on tmpfs.
func makeTemporaryDirectory(_ label: String = "pipeline") throws -> String {
    let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
    let path = base + "nada-edit-\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Deterministic pseudo-random bytes.
func testBytes(_ count: Int, seed: UInt64) -> Data {
    var state = seed &* 0x9E3779B97F4A7C15 | 1
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBufferPointer { p in
        for i in 0..<count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            p[i] = UInt8(truncatingIfNeeded: state)
        }
    }
    return Data(out)
}
