import CSVGRaster
import Foundation
import Imaging

/// SVG text -> RGB image, drawn by librsvg and cairo (Debian librsvg2-dev) with real font glyphs (fontconfig;
/// Debian fonts-dejavu-core gives the "DejaVu Sans" the documents ask for).
///
/// Why librsvg linked in, not `rsvg-convert` as a subprocess: the PNG is then always written (no program that may
/// be missing from PATH, nothing executed), and a failure comes back as an error value naming the document.
public enum SVGRaster {
    public static func render(_ svg: String, width: Int, height: Int, name: String) throws -> RGBImage {
        var pixels = [UInt8](repeating: 255, count: max(0, width) * max(0, height) * 3)
        var message = [CChar](repeating: 0, count: Int(NADA_SVG_MESSAGE_LEN))
        let bytes = Array(svg.utf8)
        let status = bytes.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                src.baseAddress!.withMemoryRebound(to: CChar.self, capacity: src.count) { text in
                    nada_svg_render_rgb(text, src.count, Int32(width), Int32(height), dst.baseAddress, &message)
                }
            }
        }
        guard status == NADA_SVG_OK else {
            throw PipelineError.io(path: name, problem: "cannot draw the SVG: \(String(cString: message))")
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }
}

/// Text helpers shared by the SVG and HTML writers.
enum Markup {
    /// Escapes the five XML/HTML special characters (text and attribute values alike).
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A relative URL for a file path (each component percent-encoded), for `src`/`href` in a report.
    static func url(_ relativePath: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#;")
        return relativePath.split(separator: "/", omittingEmptySubsequences: false)
            .map { String($0).addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0) }
            .joined(separator: "/")
    }

    /// Fixed-point SVG coordinates (two decimals keep the files small and diffs stable).
    static func coord(_ v: Double) -> String { String(format: "%.2f", v) }

    /// The font the SVGs ask for: Debian fonts-dejavu-core, then whatever sans fontconfig has.
    static let fontFamily = "DejaVu Sans, Bitstream Vera Sans, sans-serif"
}
