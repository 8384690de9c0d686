import DurableIO
import Foundation
import Imaging

/// `index.html` in an edit output folder: one row per photo (input | reconstruction | each domain or edit, with the
/// output's provenance summary), then every failed input with its reason. Self-contained: inline CSS, no scripts,
/// images are the outputs themselves and small thumbnails in `<output>/.report/`.
///
/// The page is built from what is in the folder, not from one run's memory: every output that carries nada-edit
/// provenance (so earlier runs' and skipped photos' outputs are shown too), failure notes the watcher left
/// (`<name>.failed.txt`), and the failures the caller passes. A watcher keeps one `BatchReport` and calls `update`
/// after each photo; outputs already read are remembered by (size, mtime), so a folder of thousands of photos
/// costs one directory walk per update, not a re-read of every file.
///
/// Input thumbnails are made from the originals the caller names (when still there); without one, the input panel
/// of the `--compare` sheet stands in. The reconstruction is the middle panel of the `--compare` sheet.
public final class BatchReport {
    public static let fileName = "index.html"
    /// Hidden, so that the batch runner and the watcher never take the thumbnails for photos.
    public static let assetsFolder = ".report"
    /// Longest side of an input thumbnail, in pixels (the page shows them at 10em).
    static let thumbnailSide = 256

    public let folder: String
    public var path: String { (folder as NSString).appendingPathComponent(Self.fileName) }
    var assets: String { (folder as NSString).appendingPathComponent(Self.assetsFolder) }

    /// One output file with nada-edit provenance.
    struct Output {
        var relativePath: String
        var photoKey: String
        var inputName: String
        var domain: String
        /// nil: the main edit; "compare", "face2", …: a companion.
        var tag: String?
        var summary: String
    }

    private var known = [String: (size: Int64, mtime: Int64, output: Output?)]()

    public init(folder: String) { self.folder = folder }

    /// Rewrites `index.html` (temporary name, then renamed) and returns its path. `failures` are this run's failed
    /// inputs with their reasons; `inputs` are originals to make thumbnails of (those already made are skipped).
    @discardableResult
    public func update(failures: [(path: String, reason: String)], inputs: [String] = []) throws -> String {
        for input in inputs { makeInputThumbnail(input) }
        let outputs = scanOutputs()
        let html = page(outputs: outputs, failures: mergedFailures(failures))
        try FileOps.writeAtomically(Data(html.utf8), to: path)
        return path
    }

    // MARK: reading the folder

