import ArgumentParser
import XCTest
@testable import NadaEditCLI
@testable import Pipeline

final class ModelFetchTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("fetch") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testInterruptedDownloadResumesWithRangeAndIsRecorded() throws {
        let body = testBytes(200_000, seed: 7)
        let sha = FileDigest.sha256Hex(of: body)
        var served = 0
        let server = try LocalHTTPServer { request in
            served += 1
            if served == 1 {
                // First attempt: promise everything, send 60 000 bytes, hang up.
                return LocalHTTPServer.Response(status: 200, headers: [("Content-Length", "\(body.count)"), ("ETag", "\"v1\"")],
                                                body: body, cutAfter: 60_000)
            }
            return LocalHTTPServer.rangeResponse(body, request: request, etag: "\"v1\"")
        }
        defer { server.stop() }
        let store = ModelStore(root: dir + "/models")
        let checkpoint = KnownCheckpoint(name: "clip-test", kind: .clip, fileName: "\(sha)-test.pt",
                                         location: .url(server.baseURL + "/clip/models/\(sha)/test.pt"),
                                         publishedSHA256: sha, summary: "", publishedAt: "")
        let fetcher = ModelFetcher(store: store)
        XCTAssertThrowsError(try fetcher.fetch(checkpoint)) { error in
            XCTAssertTrue("\(error)".contains("resume"), "\(error)")
        }
        let destination = store.path("clip/\(checkpoint.fileName)")
        XCTAssertFalse(FileOps.exists(destination), "an incomplete file must never appear under its final name")
        let partialSize = FileOps.fileSize(HTTPDownloader.partialPath(for: destination)) ?? 0
        XCTAssertEqual(partialSize, 60_000)
        XCTAssertEqual(try String(contentsOfFile: HTTPDownloader.validatorPath(for: destination), encoding: .utf8), "ETag: \"v1\"\n")

