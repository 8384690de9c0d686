import Foundation

/// The hand-written parts of the page (man/prose/, described in man/prose/README.md): roff text that the
/// command definitions cannot hold, placed by markers that are roff comments (`.\" nada-man: ...`), so every
/// file is itself valid roff.
public struct Prose: Sendable {
    /// The hand-written text about one command, or about one group of shared options.
    public struct Part: Sendable, Equatable {
        /// Where it came from, for error messages (`commands/edit.roff`).
        public var file: String
        /// Text after the heading and the command's abstract, before its options.
        public var narrative = ""
        /// Text appended to an option's entry, by the option's long name (`--domain`) or a positional's value name.
        public var options: [(key: String, text: String)] = []
        /// Text after the option list.
        public var after = ""
        /// `required --NAME`: options the command checks itself (ArgumentParser sees a default), shown as required.
        public var required: [String] = []
        /// Shared groups only: the section title (roff, as written) and the option whose commands define the group.
        public var title: String?
        public var anchor: String?
        /// `members --A --B` (shared groups only): the group lists just these options, even when its commands share more.
        public var members: [String]?

        public static func == (a: Part, b: Part) -> Bool {
            a.file == b.file && a.narrative == b.narrative && a.after == b.after && a.required == b.required
                && a.title == b.title && a.anchor == b.anchor && a.members == b.members
                && a.options.map(\.key) == b.options.map(\.key) && a.options.map(\.text) == b.options.map(\.text)
        }

        /// Splits a prose file at its markers.
        public static func parse(_ text: String, file: String) throws -> Part {
            var part = Part(file: file)
            enum Target { case narrative, option(Int), after }
            var target = Target.narrative
            var lines = text.components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            for (number, line) in lines.enumerated() {
                guard line.hasPrefix(marker) else {
                    switch target {
                    case .narrative: part.narrative += line + "\n"
                    case .option(let i): part.options[i].text += line + "\n"
                    case .after: part.after += line + "\n"
                    }
                    continue
                }
                let words = line.dropFirst(marker.count).split(separator: " ", maxSplits: 1).map(String.init)
                let argument = words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : ""
                func need(_ what: String) throws {
                    if argument.isEmpty { throw ManPageError("\(file):\(number + 1): `\(marker)\(words.first ?? "")` needs \(what)") }
                }
                switch words.first ?? "" {
                case "option":
                    try need("an option name, such as --output")
                    if part.options.contains(where: { $0.key == argument }) {
                        throw ManPageError("\(file):\(number + 1): a second `option \(argument)` section; keep one")
                    }
                    part.options.append((argument, ""))
                    target = .option(part.options.count - 1)
                case "after": target = .after
                case "required": try need("an option name"); part.required.append(argument)
                case "title": try need("a title"); part.title = argument
                case "group": try need("the option that defines the group, such as --encoder"); part.anchor = argument
                case "members":
                    try need("the options of the group, such as --shard --shard-count")
                    part.members = argument.split(separator: " ").map(String.init)
                default:
                    throw ManPageError("\(file):\(number + 1): unknown marker `\(line)`; markers are option, after, required, title, group and members (man/prose/README.md)")
                }
            }
            return part
        }
    }

    public static let marker = ".\\\" nada-man: "

    /// `.SH DESCRIPTION` and whatever else comes between SYNOPSIS and COMMANDS.
    public var description: String
    /// The sections after the options (ENVIRONMENT ... SEE ALSO).
    public var end: String
    /// By command path joined with `-` (`models-add`).
    public var commands: [String: Part]
    /// In file-name order; a group claims the options before later ones can.
    public var shared: [Part]

    public init(description: String, end: String, commands: [String: Part], shared: [Part]) {
        self.description = description
        self.end = end
        self.commands = commands
        self.shared = shared
    }

    /// Reads man/prose/: description.roff, end.roff, commands/*.roff, shared/*.roff.
    public static func load(from folder: URL) throws -> Prose {
        func read(_ relative: String) throws -> String {
            let url = folder.appendingPathComponent(relative)
            do { return try String(contentsOf: url, encoding: .utf8) } catch {
                throw ManPageError("cannot read \(url.path): \(error.localizedDescription)")
            }
        }
        func roffFiles(_ sub: String) throws -> [String] {
            let path = folder.appendingPathComponent(sub).path
            guard FileManager.default.fileExists(atPath: path) else { return [] }
            return try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".roff") }.sorted()
        }
        var commands: [String: Part] = [:]
        for name in try roffFiles("commands") {
            commands[String(name.dropLast(".roff".count))] = try Part.parse(try read("commands/" + name), file: "commands/" + name)
        }
        let shared = try roffFiles("shared").map { try Part.parse(try read("shared/" + $0), file: "shared/" + $0) }
        return Prose(description: try read("description.roff"), end: try read("end.roff"), commands: commands, shared: shared)
    }
}
