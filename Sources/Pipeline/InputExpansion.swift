import Foundation
import Imaging

/// A photo found among the inputs.
public struct InputImage: Equatable {
    public var path: String
    public var format: ImageFormat
}

/// Files and folders given on the command line, expanded into photos.
public struct InputScan {
    public var images: [InputImage] = []
    /// Inputs that look meant as photos but cannot be: missing paths, files named `.jpg` whose bytes are not JPEG/PNG.
    public var rejected: [(path: String, reason: String)] = []
    /// Files in folders that are neither named nor shaped like photos (and hidden/temporary files); not reported.
    public var ignored = 0

    /// Expands `inputs`: files are taken as given (content decides: JPEG or PNG by magic bytes); folders are listed
    /// in name order, sub-folders only with `recursive`, hidden and temporary names always skipped.
    /// `excludedOutputNames` skips our own outputs when the output folder is among the inputs.
    public static func expand(_ inputs: [String], recursive: Bool, isExcludedOutput: (String) -> Bool = { _ in false }) -> InputScan {
        var scan = InputScan()
        var seen = Set<String>()
        func add(_ path: String, explicit: Bool) {
            let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            guard !seen.contains(canonical) else { return }
            seen.insert(canonical)
            let name = URL(fileURLWithPath: path).lastPathComponent
            if let format = ImageFormat.sniff(fileAt: path) {
                scan.images.append(InputImage(path: path, format: format))
            } else if !FileManager.default.isReadableFile(atPath: path) {
                scan.rejected.append((path, "cannot be read (permission denied?)"))
            } else if explicit || ImageFormat.hasImageExtension(name) {
                let size = FileOps.fileSize(path) ?? 0
                scan.rejected.append((path, size == 0 ? "empty file" : "not a JPEG or PNG image (its first bytes match neither format)"))
            } else {
                scan.ignored += 1
            }
        }
        func walk(_ folder: String) {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted() }
            catch { scan.rejected.append((folder, "cannot list folder (\(error.localizedDescription))")); return }
            for name in names {
                let path = (folder as NSString).appendingPathComponent(name)
                if FileOps.isIgnoredName(name) || name.hasPrefix(FileOps.temporaryPrefix) { scan.ignored += 1; continue }
                if FileOps.isDirectory(path) {
                    if recursive { walk(path) }
                    continue
                }
                guard FileOps.isRegularFile(path) else { scan.ignored += 1; continue }
                if isExcludedOutput(path) { scan.ignored += 1; continue }
                add(path, explicit: false)
            }
        }
        for input in inputs {
            if FileOps.isDirectory(input) { walk(input) }
            else if FileOps.isRegularFile(input) { add(input, explicit: true) }
            else if FileOps.exists(input) { scan.rejected.append((input, "not a regular file or folder")) }
            else { scan.rejected.append((input, "no such file or folder")) }
        }
        return scan
    }
}

/// Output names: `<stem>.<domain>.<ext>`, where stem is the input name without its last extension.
public enum OutputNaming {
    public static func stem(of path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }

    public static func fileName(stem: String, domain: String, format: ImageFormat) -> String {
        "\(stem).\(domain).\(format.fileExtension)"
    }

    /// Whether `path` is named like an output of one of `domains` (so re-running on the output folder does not
    /// edit the edits).
    public static func looksLikeOutput(_ path: String, domains: [String]) -> Bool {
        let name = URL(fileURLWithPath: path).lastPathComponent
        return domains.contains { domain in
            ImageFormat.allCases.contains { name.hasSuffix(".\(domain).\($0.fileExtension)") }
        }
    }
}
