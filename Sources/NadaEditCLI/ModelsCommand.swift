import ArgumentParser
import Foundation
import Pipeline

/// `nada-edit models list | add | verify | confirm | fetch`: the model store.
public struct Models: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, add, verify and download the generators, encoders, CLIP models, vocabularies and domains in the model store.",
        subcommands: [
            ModelsList.self, ModelsAdd.self, ModelsVerify.self, ModelsConfirm.self, ModelsFetch.self, Inspect.self, ModelsConvert.self,
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
                print("  \(e.name)  \(e.file)  \(ByteCountFormatter.string(fromByteCount: e.size, countStyle: .file))  sha256 \(e.sha256) (\(e.sha256Origin.label))")
            }
        }
        let unverified = listing.entries.filter { $0.sha256Origin == .unverified }
        if !unverified.isEmpty {
            print("UNVERIFIED checksums were recorded from whatever the server sent at the first download; compare each with a")
            print("checksum from a source you trust, then: nada-edit models confirm NAME --sha256 HEX  (\(unverified.map(\.name).joined(separator: ", ")))")
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
    @Option(name: .long, help: ArgumentHelp("generators, encoders, clip, vocab, landmarks, directions or domains (default: guessed from the file name).", valueName: "KIND"))
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

public struct ModelsConvert: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert an NVlabs StyleGAN2-ADA or TensorFlow StyleGAN2 network pickle (.pkl, read as data) to a rosinality StyleGAN2 checkpoint.")
    @OptionGroup public var common: CommonOptions
    @Argument(help: ArgumentHelp("The NVlabs .pkl file (or its name in the store).", valueName: "FILE")) public var file: String
    @Option(name: .long, help: ArgumentHelp("The checkpoint to write ({g_ema, latent_avg, nvlabs_options}); must not exist.", valueName: "FILE"))
    public var output: String
    @Option(name: .long, help: ArgumentHelp("Which network of the pickle: G_ema (default; Gs of a TensorFlow pickle) or G.", valueName: "NAME"))
    public var network: String = "G_ema"
    public init() {}

    public func run() throws {
        let input = try ModelResolver(store: common.store).path(file, flag: "FILE")
        let g = try ModelResolver.convertNVlabsGenerator(at: input, network: network, to: output)
        let c = g.config
        print("wrote \(output): StyleGAN2 generator \(c.size)x\(c.size) px, style_dim \(c.styleDim), n_mlp \(c.nMLP), channels \(c.channels)"
            + (g.latentAverage != nil ? ", latent_avg from the network's average w" : "")
            + (g.convClamp.map { ", conv_clamp \(Int($0)) (in nvlabs_options)" } ?? ""))
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
            case .ok: print("ok        \(r.entry.name)  \(r.entry.file)" + (r.entry.sha256Origin == .unverified ? "  (checksum UNVERIFIED)" : ""))
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

public struct ModelsConfirm: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "confirm",
        abstract: "Mark a downloaded model's recorded checksum as confirmed after comparing it with one from a source you trust.")
    @OptionGroup public var common: CommonOptions
    @Argument(help: ArgumentHelp("The model's name in the store.", valueName: "NAME")) public var name: String
    @Option(name: .long, help: ArgumentHelp("The SHA-256 you obtained independently (64 hex digits).", valueName: "HEX"))
    public var sha256: String
    public init() {}

    public func run() throws {
        let entry = try common.store.confirm(name: name, sha256: sha256)
        print("\(entry.name): \(common.store.path(entry.file)) has sha256 \(entry.sha256) (\(entry.sha256Origin.label))")
    }
}

public struct ModelsFetch: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download known public checkpoints from their published URLs (resumable; SHA-256 checked or recorded).")
    @OptionGroup public var common: CommonOptions
    @Argument(help: ArgumentHelp("Checkpoints to download (see --list).", valueName: "NAME")) public var names: [String] = []
    @Flag(name: .long, help: "List the checkpoints this command knows, with their sources.") public var list = false
    @Option(name: .customLong("allow-host"), help: ArgumentHelp(
        "Also follow redirects to HOST (or *.DOMAIN); by default only the publishers' download hosts. Repeatable.", valueName: "HOST"))
    public var allowHosts: [String] = []
    public init() {}

    public func validate() throws {
        if names.isEmpty && !list { throw ValidationError("give a NAME to fetch, or --list to see the known ones") }
        for host in allowHosts {
            do { try HostAllowList.validate(host) } catch { throw ValidationError("--allow-host: \(error)") }
        }
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
        fetcher.downloader.allowedHosts = fetcher.downloader.allowedHosts.adding(allowHosts)
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
                let how: String
                switch e.sha256Origin {
                case .published: how = "matches the published checksum"
                case .confirmed: how = "matches the checksum you confirmed earlier"
                case .unverified, .added:
                    how = "UNVERIFIED (the author publishes no checksum); compare it with a trusted copy, then `nada-edit models confirm \(e.name) --sha256 HEX`"
                }
                print("\(e.name): saved to \(common.store.path(e.file))\(resumedFrom > 0 ? " (resumed)" : ""); sha256 \(e.sha256) \(how)")
            }
        }
    }
}
