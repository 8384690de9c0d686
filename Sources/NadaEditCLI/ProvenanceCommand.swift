import ArgumentParser
import Foundation
import Imaging

/// `nada-edit provenance FILE...`: prints what each output records about how it was made
/// (XMP derivation fields, EXIF, PNG text). The reading lives in Imaging (`readProvenance`).
/// Note: inside this module the name `Provenance` is this command; the metadata struct is
/// `Imaging.Provenance`.
public struct Provenance: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "provenance",
        abstract: "Print the provenance recorded in nada-edit outputs (JPEG or PNG).",
        discussion: "Exit status 0 when every FILE was read, 1 when any could not be read."
    )

    @Flag(name: .long, help: "Also print the raw XMP packet.")
    public var xmp = false

    @Argument(help: ArgumentHelp("Output images to inspect.", valueName: "FILE"))
    public var files: [String]

    public init() {}

    public func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
    }

    public func run() throws {
        var failed = 0
        for (i, file) in files.enumerated() {
            if i > 0 { print("") }
            do {
                let record = try readProvenance(path: file)
                for line in record.lines { print(line) }
                if xmp, let packet = record.xmp { print(packet) }
            } catch {
                failed += 1
                FileHandle.standardError.write(Data("nada-edit provenance: \(error)\n".utf8))
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