        let outcome = try fetcher.fetch(checkpoint)
        XCTAssertEqual(server.requests.last?.headers["range"], "bytes=60000-")
        XCTAssertEqual(server.requests.last?.headers["if-range"], "\"v1\"")
        guard case let .downloaded(entry, resumedFrom) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(resumedFrom, 60_000)
        XCTAssertEqual(entry.sha256, sha)
        XCTAssertTrue(entry.sha256Published)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: destination)), body)
        XCTAssertFalse(FileOps.exists(HTTPDownloader.partialPath(for: destination)))
        XCTAssertFalse(FileOps.exists(HTTPDownloader.validatorPath(for: destination)))
        XCTAssertEqual(try store.loadManifest().entry(named: "clip-test")?.sha256, sha)

        // Fetching again downloads nothing.
        let before = server.requests.count
        guard case .alreadyPresent = try fetcher.fetch(checkpoint) else { return XCTFail("expected alreadyPresent") }
        XCTAssertEqual(server.requests.count, before)
    }

    func testChecksumMismatchKeepsNothing() throws {
        let body = testBytes(30_000, seed: 8)
        let server = try LocalHTTPServer { LocalHTTPServer.rangeResponse(body, request: $0) }
        defer { server.stop() }
        let store = ModelStore(root: dir + "/models")
        let wrong = String(repeating: "ab", count: 32)
        let checkpoint = KnownCheckpoint(name: "bad", kind: .clip, fileName: "bad.pt", location: .url(server.baseURL + "/bad.pt"),
                                         publishedSHA256: wrong, summary: "", publishedAt: "")
        XCTAssertThrowsError(try ModelFetcher(store: store).fetch(checkpoint)) { error in
            guard case let PipelineError.checksumMismatch(_, expected, actual) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(expected, wrong)
            XCTAssertEqual(actual, FileDigest.sha256Hex(of: body))
        }
        let destination = store.path("clip/bad.pt")
        XCTAssertFalse(FileOps.exists(destination))
        XCTAssertFalse(FileOps.exists(HTTPDownloader.partialPath(for: destination)), "a corrupt partial must not be resumed from")
        XCTAssertNil(try store.loadManifest().entry(named: "bad"))
    }

    func testUnpublishedChecksumIsRecordedAtFirstDownloadAndServerErrorsAreReported() throws {
        let body = testBytes(1234, seed: 9)
        let server = try LocalHTTPServer { request in
            request.path == "/missing" ? LocalHTTPServer.Response(status: 404) : LocalHTTPServer.rangeResponse(body, request: request)
        }
        defer { server.stop() }
        let store = ModelStore(root: dir + "/models")
        let vocab = KnownCheckpoint(name: "vocab", kind: .vocab, fileName: "v.txt.gz", location: .url(server.baseURL + "/v"),
                                    publishedSHA256: nil, summary: "", publishedAt: "")
        guard case let .downloaded(entry, _) = try ModelFetcher(store: store).fetch(vocab) else { return XCTFail() }
        XCTAssertEqual(entry.sha256, FileDigest.sha256Hex(of: body))
        XCTAssertFalse(entry.sha256Published)
        XCTAssertEqual(entry.sha256Origin, .unverified)
        XCTAssertEqual(try store.loadManifest().entry(named: "vocab")?.sha256Origin, .unverified, "models list reads this")

        let missing = KnownCheckpoint(name: "m", kind: .vocab, fileName: "m", location: .url(server.baseURL + "/missing"),
                                      publishedSHA256: nil, summary: "", publishedAt: "")
        XCTAssertThrowsError(try ModelFetcher(store: store).fetch(missing)) { XCTAssertTrue("\($0)".contains("HTTP 404"), "\($0)") }
        // Nothing listening: a clear "no answer", not a resume hint.
        let closedPort = KnownCheckpoint(name: "c", kind: .vocab, fileName: "c", location: .url("http://127.0.0.1:1/c"),
                                         publishedSHA256: nil, summary: "", publishedAt: "")
        XCTAssertThrowsError(try ModelFetcher(store: store).fetch(closedPort)) { XCTAssertTrue("\($0)".contains("no answer"), "\($0)") }
        XCTAssertThrowsError(try ModelFetcher(store: store).fetch("no-such-model")) { XCTAssertTrue("\($0)".contains("clip-vit-b-32")) }
    }

    func testGoogleDriveConfirmationPageIsFollowed() throws {
        let body = testBytes(50_000, seed: 10)
        var confirmPage = ""
        let server = try LocalHTTPServer { request in
            if request.path.hasPrefix("/uc?") {
                return LocalHTTPServer.Response(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: Data(confirmPage.utf8))
            }
            if request.path.hasPrefix("/download?"), request.path.contains("confirm=t"), request.path.contains("uuid=u-1") {
                return LocalHTTPServer.rangeResponse(body, request: request)
            }
            return LocalHTTPServer.Response(status: 403)
        }
        defer { server.stop() }
        confirmPage = """
        <html><body><p>Google Drive can't scan this file for viruses.</p>
        <form id="download-form" action="\(server.baseURL)/download" method="get">
        <input type="submit" id="uc-download-link" value="Download anyway"/>
        <input type="hidden" name="id" value="FILEID"><input type="hidden" name="export" value="download">
        <input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="u-1"></form></body></html>
        """
        let store = ModelStore(root: dir + "/models")
        let checkpoint = KnownCheckpoint(name: "gen", kind: .generators, fileName: "gen.pt", location: .googleDrive(id: "FILEID"),
                                         publishedSHA256: nil, summary: "", publishedAt: "")
        // The form points at a host that is not a publisher's: refused by name, nothing requested from it.
        let strict = ModelFetcher(store: store)
        strict.googleDriveBase = server.baseURL
        XCTAssertThrowsError(try strict.fetch(checkpoint)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("confirmation form") && text.contains("host '127.0.0.1'") && text.contains("--allow-host 127.0.0.1"), text)
        }
        XCTAssertFalse(server.requests.contains { $0.path.hasPrefix("/download") })
        XCTAssertFalse(FileOps.exists(store.path("generators/gen.pt")))

        let fetcher = ModelFetcher(store: store)
        fetcher.googleDriveBase = server.baseURL
        fetcher.downloader.allowedHosts.add("127.0.0.1")
        guard case let .downloaded(entry, _) = try fetcher.fetch(checkpoint) else { return XCTFail() }
        XCTAssertEqual(entry.sha256, FileDigest.sha256Hex(of: body))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path("generators/gen.pt"))), body)
        XCTAssertTrue(server.requests[0].path.contains("id=FILEID"))
        XCTAssertEqual(entry.sha256Origin, .unverified)

        // A page without a download form (quota exceeded) -> exact manual instructions.
        confirmPage = "<html><body>Too many users have viewed or downloaded this file recently.</body></html>"
        let other = KnownCheckpoint(name: "gen2", kind: .generators, fileName: "gen2.pt", location: .googleDrive(id: "OTHER"),
                                    publishedSHA256: nil, summary: "", publishedAt: "")
        XCTAssertThrowsError(try fetcher.fetch(other)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("https://drive.google.com/file/d/OTHER/view"), text)
            XCTAssertTrue(text.contains("nada-edit models add gen2.pt --kind generators --name gen2"), text)
        }
        XCTAssertFalse(FileOps.exists(store.path("generators/gen2.pt")))
    }

    // MARK: resuming only the same version (If-Range)

    /// Two versions of one file of the same length: the splice A[0..<cut] + B[cut...] is what an unguarded resume records.
    let versionA = testBytes(100_000, seed: 21)
    let versionB = testBytes(100_000, seed: 22)

    func unpublished(_ server: LocalHTTPServer, name: String = "gen", path: String = "/gen.pt") -> KnownCheckpoint {
        KnownCheckpoint(name: name, kind: .generators, fileName: "\(name).pt", location: .url(server.baseURL + path),
                        publishedSHA256: nil, summary: "", publishedAt: "")
    }

    func testResumeOfAFileThatChangedStartsOverWhenTheServerHonoursIfRange() throws {
        var current = versionA, etag = "\"A\"", cut: Int? = 40_000
        let server = try LocalHTTPServer { [self] request in
            if let c = cut {
                cut = nil
                return LocalHTTPServer.Response(status: 200, headers: [("ETag", etag)], body: versionA, cutAfter: c)
            }
            return LocalHTTPServer.rangeResponse(current, request: request, etag: etag)
        }
        defer { server.stop() }
        let store = ModelStore(root: dir + "/models")
        let fetcher = ModelFetcher(store: store)
        var notes = [String]()
        fetcher.log = { notes.append($0) }
        let checkpoint = unpublished(server)
        XCTAssertThrowsError(try fetcher.fetch(checkpoint))
        current = versionB; etag = "\"B\""

        guard case let .downloaded(entry, resumedFrom) = try fetcher.fetch(checkpoint) else { return XCTFail() }
        XCTAssertEqual(server.requests[1].headers["range"], "bytes=40000-")
        XCTAssertEqual(server.requests[1].headers["if-range"], "\"A\"")
        XCTAssertEqual(server.requests.count, 2, "the 200 answer is the whole new version; no second request needed")
        XCTAssertEqual(resumedFrom, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path(entry.file))), versionB)
        XCTAssertEqual(entry.sha256, FileDigest.sha256Hex(of: versionB), "never the checksum of a splice")
        XCTAssertEqual(entry.sha256Origin, .unverified)
        XCTAssertTrue(notes.contains { $0.contains("changed since the interrupted download") }, "\(notes)")
    }

    func testA206OfAnotherVersionIsRejectedAndTheDownloadStartsOver() throws {
        // Weak ETags cannot go in If-Range, so Last-Modified does; the server ignores If-Range and answers 206 anyway.
        let dateA = "Sat, 01 Nov 2025 10:00:00 GMT", dateB = "Mon, 03 Nov 2025 09:30:00 GMT"
        var current = versionA, date = dateA, cut: Int? = 30_000
        let server = try LocalHTTPServer { [self] request in
            if let c = cut {
                cut = nil
                return LocalHTTPServer.Response(status: 200, headers: [("ETag", "W/\"a\""), ("Last-Modified", dateA)], body: versionA, cutAfter: c)
            }
            return LocalHTTPServer.rangeResponse(current, request: request, etag: "W/\"x\"", lastModified: date, honourIfRange: false)
        }
        defer { server.stop() }
        let store = ModelStore(root: dir + "/models")
        let fetcher = ModelFetcher(store: store)
        let checkpoint = unpublished(server)
        XCTAssertThrowsError(try fetcher.fetch(checkpoint))
        current = versionB; date = dateB

        guard case let .downloaded(entry, resumedFrom) = try fetcher.fetch(checkpoint) else { return XCTFail() }
        XCTAssertEqual(server.requests.count, 3)
        XCTAssertEqual(server.requests[1].headers["range"], "bytes=30000-")
        XCTAssertEqual(server.requests[1].headers["if-range"], dateA)
        XCTAssertNil(server.requests[2].headers["range"], "after the mismatching 206 the file is fetched whole")
        XCTAssertEqual(resumedFrom, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path(entry.file))), versionB)
        XCTAssertEqual(entry.sha256, FileDigest.sha256Hex(of: versionB))
    }

    func testA206OfTheSameVersionWithoutIfRangeSupportIsStillResumed() throws {
        var cut: Int? = 25_000
        let server = try LocalHTTPServer { [self] request in
            if let c = cut {
                cut = nil
                return LocalHTTPServer.Response(status: 200, headers: [("ETag", "\"A\"")], body: versionA, cutAfter: c)
            }
            return LocalHTTPServer.rangeResponse(versionA, request: request, etag: "\"A\"", honourIfRange: false)
        }
        defer { server.stop() }
        let store = ModelStore(root: dir + "/models")
        let fetcher = ModelFetcher(store: store)
        XCTAssertThrowsError(try fetcher.fetch(unpublished(server)))
        guard case let .downloaded(entry, resumedFrom) = try fetcher.fetch(unpublished(server)) else { return XCTFail() }
        XCTAssertEqual(resumedFrom, 25_000)
        XCTAssertEqual(server.requests.count, 2)
        XCTAssertEqual(entry.sha256, FileDigest.sha256Hex(of: versionA))
    }

    func testPartialBytesWithoutAValidatorAreNotResumed() throws {
        var cut: Int? = 50_000
        let server = try LocalHTTPServer { [self] request in
            if let c = cut { cut = nil; return LocalHTTPServer.Response(status: 200, body: versionA, cutAfter: c) }
            return LocalHTTPServer.rangeResponse(versionA, request: request)
        }
        defer { server.stop() }
        let store = ModelStore(root: dir + "/models")
        let fetcher = ModelFetcher(store: store)
        XCTAssertThrowsError(try fetcher.fetch(unpublished(server)))
        XCTAssertFalse(FileOps.exists(HTTPDownloader.validatorPath(for: store.path("generators/gen.pt"))))
        guard case let .downloaded(entry, resumedFrom) = try fetcher.fetch(unpublished(server)) else { return XCTFail() }
        XCTAssertNil(server.requests[1].headers["range"])
        XCTAssertEqual(resumedFrom, 0)
        XCTAssertEqual(entry.sha256, FileDigest.sha256Hex(of: versionA))
    }

    func testValidatorChoiceAndStorage() throws {
        func headers(_ h: [String: String]) -> (String) -> String? { { h[$0] } }
        XCTAssertEqual(Validator.of(headers: headers(["ETag": "\"x\"", "Last-Modified": "d"])), Validator(kind: .etag, value: "\"x\""))
        XCTAssertEqual(Validator.of(headers: headers(["ETag": "W/\"x\"", "Last-Modified": "d"])), Validator(kind: .lastModified, value: "d"))
        XCTAssertNil(Validator.of(headers: headers(["ETag": "W/\"x\""])))
        let file = dir + "/v"
        try Validator(kind: .lastModified, value: "Sat, 01 Nov 2025 10:00:00 GMT").write(to: file)
        XCTAssertEqual(Validator.read(from: file), Validator(kind: .lastModified, value: "Sat, 01 Nov 2025 10:00:00 GMT"))
        try Data("Content-Type: x\n".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertNil(Validator.read(from: file))
    }

    // MARK: redirects

    func testRedirectsAreFollowedOnlyToAllowedHostsAndTheFinalURLIsPrinted() throws {
        var cut: Int? = nil
        let server = try LocalHTTPServer { [self] request in
            if request.path == "/start" { return LocalHTTPServer.redirect(to: "/cdn/gen.pt") }
            if let c = cut { cut = nil; return LocalHTTPServer.Response(status: 200, headers: [("ETag", "\"A\"")], body: versionA, cutAfter: c) }
            return LocalHTTPServer.rangeResponse(versionA, request: request, etag: "\"A\"")
        }
        defer { server.stop() }
        let store = ModelStore(root: dir + "/models")
        let checkpoint = unpublished(server, path: "/start")

        // Default list: the publishers' hosts only.
        XCTAssertThrowsError(try ModelFetcher(store: store).fetch(checkpoint)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("\(server.baseURL)/cdn/gen.pt") && text.contains("host '127.0.0.1'"), text)
            XCTAssertTrue(text.contains("--allow-host 127.0.0.1"), text)
        }
        XCTAssertEqual(server.requests.map(\.path), ["/start"], "the refused host is never contacted")
        XCTAssertNil(try store.loadManifest().entry(named: "gen"))
        XCTAssertFalse(FileOps.exists(HTTPDownloader.partialPath(for: store.path("generators/gen.pt"))))

        // Allowed: followed, and the final URL is reported. Interrupt it once to see the resume headers survive the hop.
        let fetcher = ModelFetcher(store: store)
        fetcher.downloader.allowedHosts = KnownCheckpoints.downloadHosts.adding(["127.0.0.1"])
        var notes = [String]()
        fetcher.log = { notes.append($0) }
        cut = 10_000
        XCTAssertThrowsError(try fetcher.fetch(checkpoint))
        guard case let .downloaded(entry, resumedFrom) = try fetcher.fetch(checkpoint) else { return XCTFail() }
        XCTAssertEqual(resumedFrom, 10_000)
        let last = try XCTUnwrap(server.requests.last)
        XCTAssertEqual(last.path, "/cdn/gen.pt")
        XCTAssertEqual(last.headers["range"], "bytes=10000-")
        XCTAssertEqual(last.headers["if-range"], "\"A\"")
        XCTAssertEqual(entry.sha256, FileDigest.sha256Hex(of: versionA))
        XCTAssertTrue(notes.contains("  fetched from \(server.baseURL)/cdn/gen.pt"), "\(notes)")
    }

    func testHostAllowList() throws {
        let list = HostAllowList(["github.com", "*.googleusercontent.com"])
        XCTAssertTrue(list.allows(host: "GitHub.com."))
        XCTAssertTrue(list.allows(host: "doc-0s-3k-docs.googleusercontent.com"))
        XCTAssertFalse(list.allows(host: "googleusercontent.com"))
        XCTAssertFalse(list.allows(host: "evilgoogleusercontent.com"))
        XCTAssertFalse(list.allows(host: "googleusercontent.com.evil.example"))
        XCTAssertFalse(list.allows(host: "gist.github.com"))
        let https = URL(string: "https://github.com/x")!
        XCTAssertNil(list.refusal(from: https, to: URL(string: "https://a.googleusercontent.com/f")!))
        XCTAssertNotNil(list.refusal(from: https, to: URL(string: "http://a.googleusercontent.com/f")!), "no https -> http")
        XCTAssertNotNil(list.refusal(from: https, to: URL(string: "ftp://github.com/f")!))
        XCTAssertTrue(list.refusal(from: https, to: URL(string: "https://evil.example/f")!)?.contains("'evil.example'") ?? false)

        // Every catalog URL's host and the publishers' download hosts are on the default list.
        let hosts = KnownCheckpoints.downloadHosts
        for c in KnownCheckpoints.all {
            switch c.location {
            case .url(let url), .manual(let url, _): XCTAssertTrue(hosts.allows(host: URL(string: url)!.host!), url)
            case .googleDrive: XCTAssertTrue(hosts.allows(host: "drive.google.com"))
            }
        }
        for host in ["drive.usercontent.google.com", "doc-08-4c-docs.googleusercontent.com", "objects.githubusercontent.com",
                     "raw.githubusercontent.com", "openaipublic.azureedge.net", "cdn-lfs-us-1.huggingface.co"] {
            XCTAssertTrue(hosts.allows(host: host), host)
        }
        XCTAssertFalse(hosts.allows(host: "127.0.0.1"))

        for good in ["mirror.example.org", "*.example.org", "127.0.0.1", "Mirror.Example.ORG"] { XCTAssertNoThrow(try HostAllowList.validate(good), good) }
        for bad in ["https://x.org/", "x.org:8080", "x.org/path", "", "*", "*.", "a*b.org"] {
            XCTAssertThrowsError(try HostAllowList.validate(bad), bad)
        }
    }

    func testConfirmAndAllowHostThroughTheCommandLine() throws {
        XCTAssertThrowsError(try Models.parseAsRoot(["fetch", "gen", "--allow-host", "https://evil.example/x"])) {
            XCTAssertTrue(Models.message(for: $0).contains("--allow-host"), Models.message(for: $0))
        }
        let fetch = try XCTUnwrap(try Models.parseAsRoot(["fetch", "gen", "--allow-host", "mirror.example.org", "--allow-host", "*.example.net"]) as? ModelsFetch)
        XCTAssertEqual(fetch.allowHosts, ["mirror.example.org", "*.example.net"])

        let store = ModelStore(root: dir + "/models")
        let bytes = testBytes(500, seed: 11)
        try FileOps.createDirectory(store.directory(for: .vocab))
        try bytes.write(to: URL(fileURLWithPath: store.path("vocab/v.txt.gz")))
        try store.record(name: "v", kind: .vocab, relativeFile: "vocab/v.txt.gz", sha256: FileDigest.sha256Hex(of: bytes),
                         source: "https://github.com/x", origin: .unverified)
        var wrong = try Models.parseAsRoot(["confirm", "v", "--sha256", String(repeating: "1", count: 64), "--models", store.root])
        XCTAssertThrowsError(try wrong.run())
        var confirm = try Models.parseAsRoot(["confirm", "v", "--sha256", FileDigest.sha256Hex(of: bytes), "--models", store.root])
        try confirm.run()
        XCTAssertEqual(try store.loadManifest().entry(named: "v")?.sha256Origin, .confirmed)
    }

    func testOlderConfirmLinkFormIsParsed() {
        let page = #"<a id="uc-download-link" href="/uc?export=download&amp;confirm=Ab1_&amp;id=XYZ">Download anyway</a>"#
        let url = GoogleDrive.confirmedURL(fromPage: page, pageURL: URL(string: "https://drive.google.com/uc?export=download&id=XYZ")!)
        XCTAssertEqual(url?.absoluteString, "https://drive.google.com/uc?export=download&confirm=Ab1_&id=XYZ")
        XCTAssertNil(GoogleDrive.confirmedURL(fromPage: "<html>quota</html>", pageURL: URL(string: "https://drive.google.com/")!))
    }

    func testCatalogHasThePublishedCLIPChecksumsInTheirURLs() {
        for name in ["clip-vit-b-32", "clip-vit-b-16"] {
            guard let c = KnownCheckpoints.named(name), case let .url(url) = c.location, let sha = c.publishedSHA256 else { return XCTFail(name) }
            XCTAssertTrue(url.contains("/\(sha)/"), name)
        }
        XCTAssertEqual(Set(KnownCheckpoints.all.map(\.name)).count, KnownCheckpoints.all.count)
    }
}
