import Foundation
import ManPage

// nada-man: writes man/nada-edit.1 from `nada-edit --experimental-dump-help` and man/prose/.
// Usually run through tools/generate-man.sh, which builds nada-edit and passes its dump and version.
let usage = "usage: nada-man --dump FILE.json --version VERSION [--prose DIR] [--output FILE]   (FILE.json may be - for standard input)"

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("nada-man: " + message + "\n").utf8))
    exit(1)
}

var options: [String: String] = ["--prose": "man/prose"]
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard ["--dump", "--version", "--prose", "--output"].contains(flag), let value = arguments.popFirst() else { fail(usage) }
    options[flag] = value
}
guard let dumpPath = options["--dump"], let version = options["--version"] else { fail(usage) }

do {
    let data = dumpPath == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: dumpPath))
    let page = try ManPageWriter.page(dump: try ToolDump.parse(data), version: version,
                                      prose: try Prose.load(from: URL(fileURLWithPath: options["--prose"]!)))
    if let output = options["--output"] {
        // .atomic writes a temporary file beside the page and renames it over the old one.
        try Data(page.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
    } else {
        FileHandle.standardOutput.write(Data(page.utf8))
    }
} catch let error as ManPageError {
    fail(error.description)
} catch {
    fail("\(error)")
}
