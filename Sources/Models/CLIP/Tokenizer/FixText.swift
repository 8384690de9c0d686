import Foundation

/// The part of `ftfy.fix_text` (ftfy 6.3.1, default configuration) that CLIP's `basic_clean` relies on.
///
/// Reproduced exactly (same order, repeated per line until nothing changes, as ftfy's
/// `fix_and_explain` does):
/// - `unescape_html` ("auto": skipped for a line containing '<' and for every line after it):
///   `&name;` / `&#n;` / `&#xh;` only (semicolon required), all-caps names too.
/// - `fix_c1_controls`: U+0080...U+009F -> their (sloppy) Windows-1252 character.
/// - `fix_latin_ligatures`: ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ Ĳ ĳ ŉ Ǳ ǲ ǳ Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ -> letters.
/// - `fix_character_width`: U+3000 -> space, U+FF01...U+FFEF -> their NFKC form.
/// - `uncurl_quotes`: U+02BC, U+2018...U+201B -> ', U+201C...U+201F -> ".
/// - `fix_line_breaks`: CRLF, CR, U+2028, U+2029, U+0085 -> LF.
/// - `remove_terminal_escapes`: ESC [ digits/';' letter.
/// - `remove_control_chars`: U+0000-0008, 000B, 000E-001F, 007F, 206A-206F, FEFF, FFF9-FFFC.
/// - `normalization='NFC'`.
/// - (`fix_surrogates` cannot apply: Swift strings hold no lone surrogates.)
///
/// Reproduced in part — `fix_encoding` (mojibake repair): only the dominant case, UTF-8 that was
/// decoded as Latin-1 or (sloppy) Windows-1252. A line is re-decoded when it contains a sequence
/// that looks like such mojibake (a character whose byte would be a UTF-8 lead byte C2...F4
/// followed by the right number of characters whose bytes would be continuation bytes 80...BF) and
/// the WHOLE line encodes to Latin-1 or Windows-1252 bytes that are valid UTF-8; repeated until
/// stable, this also undoes multiply-encoded text. NOT reproduced: ftfy's statistical "badness"
/// score, the other single-byte codecs it tries (Windows-1250/1251/1253/1254/1257, ISO-8859-2,
/// MacRoman, CP437), `restore_byte_a0`, `replace_lossy_sequences`, the `utf-8-variants` codec and
/// `decode_inconsistent_utf8` (fixing mojibake inside otherwise correct text). For such input our
/// result can differ from OpenAI's; every case in the reference pack (8 mojibake rows among them)
/// comes out the same. Measured against ftfy 6.3.1 + OpenAI's pipeline on 5,500 random strings
/// (letters of many scripts, digits, punctuation, spaces, controls, entities, ligatures, full-width
/// forms, Windows-1252 characters, ~15% deliberately mojibaked): 146 token rows differed, every one
/// involving mojibake — 140 where ftfy repaired part of a line we leave alone, 6 short strings such
/// as `Ñ€` or `Ã’` that we re-decode and ftfy's badness score leaves alone. Text without
/// UTF-8-as-Latin-1/Windows-1252 sequences never differed.
enum FixText {
    static func apply(_ text: String) -> String {
        // Fast path: printable ASCII with no '&' (tab/LF/FF allowed) is left unchanged by every fix.
        if text.utf8.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F && $0 != 0x26) || $0 == 0x09 || $0 == 0x0A || $0 == 0x0C }) {
            return text
        }
        var unescape = true
        var out = ""
        // ftfy fixes each line (with its '\n') separately.
        var lineStart = text.unicodeScalars.startIndex
        let scalars = text.unicodeScalars
        while lineStart < scalars.endIndex {
            var lineEnd = lineStart
            while lineEnd < scalars.endIndex, scalars[lineEnd] != "\n" { lineEnd = scalars.index(after: lineEnd) }
            if lineEnd < scalars.endIndex { lineEnd = scalars.index(after: lineEnd) }
            let line = String(scalars[lineStart..<lineEnd])
            if unescape && line.unicodeScalars.contains("<") { unescape = false }
            out += fixSegment(line, unescapeHTML: unescape)
            lineStart = lineEnd
        }
        return out
    }

    static func fixSegment(_ segment: String, unescapeHTML: Bool) -> String {
        var text = segment
        while true {
            let original = text
            if unescapeHTML { text = HTMLUnescape.ftfy(text) }
            // ftfy's fix_encoding repeats its one-step fix until nothing changes, before the
            // other fixes run (uncurl_quotes would otherwise break doubly-encoded text).
            while true {
                let step = fixEncoding(text)
                if step == text { break }
                text = step
            }
            // Separate passes, in ftfy's order: one fix's output can be the next one's input.
            text = mapScalars(text) { (0x80...0x9F).contains($0.value) ? String(Windows1252.scalar(forByte: UInt8($0.value))) : nil }
            text = mapScalars(text) { ligatures[$0.value] }
            text = mapScalars(text) { s in
                if s.value == 0x3000 { return " " }
                return (0xFF01...0xFFEF).contains(s.value) ? nfkc(String(s)) : nil
            }
            text = mapScalars(text) { s in
                let v = s.value
                if v == 0x02BC || (0x2018...0x201B).contains(v) { return "'" }
                return (0x201C...0x201F).contains(v) ? "\"" : nil
            }
            text = fixLineBreaks(text)
            text = removeTerminalEscapes(text)
            text = mapScalars(text) { isRemovedControl($0.value) ? "" : nil }
            text = text.precomposedStringWithCanonicalMapping
            if text == original { return text }
        }
    }

    // MARK: the individual fixes

    static let ligatures: [UInt32: String] = [
        0x132: "IJ", 0x133: "ij", 0x149: "\u{2BC}n", 0x1F1: "DZ", 0x1F2: "Dz", 0x1F3: "dz",
        0x1C4: "D\u{17D}", 0x1C5: "D\u{17E}", 0x1C6: "d\u{17E}", 0x1C7: "LJ", 0x1C8: "Lj", 0x1C9: "lj",
        0x1CA: "NJ", 0x1CB: "Nj", 0x1CC: "nj", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl",
        0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u{17F}t", 0xFB06: "st",
    ]

    static func isRemovedControl(_ v: UInt32) -> Bool {
        v <= 0x08 || v == 0x0B || (0x0E...0x1F).contains(v) || v == 0x7F || (0x206A...0x206F).contains(v)
            || v == 0xFEFF || (0xFFF9...0xFFFC).contains(v)
    }

    static func nfkc(_ s: String) -> String { s.precomposedStringWithCompatibilityMapping }

    /// Replaces scalars for which `f` returns a string; keeps the others.
    static func mapScalars(_ text: String, _ f: (Unicode.Scalar) -> String?) -> String {
        var out = String.UnicodeScalarView()
        var changed = false
        for s in text.unicodeScalars {
            if let r = f(s) { out.append(contentsOf: r.unicodeScalars); changed = true } else { out.append(s) }
        }
        return changed ? String(out) : text
    }

    static func fixLineBreaks(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var previousCR = false
        for s in text.unicodeScalars {
            if s == "\n" && previousCR { previousCR = false; continue } // CRLF: the CR already wrote LF
            previousCR = s == "\r"
            switch s.value {
            case 0x0D, 0x2028, 0x2029, 0x85: out.append("\n")
            default: out.append(s)
            }
        }
        return String(out)
    }

    /// ANSI escapes `ESC [ [0-9;]* [A-Za-z]`.
    static func removeTerminalEscapes(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{1B}") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if s[i] == "\u{1B}", i + 1 < s.count, s[i + 1] == "[" {
                var j = i + 2
                while j < s.count, ("0"..."9").contains(s[j]) || s[j] == ";" { j += 1 }
                if j < s.count, s[j].isASCII, s[j].properties.isAlphabetic { i = j + 1; continue }
            }
            out.append(s[i]); i += 1
        }
        return String(out)
    }

    // MARK: mojibake (see the type's comment for what is and is not covered)

    static func fixEncoding(_ text: String) -> String {
        guard !text.unicodeScalars.allSatisfy({ $0.isASCII }), looksLikeMojibake(text) else { return text }
        for codec in [latin1Byte, Windows1252.byte] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.unicodeScalars.count)
            var encodable = true
            for s in text.unicodeScalars {
                guard let b = codec(s) else { encodable = false; break }
                bytes.append(b)
            }
            guard encodable else { continue }
            if let decoded = strictUTF8(bytes) { return decoded }
        }
        return text
    }

    private static func latin1Byte(_ s: Unicode.Scalar) -> UInt8? { s.value < 0x100 ? UInt8(s.value) : nil }

    /// True if some character that would be a UTF-8 lead byte (as Latin-1 or Windows-1252) is
    /// followed by as many characters that would be continuation bytes as the lead byte announces.
    static func looksLikeMojibake(_ text: String) -> Bool {
        let bytes: [Int] = text.unicodeScalars.map { s in
            if let b = Windows1252.byte(for: s) { return Int(b) }
            return s.value < 0x100 ? Int(s.value) : -1
        }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let need = (0xC2...0xDF).contains(b) ? 1 : (0xE0...0xEF).contains(b) ? 2 : (0xF0...0xF4).contains(b) ? 3 : 0
            if need > 0, i + need < bytes.count,
               (1...need).allSatisfy({ (0x80...0xBF).contains(bytes[i + $0]) }) {
                return true
            }
            i += 1
        }
        return false
    }

    static func strictUTF8(_ bytes: [UInt8]) -> String? {
        var out = String.UnicodeScalarView()
        var decoder = UTF8()
        var it = bytes.makeIterator()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s): out.append(s)
            case .emptyInput: return String(out)
            case .error: return nil
            }
        }
    }
}
