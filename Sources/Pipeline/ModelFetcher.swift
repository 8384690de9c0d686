import Foundation

/// `models fetch NAME`: download a known checkpoint into the store, check or record its SHA-256.
///
/// Redirects and Google Drive's confirmation form are followed only to hosts on `downloader.allowedHosts`
/// (the publishers' hosts by default); the URL the bytes finally came from is logged.
public final class ModelFetcher {
    public let store: ModelStore
    public let downloader: HTTPDownloader
    /// Overridable so tests can stand in for drive.google.com with a local server.
    public var googleDriveBase = GoogleDrive.defaultBase
    /// Progress notes for the user (the CLI sends them to standard error); the downloader's notes go here too.
    public var log: (String) -> Void = { _ in }

    public init(store: ModelStore, downloader: HTTPDownloader = HTTPDownloader()) {
        self.store = store
        self.downloader = downloader
        downloader.log = { [weak self] in self?.log($0) }
    }

    public enum Outcome: Equatable {
        case downloaded(ModelManifest.Entry, resumedFrom: Int64)
        case alreadyPresent(ModelManifest.Entry)
    }

    public func fetch(_ name: String) throws -> Outcome {
        guard let checkpoint = KnownCheckpoints.named(name) else {
            throw PipelineError.unknownModel(name: name, known: KnownCheckpoints.all.map(\.name))
        }
        return try fetch(checkpoint)
    }

    public func fetch(_ checkpoint: KnownCheckpoint) throws -> Outcome {
        let relative = "\(checkpoint.kind.rawValue)/\(checkpoint.fileName)"
        let destination = store.path(relative)
        let previous = try store.loadManifest().entry(named: checkpoint.name)
        if let previous, FileOps.isRegularFile(store.path(previous.file)) { return .alreadyPresent(previous) }
        // A checksum recorded at an earlier first download pins later downloads of the same name too.
        let expected = checkpoint.publishedSHA256 ?? previous?.sha256
        let result: HTTPDownloader.Result
        var source: String
        switch checkpoint.location {
        case .url(let url):
            guard let parsed = URL(string: url) else { throw PipelineError.invalidArgument("bad URL for \(checkpoint.name): \(url)") }
            source = url
            log("downloading \(checkpoint.name) from \(url)")
            result = try downloadOrExplain(parsed, checkpoint: checkpoint, destination: destination, expected: expected)
        case .manual:
            throw PipelineError.manualDownloadRequired(name: checkpoint.name, instructions:
                "\(checkpoint.name) is published compressed; get it by hand:\n" + checkpoint.manualInstructions())
        case .googleDrive(let id):
            let first = GoogleDrive.initialURL(id: id, base: googleDriveBase)
            source = GoogleDrive.viewURL(id: id)
            log("downloading \(checkpoint.name) from Google Drive (\(source))")
            do {
                result = try downloader.download(first, to: destination, expectedSHA256: expected)
            } catch let page as HTTPDownloader.HTMLResponse {
                guard let confirmed = GoogleDrive.confirmedURL(fromPage: page.body, pageURL: page.url) else {
                    throw PipelineError.manualDownloadRequired(name: checkpoint.name, instructions:
                        "Google Drive answered with a page this tool cannot get past (download quota or sign-in).\n" + checkpoint.manualInstructions())
                }
                // The form's action is the page's say-so: hold it to the same host list as a redirect.
                if let problem = downloader.allowedHosts.refusal(from: page.url, to: confirmed) {
                    throw PipelineError.download(url: page.url.absoluteString,
                                                 problem: "refused Google Drive's confirmation form target \(confirmed.absoluteString): \(problem)")
                }
                log("following Google Drive's large-file confirmation")
                result = try downloadOrExplain(confirmed, checkpoint: checkpoint, destination: destination, expected: expected)
            }
        }
        log("  fetched from \(result.finalURL.absoluteString)")
        if result.resumedFrom > 0 { source += " (resumed at byte \(result.resumedFrom))" }
        let origin: ModelManifest.ChecksumOrigin
        if checkpoint.publishedSHA256 != nil { origin = .published }
        else if let previous, previous.sha256Origin == .confirmed || previous.sha256Origin == .published { origin = .confirmed }
        else { origin = .unverified }
        let entry = try store.record(name: checkpoint.name, kind: checkpoint.kind, relativeFile: relative, sha256: result.sha256,
                                     source: source, origin: origin)
        return .downloaded(entry, resumedFrom: result.resumedFrom)
    }

    private func downloadOrExplain(_ url: URL, checkpoint: KnownCheckpoint, destination: String, expected: String?) throws -> HTTPDownloader.Result {
        do { return try downloader.download(url, to: destination, expectedSHA256: expected) }
        catch is HTTPDownloader.HTMLResponse {
            throw PipelineError.manualDownloadRequired(name: checkpoint.name, instructions:
                "\(url.host ?? "the server") sent a web page instead of the file.\n" + checkpoint.manualInstructions())
        }
    }
}
