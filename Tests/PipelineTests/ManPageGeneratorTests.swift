import ManPage
import XCTest

/// The man page generator on small command trees: what it takes from the definitions, how shared option groups
/// are found, and that stale prose is refused with the file and the fix.
final class ManPageGeneratorTests: XCTestCase {
    /// Two commands sharing `--models`/`--threads` (as CommonOptions gives them), one with its own options.
    static let dump = """
    {"serializationVersion": 0, "command": {"commandName": "nada-edit", "abstract": "Edit photos.", "defaultSubcommand": "edit",
     "arguments": [\(flag("help", short: "h", abstract: "Show help information."))],
     "subcommands": [
      {"commandName": "edit", "superCommands": ["nada-edit"], "abstract": "Edit photos (the default command).",
       "discussion": "Line one\\nwraps here.\\n\\nSecond paragraph.",
       "arguments": [\(option("models", "DIR", abstract: "The model store.")), \(option("threads", "N", abstract: "Threads.")),
        {"kind": "positional", "shouldDisplay": true, "isOptional": false, "isRepeating": true, "valueName": "INPUT", "abstract": "Photos."},
        \(option("quality", "Q", abstract: "JPEG quality (1-100).", defaultValue: "95")),
        \(option("align", "align", abstract: "How photos are aligned.", allValues: ["ffhq", "center"])),
        \(option("iterations", "N", abstract: "", shouldDisplay: false)),
        \(flag("report", abstract: "Write index.html − Σ.")), \(flag("no-report", abstract: "Write index.html − Σ.")),
        \(flag("help", short: "h", abstract: "Show help information."))]},
      {"commandName": "list", "superCommands": ["nada-edit"], "abstract": "List models.",
       "arguments": [\(option("models", "DIR", abstract: "The model store.")), \(option("threads", "N", abstract: "Threads.")),
        \(option("output", "DIR", abstract: "Where.", isOptional: false)),
        \(flag("help", short: "h", abstract: "Show help information."))]}]}}
    """

