import Foundation
import Pipeline

/// `--open`: hands a page to the desktop's browser through `xdg-open` (Debian xdg-utils). Without it (a server, a
/// container) the path is printed with what to do instead; nothing else is tried.
enum Browser {
    static func open(_ page: String) throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let opener = path.split(separator: ":").map({ "\($0)/xdg-open" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("xdg-open is not installed (Debian: xdg-utils); open \(page) in a browser")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [page]
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 { print("xdg-open failed (status \(process.terminationStatus)); open \(page) in a browser") }
    }
}