    func scanOutputs() -> [Output] {
        var found = [Output]()
        var seen = Set<String>()
        guard let walk = FileManager.default.enumerator(atPath: folder) else { return [] }
        while let relative = walk.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if FileOps.isIgnoredName(name) {   // hidden: temporaries, .report/
                walk.skipDescendants(); continue }
            let lower = name.lowercased()
            guard lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") else { continue }
            let full = (folder as NSString).appendingPathComponent(relative)
            guard let stat = FileOps.sizeAndMTime(full) else { continue }
            seen.insert(relative)
            if let cached = known[relative], cached.size == stat.size, cached.mtime == stat.mtimeNanos {
                if let o = cached.output { found.append(o) }
                continue
            }
            let output = read(relative, full)
            known[relative] = (stat.size, stat.mtimeNanos, output)
            if let output { found.append(output) }
        }
        for gone in known.keys where !seen.contains(gone) { known[gone] = nil }
        return found.sorted { $0.relativePath < $1.relativePath }
    }

    private func read(_ relative: String, _ full: String) -> Output? {
        guard let record = try? readProvenance(path: full), let p = record.provenance else { return nil }
        let key = p.inputSHA256 ?? "name-" + (p.inputFileName ?? relative)
        let domain = p.domain ?? "?"
        // `<stem>.<domain>.<tag>.<ext>`: the part after the domain is a companion tag.
        let parts = ((relative as NSString).lastPathComponent as NSString).deletingPathExtension.split(separator: ".").map(String.init)
        var tag: String?
        if parts.count >= 3, parts[parts.count - 2] == domain { tag = parts.last }
        return Output(relativePath: relative, photoKey: key, inputName: p.inputFileName ?? "?", domain: domain, tag: tag, summary: p.summary)
    }

    /// The caller's failures, then those noted by earlier watcher sessions (`<name>.failed.txt`), one per input.
    func mergedFailures(_ failures: [(path: String, reason: String)]) -> [(path: String, reason: String)] {
        var out = failures
        var listed = Set(failures.map(\.path))
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".failed.txt") }.sorted()
        for name in names {
            guard let bytes = try? FileIO.read((folder as NSString).appendingPathComponent(name), maxBytes: 1 << 20) else { continue }
            var input: String?, reason: String?
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                if line.hasPrefix("input: ") { input = String(line.dropFirst(7)) }
                if line.hasPrefix("reason: ") { reason = String(line.dropFirst(8)) }
            }
            if let input, let reason, listed.insert(input).inserted { out.append((input, reason)) }
        }
        return out
    }

    // MARK: thumbnails

    private func assetName(_ key: String, _ kind: String) -> String {
        let safe = String(key.prefix(24).map { $0.isLetter || $0.isNumber ? $0 : "_" })
        return "\(safe).\(kind).png"
    }

    private func assetExists(_ name: String) -> Bool { FileOps.isRegularFile((assets as NSString).appendingPathComponent(name)) }

    private func writeAsset(_ image: RGBImage, _ name: String) throws {
        try FileOps.createDirectory(assets)   // only once there is a thumbnail to keep
        try FileIO.writeAtomically(try encodeImage(image, format: .png), to: (assets as NSString).appendingPathComponent(name), overwrite: true)
    }

    /// A thumbnail of an original photo, named by its content; an input that does not decode gets none.
    private func makeInputThumbnail(_ input: String) {
        guard FileOps.isRegularFile(input), let sha = try? FileDigest.sha256Hex(ofFileAt: input) else { return }
        let name = assetName(sha, "input")
        guard !assetExists(name),
              let image = try? loadImage(path: input, options: DecodeOptions(minimumSide: Self.thumbnailSide)) else { return }
        let scale = min(1, Double(Self.thumbnailSide) / Double(max(image.width, image.height)))
        let w = max(1, Int((Double(image.width) * scale).rounded())), h = max(1, Int((Double(image.height) * scale).rounded()))
        guard let small = try? (scale < 1 ? pilResize(image, width: w, height: h) : image) else { return }
        try? writeAsset(small, name)
    }

    /// The input and reconstruction panels of a `--compare` sheet (input | reconstruction | edit, equal widths).
    private func cropCompareSheet(_ sheet: Output) {
        let recon = assetName(sheet.photoKey, "reconstruction"), aligned = assetName(sheet.photoKey, "aligned-input")
        // The aligned input is only needed when no thumbnail of the original was made.
        let needAligned = !assetExists(aligned) && !assetExists(assetName(sheet.photoKey, "input"))
        guard !assetExists(recon) || needAligned,
              let image = try? loadImage(path: (folder as NSString).appendingPathComponent(sheet.relativePath)),
              image.width >= 3, image.width % 3 == 0 else { return }
        let side = image.width / 3
        func panel(_ k: Int) throws -> RGBImage {
            var pixels = [UInt8]()
            pixels.reserveCapacity(side * image.height * 3)
            for y in 0..<image.height {
                let start = (y * image.width + k * side) * 3
                pixels += image.pixels[start..<(start + side * 3)]
            }
            return try RGBImage(width: side, height: image.height, pixels: pixels)
        }
        if needAligned, let p = try? panel(0) { try? writeAsset(p, aligned) }
        if !assetExists(recon), let p = try? panel(1) { try? writeAsset(p, recon) }
    }

    // MARK: the page

    func page(outputs: [Output], failures: [(path: String, reason: String)]) -> String {
        var order = [String]()
        var byPhoto = [String: [Output]]()
        for o in outputs {
            if byPhoto[o.photoKey] == nil { order.append(o.photoKey) }
            byPhoto[o.photoKey, default: []].append(o)
        }
        order.sort { (byPhoto[$0]!.first!.inputName, $0) < (byPhoto[$1]!.first!.inputName, $1) }
        let domains = Array(Set(outputs.map(\.domain))).sorted()
        func image(_ relative: String, _ alt: String) -> String {
            "<a href=\"\(Markup.url(relative))\"><img class=\"thumb\" src=\"\(Markup.url(relative))\" alt=\"\(Markup.escape(alt))\"></a>"
        }
        var rows = [String]()
        for key in order {
            let items = byPhoto[key]!
            let name = items.first!.inputName
            if let sheet = items.first(where: { $0.tag == OutputTarget.compareTag }) { cropCompareSheet(sheet) }
            var cells = ["<td><b>\(Markup.escape(name))</b><br><span class=\"muted\">\(key.hasPrefix("name-") ? "" : "sha256 " + Markup.escape(String(key.prefix(12))) + "…")</span></td>"]
            let input = assetName(key, "input"), aligned = assetName(key, "aligned-input"), recon = assetName(key, "reconstruction")
            if assetExists(input) {
                cells.append("<td>\(image(Self.assetsFolder + "/" + input, "input \(name)"))</td>")
            } else if assetExists(aligned) {
                cells.append("<td>\(image(Self.assetsFolder + "/" + aligned, "aligned input \(name)"))<br><span class=\"muted\">aligned (from the compare sheet)</span></td>")
            } else {
                cells.append("<td class=\"muted\">original not at hand</td>")
            }
            cells.append(assetExists(recon) ? "<td>\(image(Self.assetsFolder + "/" + recon, "reconstruction of \(name)"))</td>"
                                            : "<td class=\"muted\">edit with --compare to see the reconstruction</td>")
            for domain in domains {
                let mine = items.filter { $0.domain == domain }
                guard let main = mine.first(where: { $0.tag == nil }) ?? mine.first else { cells.append("<td class=\"muted\">—</td>"); continue }
                let others = mine.filter { $0.relativePath != main.relativePath }
                    .map { "<a href=\"\(Markup.url($0.relativePath))\">\(Markup.escape($0.tag ?? "other"))</a>" }
                cells.append("<td>\(image(main.relativePath, "\(name) as \(domain)"))"
                             + "<figcaption><code>\(Markup.escape(main.relativePath))</code>"
                             + (others.isEmpty ? "" : "<br>also: " + others.joined(separator: ", "))
                             + "<br>\(Markup.escape(main.summary))</figcaption></td>")
            }
            rows.append("<tr>" + cells.joined() + "</tr>")
        }
        let header = "<tr><th>photo</th><th>input</th><th>reconstruction</th>" + domains.map { "<th>\(Markup.escape($0))</th>" }.joined() + "</tr>"
        let failed = failures.map {
            "<tr><td><code>\(Markup.escape($0.path))</code></td><td class=\"fail\">\(Markup.escape(FailureReport.reason($0.reason, without: $0.path)))</td></tr>"
        }
        let body = """
        <h1>Edited photos</h1>
        <p class="muted">\(order.count) photo(s) edited, \(failures.count) failed · \(Markup.escape(folder)) · updated \(ISOTime.now())</p>
        <table class="photos">
        \(header)
        \(rows.joined(separator: "\n"))
        </table>
        <h2>Failed (\(failures.count))</h2>
        \(failed.isEmpty ? "<p class=\"muted\">none</p>" : "<table class=\"failures\">\n<tr><th>input</th><th>reason</th></tr>\n" + failed.joined(separator: "\n") + "\n</table>")
        """
        return HTMLPage.page(title: "nada-edit: edited photos", body: body)
    }
}