    static func option(_ name: String, _ value: String, abstract: String, defaultValue: String? = nil, allValues: [String]? = nil,
                       isOptional: Bool = true, shouldDisplay: Bool = true) -> String {
        var fields = [#""kind": "option""#, #""shouldDisplay": \#(shouldDisplay)"#, #""isOptional": \#(isOptional)"#, #""isRepeating": false"#,
                      #""names": [{"kind": "long", "name": "\#(name)"}]"#, #""preferredName": {"kind": "long", "name": "\#(name)"}"#,
                      #""valueName": "\#(value)""#, #""abstract": "\#(abstract)""#]
        if let defaultValue { fields.append(#""defaultValue": "\#(defaultValue)""#) }
        if let allValues { fields.append(#""allValues": [\#(allValues.map { "\"\($0)\"" }.joined(separator: ", "))]"#) }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func flag(_ name: String, short: String? = nil, abstract: String) -> String {
        let names = (short.map { [#"{"kind": "short", "name": "\#($0)"}"#] } ?? []) + [#"{"kind": "long", "name": "\#(name)"}"#]
        return #"{"kind": "flag", "shouldDisplay": true, "isOptional": true, "isRepeating": false, "names": [\#(names.joined(separator: ", "))], "preferredName": {"kind": "long", "name": "\#(name)"}, "valueName": "\#(name)", "abstract": "\#(abstract)"}"#
    }

    func prose(edit: String = "", shared: [String] = [".\\\" nada-man: title Model store options\n.\\\" nada-man: group --models\n"]) throws -> Prose {
        Prose(description: ".SH DESCRIPTION\nHand-written.\n", end: ".SH \"SEE ALSO\"\nEnd.\n",
              commands: edit.isEmpty ? [:] : ["edit": try .parse(edit, file: "commands/edit.roff")],
              shared: try shared.enumerated().map { try .parse($1, file: "shared/\($0).roff") })
    }

    func page(_ prose: Prose) throws -> String {
        try ManPageWriter.page(dump: try ToolDump.parse(Data(Self.dump.utf8)), version: "1.2", prose: prose)
    }

    func testOptionsDefaultsAndProseComeOutAsRoff() throws {
        let text = try page(try prose(edit: """
            .\\" nada-man: required --quality
            Narrative about edit.
            .\\" nada-man: option --quality
            More about quality.
            .\\" nada-man: after
            .SS "After"
            """))
        XCTAssertTrue(text.contains(".TH NADA-EDIT 1 \"\" \"nada-edit 1.2\""), text)
        XCTAssertTrue(text.contains("nada-edit \\- Edit photos\n"), text)
        XCTAssertTrue(text.contains(".SY nada-edit\n.RB [ edit ]\n.BI \\-\\-quality \" Q\"\n.RI [ options ]\n.IR INPUT \\&...\n.YS"), text)
        XCTAssertTrue(text.contains(".SS \"edit \\fIINPUT\\fP... (the default command)\""), text)
        XCTAssertTrue(text.contains(".PP\nLine one wraps here.\n.PP\nSecond paragraph.\n.PP\nNarrative about edit.\n"), text)
        XCTAssertTrue(text.contains(".TP\n\\fB\\-\\-quality\\fR \\fIQ\\fR\nJPEG quality (1\\-100).\nDefault: \\fB95\\fR.\nRequired.\nMore about quality.\n"), text)
        XCTAssertTrue(text.contains("\\fB\\-\\-align\\fR \\fIALIGN\\fR\nHow photos are aligned.\nOne of \\fBffhq\\fR and \\fBcenter\\fR.\n"), text)
        XCTAssertTrue(text.contains("\\fB\\-\\-report\\fR, \\fB\\-\\-no\\-report\\fR\nWrite index.html \\[u2212] \\[u03A3].\n"), text)
        XCTAssertFalse(text.contains("iterations"), "hidden options stay hidden")
        XCTAssertTrue(text.contains(".SS \"After\"\n.SS \"list\""), text)
    }

    func testSharedOptionsAreListedOnceWithTheCommandsThatTakeThem() throws {
        let text = try page(try prose())
        XCTAssertEqual(text.components(separatedBy: "\\fB\\-\\-models\\fR").count - 1, 1, text)
        XCTAssertEqual(text.components(separatedBy: "\\fB\\-\\-threads\\fR").count - 1, 1, text)
        XCTAssertTrue(text.contains(".SS \"Model store options\"\nTaken by \\fBedit\\fR and \\fBlist\\fR.\n"), text)
        XCTAssertTrue(text.contains("Also takes the \\fIModel store options\\fR (see \\fBSHARED OPTIONS\\fR)."), text)
        // --output is list's own, and required in its synopsis.
        XCTAssertTrue(text.contains(".B list\n.BI \\-\\-output \" DIR\"\n.RI [ options ]\n.YS"), text)
    }

    func testStaleProseIsRefusedWithTheFileAndTheFix() throws {
        XCTAssertThrowsError(try page(try prose(edit: ".\\\" nada-man: option --strength\nGone.\n"))) { error in
            XCTAssertTrue("\(error)".contains("commands/edit.roff: `option --strength`: there is no such option here"), "\(error)")
        }
        XCTAssertThrowsError(try page(try prose(edit: ".\\\" nada-man: option --models\nMoved.\n"))) { error in
            XCTAssertTrue("\(error)".contains("listed with the shared options of man/prose/shared/0.roff; move the text there"), "\(error)")
        }
        XCTAssertThrowsError(try page(try prose(shared: [".\\\" nada-man: title X\n.\\\" nada-man: group --nothing\n"]))) { error in
            XCTAssertTrue("\(error)".contains("no command has the option --nothing"), "\(error)")
        }
        XCTAssertThrowsError(try Prose.Part.parse(".\\\" nada-man: optoin --x\n", file: "commands/edit.roff")) { error in
            XCTAssertTrue("\(error)".contains("commands/edit.roff:1: unknown marker"), "\(error)")
        }
        var stale = try prose()
        stale.commands["watch"] = try .parse("Text.\n", file: "commands/watch.roff")
        XCTAssertThrowsError(try page(stale)) { error in
            XCTAssertTrue("\(error)".contains("describes the command `watch`, which nada-edit does not have"), "\(error)")
        }
    }

    func testOtherSerializationVersionsAreRefused() {
        XCTAssertThrowsError(try ToolDump.parse(Data(#"{"serializationVersion": 1, "command": {"commandName": "x"}}"#.utf8))) { error in
            XCTAssertTrue("\(error)".contains("serialization version 1"), "\(error)")
        }
    }
}
