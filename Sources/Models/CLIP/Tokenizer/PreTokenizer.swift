/// CLIP's split pattern, matched by hand over Unicode scalars:
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// with IGNORECASE, as `regex.findall` applies it: at each position the first alternative that
/// matches wins; positions where none matches (whitespace) are skipped.
///
/// IGNORECASE only matters for the literal alternatives, and the text is already lowercased; the one
/// lowercase character whose simple case fold differs from itself and lands on a letter used there
/// is U+017F LONG S (folds to 's'), so it is accepted wherever the pattern has an 's'.
enum PreTokenizer {
    enum Piece: Equatable {
        case text(Range<Int>)          // scalar range into the input
        case startOfText, endOfText
    }

    private static let startText = Array("<|startoftext|>".unicodeScalars)
    private static let endText = Array("<|endoftext|>".unicodeScalars)
    private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map {
        Array(("'" + $0).unicodeScalars)
    }

    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    @inline(__always) private static func same(_ a: Unicode.Scalar, _ pattern: Unicode.Scalar) -> Bool {
        a == pattern || (pattern == "s" && a.value == 0x17F)
    }

    private static func matches(_ s: [Unicode.Scalar], _ i: Int, _ literal: [Unicode.Scalar]) -> Bool {
        guard i + literal.count <= s.count else { return false }
        for k in 0..<literal.count where !same(s[i + k], literal[k]) { return false }
        return true
    }

    static func split(_ s: [Unicode.Scalar]) -> [Piece] {
        var pieces: [Piece] = []
        var i = 0
        let n = s.count
        while i < n {
            let c = s[i]
            if c == "<" {
                if matches(s, i, startText) { pieces.append(.startOfText); i += startText.count; continue }
                if matches(s, i, endText) { pieces.append(.endOfText); i += endText.count; continue }
            }
            if c == "'", let lit = contractions.first(where: { matches(s, i, $0) }) {
                pieces.append(.text(i..<(i + lit.count))); i += lit.count; continue
            }
            if isLetter(c) {
                var j = i + 1
                while j < n, isLetter(s[j]) { j += 1 }
                pieces.append(.text(i..<j)); i = j; continue
            }
            if isNumber(c) { pieces.append(.text(i..<(i + 1))); i += 1; continue }
            if CLIPTextClean.isRegexSpace(c) { i += 1; continue }
            var j = i + 1
            while j < n, !CLIPTextClean.isRegexSpace(s[j]), !isLetter(s[j]), !isNumber(s[j]) { j += 1 }
            pieces.append(.text(i..<j)); i = j
        }
        return pieces
    }
}
