/// HTML character references, as Python's `html.unescape` (used twice by CLIP's `basic_clean`) and
/// ftfy's stricter `unescape_html` (run first inside `ftfy.fix_text`) decode them.
///
/// Coverage: the full WHATWG/HTML5 named-reference list that Python ships (2231 names, table in
/// `HTMLEntityTable.swift`, including the legacy names accepted without ';' and as prefixes, e.g.
/// `&notanentity;` -> `¬anentity;`), decimal and hex numeric references with Python's replacement
/// rules (C1 range -> Windows-1252, surrogates / > U+10FFFF -> U+FFFD, noncharacters and most C0/C1
/// controls -> removed), and ftfy's all-caps variants (`&EACUTE;` -> `É`).
enum HTMLUnescape {
    /// name (with ';' if the standard spells it so) -> replacement.
    static let entities: [String: String] = {
        var table: [String: String] = [:]
        table.reserveCapacity(2300)
        for line in HTMLEntityTable.text.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            guard parts.count == 2 else { continue }
            var value = String.UnicodeScalarView()
            for hex in parts[1].split(separator: " ") {
                if let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) { value.append(s) }
            }
            table[String(parts[0])] = String(value)
        }
        return table
    }()

    /// ftfy's `HTML_ENTITIES`: `&name;` for every name ending in ';', plus the upper-cased form of
    /// all-lowercase names when Python's `html.unescape` would leave that upper-cased form alone.
    static let ftfyEntities: [String: String] = {
        var table: [String: String] = [:]
        for (name, value) in entities where name.hasSuffix(";") {
            table["&" + name] = value
            if name == name.lowercased() {
                let upper = "&" + name.uppercased()
                if python(upper) == upper { table[upper] = value.uppercased() }
            }
        }
        return table
    }()

    // MARK: Python html.unescape

    private static let amp = Unicode.Scalar(0x26)!

    /// Python `html.unescape(s)`: every match of
    /// `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)` is replaced.
    static func python(_ text: String) -> String {
        guard text.unicodeScalars.contains(amp) else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if s[i] != amp { out.append(s[i]); i += 1; continue }
            if let (replacement, end) = matchReference(s, at: i) {
                out.append(contentsOf: replacement.unicodeScalars)
                i = end
            } else {
                out.append(s[i]); i += 1
            }
        }
        return String(out)
    }

    /// Tries a reference at `s[start] == '&'`; returns the replacement and the index after the match.
    private static func matchReference(_ s: [Unicode.Scalar], at start: Int) -> (String, Int)? {
        var j = start + 1
        guard j < s.count else { return nil }
        if s[j] == "#" {
            j += 1
            var hex = false
            if j < s.count, s[j] == "x" || s[j] == "X" { hex = true; j += 1 }
            let digitsStart = j
            while j < s.count, hex ? s[j].properties.isASCIIHexDigit : ("0"..."9").contains(s[j]) { j += 1 }
            if j == digitsStart {
                // `&#x` without hex digits: the decimal alternative fails too ('x' is no digit), and
                // the named alternative excludes '#'.
                return nil
            }
            let digits = String(String.UnicodeScalarView(s[digitsStart..<j]))
            if j < s.count, s[j] == ";" { j += 1 }
            return (numericReference(digits, radix: hex ? 16 : 10), j)
        }
        // Named: 1...32 characters that are not \t \n \f space < & # ;, then an optional ';'.
        let stop: Set<UInt32> = [0x09, 0x0A, 0x0C, 0x20, 0x3C, 0x26, 0x23, 0x3B]
        while j < s.count, j - start - 1 < 32, !stop.contains(s[j].value) { j += 1 }
        if j == start + 1 { return nil }
        if j < s.count, s[j] == ";" { j += 1 }
        let name = String(String.UnicodeScalarView(s[(start + 1)..<j]))
        if let value = entities[name] { return (value, j) }
        // Longest legacy prefix (at least 2 characters, shorter than the whole name).
        let scalars = Array(name.unicodeScalars)
        var x = scalars.count - 1
        while x > 1 {
            let prefix = String(String.UnicodeScalarView(scalars[0..<x]))
            if let value = entities[prefix] {
                return (value + String(String.UnicodeScalarView(scalars[x...])), j)
            }
            x -= 1
        }
        return ("&" + name, j)
    }

    /// Python's `_replace_charref` for numeric references.
    static func numericReference(_ digits: String, radix: Int) -> String {
        // Leading zeros do not matter; more than 8 significant digits is surely out of range.
        let trimmed = digits.drop(while: { $0 == "0" })
        guard trimmed.count <= 8, let num = trimmed.isEmpty ? 0 : UInt32(trimmed, radix: radix) else {
            return "\u{FFFD}"
        }
        if num == 0x00 { return "\u{FFFD}" }
        if num == 0x0D { return "\r" }
        if (0x80...0x9F).contains(num) { return String(Windows1252.scalar(forByte: UInt8(num))) }
        if (0xD800...0xDFFF).contains(num) || num > 0x10FFFF { return "\u{FFFD}" }
        if (0x01...0x08).contains(num) || num == 0x0B || (0x0E...0x1F).contains(num)
            || (0x7F...0x9F).contains(num) || (0xFDD0...0xFDEF).contains(num) || (num & 0xFFFE) == 0xFFFE {
            return ""
        }
        return String(Unicode.Scalar(num)!)
    }

    // MARK: ftfy unescape_html

    /// ftfy's `unescape_html`: only `&#?[0-9A-Za-z]{1,24};` is considered; named ones are looked up
    /// in `ftfyEntities`, numeric ones are decoded by Python's rules unless that leaves a ';'.
    static func ftfy(_ text: String) -> String {
        guard text.unicodeScalars.contains(amp) else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            guard s[i] == amp else { out.append(s[i]); i += 1; continue }
            var j = i + 1
            if j < s.count, s[j] == "#" { j += 1 }
            let runStart = j
            while j < s.count, s[j].isASCII, s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]) { j += 1 }
            let run = j - runStart
            guard run >= 1, run <= 24, j < s.count, s[j] == ";" else { out.append(s[i]); i += 1; continue }
            let match = String(String.UnicodeScalarView(s[i...j]))
            if let value = ftfyEntities[match] {
                out.append(contentsOf: value.unicodeScalars)
            } else if s[i + 1] == "#" {
                let decoded = python(match)
                out.append(contentsOf: (decoded.contains(";") ? match : decoded).unicodeScalars)
            } else {
                out.append(contentsOf: match.unicodeScalars)
            }
            i = j + 1
        }
        return String(out)
    }
}
