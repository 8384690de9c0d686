import Foundation

/// The shell shared by report.html and index.html: one self-contained page (inline CSS, no scripts, no network),
/// images referenced by relative paths next to it.
enum HTMLPage {
    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Markup.escape(title))</title>
        <style>
        body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; margin: 1.5em; color: #222; background: #fff; }
        h1 { font-size: 1.5em; margin: 0 0 .3em 0; } h2 { font-size: 1.15em; margin: 1.4em 0 .4em 0; }
        table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
        th { background: #f2f2f2; } .muted { color: #777; } .fail { color: #a00; }
        .strip { display: flex; gap: .8em; overflow-x: auto; padding-bottom: .5em; }
        figure { margin: 0; } figcaption { font-size: .85em; color: #555; max-width: 22em; word-wrap: break-word; }
        img.plot { max-width: 100%; border: 1px solid #ddd; } img.sample { max-height: 18em; max-width: 44em; border: 1px solid #ddd; }
        img.thumb { width: 10em; height: 10em; object-fit: contain; image-rendering: pixelated; background: #eee; border: 1px solid #ddd; }
        code { font-size: .9em; }
        </style>
        </head>
        <body>
        \(body)
        </body>
        </html>

        """
    }

    /// A two-column table of label/value rows.
    static func table(_ rows: [(String, String)]) -> String {
        "<table>\n" + rows.map { "<tr><th>\(Markup.escape($0.0))</th><td>\(Markup.escape($0.1))</td></tr>" }.joined(separator: "\n") + "\n</table>"
    }
}
