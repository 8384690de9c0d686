import Foundation

/// Google Drive downloads: `uc?export=download&id=…` serves small files directly but answers large ones with a
/// "can't scan this file for viruses" page whose form carries the real download URL (id, export, confirm, uuid).
public enum GoogleDrive {
    public static let defaultBase = "https://drive.google.com"

    public static func initialURL(id: String, base: String = defaultBase) -> URL {
        var components = URLComponents(string: base + "/uc")!
        components.queryItems = [URLQueryItem(name: "export", value: "download"), URLQueryItem(name: "id", value: id)]
        return components.url!
    }

    public static func viewURL(id: String) -> String { "https://drive.google.com/file/d/\(id)/view" }

    /// The download URL behind a confirmation page, or nil when the page is something else (quota exceeded,
    /// sign-in required, file removed).
    public static func confirmedURL(fromPage html: String, pageURL: URL) -> URL? {
        // Current page: <form id="download-form" action="https://drive.usercontent.google.com/download" method="get">
        //   <input type="hidden" name="id" value="…"> … </form>
        if let form = firstMatch(#"<form[^>]*id="download-form"[^>]*>([\s\S]*?)</form>"#, in: html, group: 0) ?? firstMatch(#"<form[^>]*action="[^"]*download[^"]*"[^>]*>([\s\S]*?)</form>"#, in: html, group: 0),
           let action = firstMatch(#"action="([^"]+)""#, in: form, group: 1) {
            var items = [URLQueryItem]()
            for input in allMatches(#"<input[^>]*>"#, in: form) {
                guard input.contains("type=\"hidden\""),
                      let name = firstMatch(#"name="([^"]*)""#, in: input, group: 1),
                      let value = firstMatch(#"value="([^"]*)""#, in: input, group: 1) else { continue }
                items.append(URLQueryItem(name: unescape(name), value: unescape(value)))
            }
            guard let base = URL(string: unescape(action), relativeTo: pageURL)?.absoluteURL,
                  var components = URLComponents(url: base, resolvingAgainstBaseURL: false) else { return nil }
            components.queryItems = (components.queryItems ?? []) + items
            return components.url
        }
        // Older page: <a id="uc-download-link" href="/uc?export=download&amp;confirm=AbCd&amp;id=…">
        if let href = firstMatch(#"href="([^"]*confirm=[^"]*)""#, in: html, group: 1) {
            return URL(string: unescape(href), relativeTo: pageURL)?.absoluteURL
        }
        return nil
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
    }

    private static func firstMatch(_ pattern: String, in text: String, group: Int) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range(at: group), in: text) else { return nil }
        return String(text[range])
    }

    private static func allMatches(_ pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text).map { String(text[$0]) }
        }
    }
}
