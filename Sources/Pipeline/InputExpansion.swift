import Foundation
import Imaging
#if canImport(Glibc)
import Glibc
#endif

/// A photo found among the inputs.
public struct InputImage: Equatable {
    /// Where to read it. For a file whose name is not valid UTF-8 this is a link to it (see `InputScan.expand`'s
    /// `aliasFolder`), and `displayPath` shows the real name with the invalid bytes as `%XX`.
    public var path: String
    public var format: ImageFormat
    /// The sub-folder (relative, "" for none) of the folder input it was found in: with `--recursive` outputs mirror it,
    /// so `DCIM/100CANON/IMG_0001.JPG` and `DCIM/101CANON/IMG_0001.JPG` do not compete for one output name.
    public var relativeFolder: String
    public var displayPath: String
    /// The output stem: the file name without its last extension (`%XX` for bytes that are not UTF-8).
    public var stem: String

    public init(path: String, format: ImageFormat, relativeFolder: String = "", displayPath: String? = nil) {
        self.path = path; self.format = format; self.relativeFolder = relativeFolder
        self.displayPath = displayPath ?? path
        self.stem = OutputNaming.stem(of: displayPath ?? path)
    }
}

/// Files and folders given on the command line, expanded into photos.
public struct InputScan {
    public var images: [InputImage] = []
    /// Inputs that look meant as photos but cannot be: missing paths, files named `.jpg` whose bytes are not JPEG/PNG,
    /// names the system cannot be handed, broken links.
    public var rejected: [(path: String, reason: String)] = []
    /// Files in folders that are neither named nor shaped like photos (and hidden/temporary files, and symlinked
    /// folders not followed); not reported.
    public var ignored = 0

    /// Expands `inputs`: files are taken as given (content decides: JPEG or PNG by magic bytes); folders are listed
    /// in name order, sub-folders only with `recursive`, hidden and temporary names always skipped.
    ///
    /// Symbolic links inside folders: links to files are followed (the link's target is read, never moved or
    /// changed); links to folders only with `followSymlinkedFolders`. A folder already visited (same device and
    /// inode) is never entered again, so a link to an ancestor cannot loop. Paths named on the command line are
    /// followed whatever they are.
    /// `isExcludedOutput` skips our own outputs when the output folder is among the inputs.
    ///
    /// A file whose name is not valid UTF-8 cannot be named by a Swift string, so it is reached through a symbolic
    /// link created in `aliasFolder` (the original is only read); without `aliasFolder` it is reported instead.
    public static func expand(_ inputs: [String], recursive: Bool, followSymlinkedFolders: Bool = false, aliasFolder: String? = nil,
                              isExcludedOutput: (String) -> Bool = { _ in false }) -> InputScan {
        var scan = InputScan()
        var seenFiles = Set<String>()
        var visitedFolders = Set<FileIdentity>()

        func add(_ path: String, explicit: Bool, relativeFolder: String, displayPath: String? = nil) {
            let canonical = displayPath ?? URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            guard !seenFiles.contains(canonical) else { return }
            seenFiles.insert(canonical)
            let name = URL(fileURLWithPath: displayPath ?? path).lastPathComponent
            if let format = ImageFormat.sniff(fileAt: path) {
                scan.images.append(InputImage(path: path, format: format, relativeFolder: relativeFolder, displayPath: displayPath))
            } else if !FileManager.default.isReadableFile(atPath: path) {
                scan.rejected.append((path, "cannot be read (permission denied?)"))
            } else if explicit || ImageFormat.hasImageExtension(name) {
                // Never quote the content: a link named photo.jpg may point at a private file.
                let size = FileOps.fileSize(path) ?? 0
                scan.rejected.append((path, size == 0 ? "empty file" : "not a JPEG or PNG image (its first bytes match neither format)"))
            } else {
                scan.ignored += 1
            }
        }

        func walk(_ folder: String, relativeFolder: String) {
            guard let identity = FileIdentity(path: folder), visitedFolders.insert(identity).inserted else { return }
            let entries: [FileOps.DirectoryEntry]
            do { entries = try FileOps.listDirectory(folder) }
            catch { scan.rejected.append((folder, "cannot list folder (\(error))")); return }
            for entry in entries.sorted(by: { $0.rawName.lexicographicallyPrecedes($1.rawName) }) {
                guard let name = entry.name else {
                    let shown = (folder as NSString).appendingPathComponent(entry.percentEncodedName)
                    if FileOps.isIgnoredName(entry.percentEncodedName) { scan.ignored += 1; continue }
                    guard let aliasFolder else {
                        scan.rejected.append((shown, "file name is not valid UTF-8, which nada-edit cannot pass on unchanged; rename it to process it"))
                        continue
                    }
                    do {
                        let alias = try FileOps.aliasForRawName(entry.rawName, inFolder: folder, aliasFolder: aliasFolder)
                        guard FileOps.isRegularFile(alias) else { try? FileManager.default.removeItem(atPath: alias); scan.ignored += 1; continue }
                        add(alias, explicit: false, relativeFolder: relativeFolder, displayPath: shown)
                    } catch {
                        scan.rejected.append((shown, "file name is not valid UTF-8 and no link to it could be made (\(error))"))
                    }
                    continue
                }
                let path = (folder as NSString).appendingPathComponent(name)
                if FileOps.isIgnoredName(name) || name.hasPrefix(FileOps.temporaryPrefix) { scan.ignored += 1; continue }
                if path.utf8.count >= FileOps.pathMax {
                    scan.rejected.append((path, "path is longer than the system's limit of \(FileOps.pathMax - 1) bytes"))
                    continue
                }
                let isLink = FileOps.isSymbolicLink(path)
                if FileOps.isDirectory(path) {
                    if recursive && (!isLink || followSymlinkedFolders) {
                        walk(path, relativeFolder: (relativeFolder as NSString).appendingPathComponent(name))
                    } else {
                        scan.ignored += 1
                    }
                    continue
                }
                if isLink && !FileOps.exists(followingLinks: path) {
                    if ImageFormat.hasImageExtension(name) { scan.rejected.append((path, "broken symbolic link")) } else { scan.ignored += 1 }
                    continue
                }
                guard FileOps.isRegularFile(path) else { scan.ignored += 1; continue }
                if isExcludedOutput(path) { scan.ignored += 1; continue }
                add(path, explicit: false, relativeFolder: relativeFolder)
            }
        }

        for input in inputs {
            if FileOps.isDirectory(input) { walk(input, relativeFolder: "") }
            else if FileOps.isRegularFile(input) { add(input, explicit: true, relativeFolder: "") }
            else if FileOps.isSymbolicLink(input) && !FileOps.exists(followingLinks: input) { scan.rejected.append((input, "broken symbolic link")) }
            else if FileOps.exists(input) { scan.rejected.append((input, "not a regular file or folder")) }
            else if input.contains("\u{FFFD}") {
                // The shell passed bytes that are not UTF-8; Swift's arguments arrive with them replaced.
                scan.rejected.append((input, "no such file or folder (the name given is not valid UTF-8, which nada-edit cannot pass on unchanged; rename the file or give its folder)"))
            }
            else { scan.rejected.append((input, "no such file or folder")) }
        }
        return scan
    }
}

/// A file's device and inode: the identity that survives other names for it (links, `..`).
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64

    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino)
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
