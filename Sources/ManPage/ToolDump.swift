import Foundation

/// The command tree as swift-argument-parser describes it: the JSON `nada-edit --experimental-dump-help` prints
/// (ArgumentParserToolInfo's `ToolInfoV0`, serialization version 0). Declared here rather than imported so that
/// the generator needs only Foundation; fields the page does not use are left out, and unknown ones are ignored.
public struct ToolDump: Decodable, Sendable {
    public var serializationVersion: Int
    public var command: CommandInfo

    /// Parses the dump; refuses other serialization versions, whose fields may mean something else.
    public static func parse(_ data: Data) throws -> ToolDump {
        let dump: ToolDump
        do { dump = try JSONDecoder().decode(ToolDump.self, from: data) } catch {
            throw ManPageError("the command description is not ArgumentParser's --experimental-dump-help JSON: \(error)")
        }
        guard dump.serializationVersion == 0 else {
            throw ManPageError("the command description has serialization version \(dump.serializationVersion); nada-man reads version 0 (update Sources/ManPage/ToolDump.swift)")
        }
        return dump
    }
}

public struct CommandInfo: Decodable, Sendable {
    public var superCommands: [String]?
    public var shouldDisplay: Bool?
    public var commandName: String
    public var abstract: String?
    public var discussion: String?
    public var defaultSubcommand: String?
    public var subcommands: [CommandInfo]?
    public var arguments: [ArgumentInfo]?

    /// The words after the tool's name: `["models", "add"]`; empty for the tool itself.
    public var path: [String] { Array((superCommands ?? []).dropFirst()) + (superCommands == nil ? [] : [commandName]) }
    public var isDisplayed: Bool { shouldDisplay ?? true }
    public var displayedArguments: [ArgumentInfo] { (arguments ?? []).filter(\.shouldDisplay) }
    public var displayedSubcommands: [CommandInfo] { (subcommands ?? []).filter { $0.isDisplayed } }
}

public struct ArgumentInfo: Decodable, Sendable, Equatable {
    public enum Kind: String, Decodable, Sendable { case positional, option, flag }
    public struct Name: Decodable, Sendable, Equatable {
        public enum Kind: String, Decodable, Sendable { case long, short, longWithSingleDash }
        public var kind: Kind
        public var name: String
        /// As typed on the command line: `--output`, `-h`, `-output`.
        public var spelled: String {
            switch kind {
            case .long: return "--" + name
            case .short: return "-" + name
            case .longWithSingleDash: return "-" + name
            }
        }
    }

    public var kind: Kind
    public var shouldDisplay: Bool
    public var isOptional: Bool
    public var isRepeating: Bool
    public var names: [Name]?
    public var preferredName: Name?
    public var valueName: String?
    public var defaultValue: String?
    public var allValues: [String]?
    public var abstract: String?
    public var discussion: String?

    /// The names as typed, short ones first, as `--help` lists them.
    public var spelledNames: [String] {
        let all = names ?? preferredName.map { [$0] } ?? []
        return all.filter { $0.kind == .short }.map(\.spelled) + all.filter { $0.kind != .short }.map(\.spelled)
    }

    /// The name prose refers to an option by: its preferred long name (`--restyle-steps`), else its first name.
    public var key: String {
        if kind == .positional { return valueName ?? "" }
        if let preferred = preferredName, preferred.kind != .short { return preferred.spelled }
        return (names ?? []).first { $0.kind != .short }?.spelled ?? spelledNames.first ?? ""
    }
}

/// Why a page could not be made; the message names the file or option and what to change.
public struct ManPageError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
