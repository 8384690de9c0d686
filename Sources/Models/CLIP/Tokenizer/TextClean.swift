/// CLIP's text cleaning before BPE: `whitespace_clean(basic_clean(text)).lower()` of
/// `clip/simple_tokenizer.py`.
public enum CLIPTextClean {
    /// `basic_clean`: ftfy (the subset described in `FixText`), `html.unescape` twice, `strip()`;
    /// then `whitespace_clean`: every `\s+` run -> one space, `strip()`; then `lower()`.
    public static func clean(_ text: String) -> String {
        var t = FixText.apply(text)
        t = HTMLUnescape.python(HTMLUnescape.python(t))
        t = collapseWhitespace(t)
        return pythonLower(t)
    }

    /// `\s` of the `regex` module: the Unicode White_Space property (25 code points).
    @inline(__always) static func isRegexSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }

    /// Python's `str.isspace()` (what `strip()` removes): White_Space plus U+001C...U+001F.
    @inline(__always) static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    /// `strip()`, then `re.sub(r'\s+', ' ')`, then `strip()` again.
    static func collapseWhitespace(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        var lo = 0, hi = s.count
        while lo < hi, isPythonSpace(s[lo]) { lo += 1 }
        while hi > lo, isPythonSpace(s[hi - 1]) { hi -= 1 }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(hi - lo)
        var i = lo
        while i < hi {
            if isRegexSpace(s[i]) {
                while i < hi, isRegexSpace(s[i]) { i += 1 }
                out.append(" ")
            } else {
                out.append(s[i]); i += 1
            }
        }
        var a = 0, b = out.count
        while a < b, isPythonSpace(out[a]) { a += 1 }
        while b > a, isPythonSpace(out[b - 1]) { b -= 1 }
        return String(String.UnicodeScalarView(out[a..<b]))
    }

    /// Python's `str.lower()`: full Unicode lowercase mapping per code point (e.g. İ -> i̇), with the
    /// one context rule Python applies, Final_Sigma (Σ -> ς at the end of a word).
    public static func pythonLower(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.lowercased() }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for i in s.indices {
            if s[i].value == 0x3A3 {
                out.append(isFinalSigma(s, i) ? "\u{3C2}" : "\u{3C3}")
            } else if s[i].properties.changesWhenLowercased {
                out.append(contentsOf: s[i].properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s[i])
            }
        }
        return String(out)
    }

    /// Final_Sigma: preceded by a cased letter (skipping case-ignorables) and not followed by one.
    private static func isFinalSigma(_ s: [Unicode.Scalar], _ i: Int) -> Bool {
        var j = i - 1
        while j >= 0, s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, s[j].properties.isCased else { return false }
        var k = i + 1
        while k < s.count, s[k].properties.isCaseIgnorable { k += 1 }
        return k == s.count || !s[k].properties.isCased
    }
}
