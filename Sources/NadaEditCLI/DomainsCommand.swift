import ArgumentParser
import Foundation
import Pipeline

/// `nada-edit domains list | show NAME | remove NAME`: trained domains in the model store.
public struct Domains: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "domains",
        abstract: "List, show and remove trained domains (adapted generator + base generator + training record).",
        subcommands: [DomainsList.self, DomainsShow.self, DomainsRemove.self]
    )
    public init() {}
}

public struct DomainsList: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "list", abstract: "List installed domains with their prompts.")
    @OptionGroup public var common: CommonOptions
    public init() {}

    public func run() throws {
        let registry = DomainRegistry(store: common.store)
        let names = try registry.names()
        if names.isEmpty { print("no domains in \(registry.root)") }
        for name in names {
            do {
                let d = try registry.domain(named: name)
                print("\(name)  \"\(d.record.sourcePrompt)\" -> \"\(d.record.targetPrompt)\"  \(d.record.iterations) iterations  \(d.record.created)")
            } catch {
                print("\(name)  (unreadable: \(error))")
            }
        }
    }
}

public struct DomainsShow: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a domain's training record and the files it resolves to.")
    @OptionGroup public var common: CommonOptions
    @Argument(help: ArgumentHelp("The domain.", valueName: "NAME")) public var name: String
    @Flag(name: .long, help: "Open the domain's training report (report.html: loss plot, sample grids, settings) in a browser (xdg-open).")
    public var open = false
    public init() {}

    public func run() throws {
        let d = try DomainRegistry(store: common.store).domain(named: name)
        let report = d.reportPath
        let r = d.record
        func state(_ exists: Bool) -> String { exists ? "" : "  (MISSING)" }
        print("""
        name:            \(r.name)
        prompts:         "\(r.sourcePrompt)" -> "\(r.targetPrompt)"
        generator:       \(d.generatorPath)\(state(d.generatorExists))
                         sha256 \(r.generator.sha256)
        base generator:  \(d.baseGeneratorPath)\(state(d.baseGeneratorExists))
                         sha256 \(r.baseGenerator.sha256)
        CLIP models:     \(r.clipModels.joined(separator: ", "))
        iterations:      \(r.iterations)
        final loss:      \(r.finalLoss)
        wall time:       \(String(format: "%.0f", r.wallTimeSeconds)) s
        tool version:    \(r.toolVersion)
        created:         \(r.created)
        record:          \(d.recordPath)
        report:          \(FileOps.isRegularFile(report) ? report : "none (trained before reports existed)")
        """)
        for (key, value) in (r.hyperparameters ?? [:]).sorted(by: { $0.key < $1.key }) { print("  \(key) = \(value)") }
        if open {
            guard FileOps.isRegularFile(report) else { throw ValidationError("domain \(name) has no report.html (\(report))") }
            try Browser.open(report)
        }
    }
}

public struct DomainsRemove: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "remove", abstract: "Delete a domain's folder from the store (the base generator stays).")
    @OptionGroup public var common: CommonOptions
    @Argument(help: ArgumentHelp("The domain.", valueName: "NAME")) public var name: String
    public init() {}

    public func run() throws {
        try DomainRegistry(store: common.store).remove(name)
        print("removed domain \(name)")
    }
}
