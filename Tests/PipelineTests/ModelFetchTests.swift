import XCTest
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
                return LocalHTTPServer.Response(status: 200, headers: [("Content-Length", "\(body.count)")], body: body, cutAfter: 60_000)
            }
            return LocalHTTPServer.rangeResponse(body, request: request)
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

        let outcome = try fetcher.fetch(checkpoint)
        XCTAssertEqual(server.requests.last?.headers["range"], "bytes=60000-")
        guard case let .downloaded(entry, resumedFrom) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(resumedFrom, 60_000)
        XCTAssertEqual(entry.sha256, sha)
        XCTAssertTrue(entry.sha256Published)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: destination)), body)
        XCTAssertFalse(FileOps.exists(HTTPDownloader.partialPath(for: destination)))
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
        let fetcher = ModelFetcher(store: store)
        fetcher.googleDriveBase = server.baseURL
        let checkpoint = KnownCheckpoint(name: "gen", kind: .generators, fileName: "gen.pt", location: .googleDrive(id: "FILEID"),
                                         publishedSHA256: nil, summary: "", publishedAt: "")
        guard case let .downloaded(entry, _) = try fetcher.fetch(checkpoint) else { return XCTFail() }
        XCTAssertEqual(entry.sha256, FileDigest.sha256Hex(of: body))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path("generators/gen.pt"))), body)
        XCTAssertTrue(server.requests[0].path.contains("id=FILEID"))

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
