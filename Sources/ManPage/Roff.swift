import Foundation

/// Plain text from the command definitions, made safe for roff.
enum Roff {
    /// Escapes one run of text: backslashes, hyphens (`\-`, so options copy and paste as typed), non-ASCII
    /// characters as `\[uXXXX]` (groff reads its input as Latin-1 unless run through preconv), and
    /// `` `code` `` spans in bold, as --help texts quote commands.
    static func text(_ plain: String) -> String {
        var out = ""
        var inCode = false
        var wordLength = 0
        for scalar in plain.unicodeScalars {
            wordLength = scalar == " " ? 0 : wordLength + 1
            // A word longer than a line (a URL template) may break after a separator; groff warns otherwise.
            if wordLength > 30 && ["/", "&", "|", "?"].contains(scalar) && !inCode { out += "\\:" }
            switch scalar {
            case "\\": out += "\\e"
            case "-": out += "\\-"
            case "`":
                out += inCode ? "\\fR" : "\\fB"
                inCode.toggle()
            case "\n", "\t": out += " "
            default:
                if scalar.value < 0x80 { out.unicodeScalars.append(scalar) }
                else { out += "\\[u" + hex(scalar.value) + "]" }
            }
        }
        if inCode { out += "\\fR" }
        return line(out)
    }

    /// Whether the text holds a word too long to justify a line around (a URL template): such entries are set
    /// ragged-right (`.na`), or groff warns that it cannot adjust the line.
    static func hasLongWord(_ plain: String) -> Bool {
        plain.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains { $0.count > 30 }
    }

    /// A text line must not start with a control character (`.` or `'`).
    static func line(_ escaped: String) -> String {
        escaped.hasPrefix(".") || escaped.hasPrefix("'") ? "\\&" + escaped : escaped
    }

    /// A paragraph of --help text: its lines are joined (ArgumentParser wraps them itself).
    static func paragraphs(_ plain: String) -> [String] {
        var result: [String] = []
        var current: [String] = []
        for raw in plain.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty {
                if !current.isEmpty { result.append(current.joined(separator: " ")); current = [] }
            } else {
                current.append(trimmed)
            }
        }
        if !current.isEmpty { result.append(current.joined(separator: " ")) }
        return result.map(text)
    }

    /// A string argument of a macro (`.SS "..."`): quotes are doubled as groff asks.
    static func quoted(_ escaped: String) -> String {
        "\"" + escaped.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
