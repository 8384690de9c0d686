import ArgumentParser
import Foundation
import Pipeline

/// `nada-edit models list | add | verify | fetch`: the model store.
public struct Models: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, add, verify and download the generators, encoders, CLIP models, vocabularies and domains in the model store.",
        subcommands: [
            ModelsList.self, ModelsAdd.self, ModelsVerify.self, ModelsFetch.self, Inspect.self,
        ]
    )
    public init() {}
}

public struct ModelsList: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "list", abstract: "List the models in the store with their SHA-256.")
    @OptionGroup public var common: CommonOptions
    public init() {}

    public func run() throws {
        let store = common.store
        print("model store: \(store.root)")
        let listing = try store.list()
        for kind in ModelKind.allCases where kind != .domains {
            let entries = listing.entries.filter { $0.kind == kind }
            guard !entries.isEmpty else { continue }
            print("\(kind.rawValue):")
            for e in entries {
                let checked = e.sha256Published ? "published" : "recorded"
                print("  \(e.name)  \(e.file)  \(ByteCountFormatter.string(fromByteCount: e.size, countStyle: .file))  sha256 \(e.sha256) (\(checked))")
            }
        }
        let domains = try DomainRegistry(store: store).names()
        if !domains.isEmpty { print("domains:\n" + domains.map { "  \($0)" }.joined(separator: "\n")) }
        for path in listing.untracked { print("untracked: \(path) (not in manifest.json; add it with `models add`)") }
        if listing.entries.isEmpty && domains.isEmpty { print("(empty: `nada-edit models fetch --list` shows what can be downloaded)") }
        let landmarks = PhotoAligner.landmarkModelPath(explicit: nil, store: store)
        print("landmark model for --align ffhq: " + (landmarks ?? "none found (Debian/Ubuntu: apt install libdlib-data)"))
    }
}

public struct ModelsAdd: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Copy a model file into the store and record its SHA-256 (a domain record JSON installs that domain).")
    @OptionGroup public var common: CommonOptions
    @Argument(help: ArgumentHelp("The file to add.", valueName: "FILE")) public var file: String
    @Option(name: .long, help: ArgumentHelp("generators, encoders, clip, vocab or domains (default: guessed from the file name).", valueName: "KIND"))
    public var kind: String?
    @Option(name: .long, help: ArgumentHelp("Name in the store (default: the file name without its extension).", valueName: "NAME"))
    public var name: String?
    public init() {}

    public func validate() throws {
        if let kind, ModelKind(userName: kind) == nil {
            throw ValidationError("unknown --kind '\(kind)'; use one of \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    public func run() throws {
        let entry = try common.store.add(file: file, kind: kind.flatMap(ModelKind.init(userName:)), name: name)
        print("added \(entry.name) (\(entry.kind.rawValue)) sha256 \(entry.sha256)")
    }
}

public struct ModelsVerify: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-hash every stored file against manifest.json and the domain records; exit 1 on any mismatch.")
    @OptionGroup public var common: CommonOptions
    public init() {}

    public func run() throws {
        let results = try common.store.verify()
        var bad = 0
        for r in results {
            switch r.status {
            case .ok: print("ok        \(r.entry.name)  \(r.entry.file)")
            case .missing: bad += 1; print("MISSING   \(r.entry.name)  \(r.entry.file)")
            case .mismatch(let actual):
                bad += 1
                print("MISMATCH  \(r.entry.name)  \(r.entry.file)  expected \(r.entry.sha256) got \(actual)")
            }
        }
        print("\(results.count - bad) ok, \(bad) bad")
        if bad > 0 { throw ExitCode(1) }
    }
}

public struct ModelsFetch: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download known public checkpoints from their published URLs (resumable; SHA-256 checked or recorded).")
    @OptionGroup public var common: CommonOptions
    @Argument(help: ArgumentHelp("Checkpoints to download (see --list).", valueName: "NAME")) public var names: [String] = []
    @Flag(name: .long, help: "List the checkpoints this command knows, with their sources.") public var list = false
    public init() {}

    public func validate() throws {
        if names.isEmpty && !list { throw ValidationError("give a NAME to fetch, or --list to see the known ones") }
    }

    public func run() throws {
        if list {
            for c in KnownCheckpoints.all {
                let source: String
                switch c.location {
                case .url(let url): source = url
                case .googleDrive(let id): source = GoogleDrive.viewURL(id: id)
                case .manual(let url, _): source = url + " (by hand: compressed)"
                }
                print("\(c.name)  [\(c.kind.rawValue)]  \(c.summary)\n    \(source)\n    sha256: \(c.publishedSHA256 ?? "not published; recorded at first download")")
            }
            return
        }
        let fetcher = ModelFetcher(store: common.store)
        fetcher.log = printError
        var lastPercent = -1
        fetcher.downloader.progress = { received, total in
            guard let total, total > 0 else { return }
            let percent = Int(received * 100 / total)
            if percent != lastPercent && percent % 5 == 0 { lastPercent = percent; printError("  \(percent)% of \(ByteCountFormatter.string(fromByteCount: total, countStyle: .file))") }
        }
        for name in names {
            lastPercent = -1
            switch try fetcher.fetch(name) {
            case .alreadyPresent(let e): print("\(e.name): already in the store (\(e.file)), sha256 \(e.sha256)")
            case .downloaded(let e, let resumedFrom):
                let how = e.sha256Published ? "matches the published checksum" : "recorded (not published by the author)"
                print("\(e.name): saved to \(common.store.path(e.file))\(resumedFrom > 0 ? " (resumed)" : ""); sha256 \(e.sha256) \(how)")
            }
        }
    }
}
