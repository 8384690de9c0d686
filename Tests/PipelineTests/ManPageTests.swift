import XCTest

/// The manual must keep up with the command line: every long option and subcommand name declared in
/// Sources/NadaEditCLI/*.swift appears in man/, and the page renders without groff warnings.
final class ManPageTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// All man pages' text with roff's escaped hyphens (`\-`) turned back into plain ones.
    func manText() throws -> String {
        let folder = Self.packageRoot.appendingPathComponent("man")
        let pages = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.range(of: #"\.[1-9]$"#, options: .regularExpression) != nil }
        XCTAssertTrue(pages.contains("nada-edit.1"))
        return try pages.map { try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8) }
            .joined(separator: "\n").replacingOccurrences(of: "\\-", with: "-")
    }

    func cliSources() throws -> [(file: String, text: String)] {
        let folder = Self.packageRoot.appendingPathComponent("Sources/NadaEditCLI")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }.sorted().map {
            ($0, try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8))
        }
    }

    /// Long option names from `@Option`/`@Flag` declarations: `.customLong("x")`, else the property name in
    /// kebab case (ArgumentParser's default for `.long` and for declarations without `name:`).
    static func longOptions(in source: String) -> [String] {
        var names = [String]()
        let scanner = source as NSString
        let declaration = try! NSRegularExpression(pattern: #"@(Option|Flag)\b([\s\S]*?)\bvar\s+(\w+)"#)
        for match in declaration.matches(in: source, range: NSRange(location: 0, length: scanner.length)) {
            let attributes = scanner.substring(with: match.range(at: 2))
            let property = scanner.substring(with: match.range(at: 3))
            let custom = try! NSRegularExpression(pattern: #"\.customLong\("([^"]+)""#)
            let customs = custom.matches(in: attributes, range: NSRange(location: 0, length: (attributes as NSString).length))
            if !customs.isEmpty {
                names += customs.map { (attributes as NSString).substring(with: $0.range(at: 1)) }
            } else if attributes.contains("name:") && !attributes.contains(".long") && !attributes.contains("shortAndLong") {
                continue   // short-only
            } else {
                names.append(kebab(property))
            }
        }
        return names
    }

    static func kebab(_ camel: String) -> String {
        var out = ""
        for ch in camel {
            if ch.isUppercase { out += "-" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }

    func testScannerUnderstandsDeclarations() {
        let sample = """
        @Option(name: .customLong("models"), help: "x") public var modelsDirectory: String?
        @Option(name: .long, help: ArgumentHelp("y", valueName: "N"))
        public var threads: Int?
        @Flag(help: "z") var retryFailed = false
        @Option(name: .short) var q: Int
        """
        XCTAssertEqual(Self.longOptions(in: sample), ["models", "threads", "retry-failed"])
    }

    func testEveryLongOptionAndSubcommandIsDocumented() throws {
        let man = try manText()
        var checked = 0
        for (file, text) in try cliSources() {
            for option in Self.longOptions(in: text) {
                checked += 1
                XCTAssertTrue(man.contains("--\(option)"), "--\(option) (declared in \(file)) is not documented in man/")
            }
            let commandName = try NSRegularExpression(pattern: #"commandName:\s*"([^"]+)""#)
            for match in commandName.matches(in: text, range: NSRange(location: 0, length: (text as NSString).length)) {
                let name = (text as NSString).substring(with: match.range(at: 1))
                XCTAssertTrue(man.range(of: "\\b\(NSRegularExpression.escapedPattern(for: name))\\b", options: .regularExpression) != nil,
                              "subcommand \(name) (\(file)) is not documented in man/")
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 14, "the scanner found too few options; is it still reading the sources?")
    }

    func testManPageRendersWithoutWarnings() throws {
        let groff = ["/usr/bin/groff", "/usr/local/bin/groff"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let groff else { throw XCTSkip("groff is not installed; cannot check that man/nada-edit.1 renders") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: groff)
        process.arguments = ["-man", "-ww", "-z", Self.packageRoot.appendingPathComponent("man/nada-edit.1").path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(String(decoding: output, as: UTF8.self), "", "groff warnings")
    }
}
