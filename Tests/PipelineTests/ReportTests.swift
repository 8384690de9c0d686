import DurableIO
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Imaging
@testable import Pipeline
import Training
import XCTest

/// Issue 20: the pictures people look at. The loss plot (SVG text and the PNG librsvg draws from it), the labelled
/// sample grids (always one at the last iteration), report.html of a training run and index.html of an edit folder,
/// rendered on the fixtures' tiny models; every image a page references must exist, every failed input must be listed
/// with its reason, and a headless Chromium screenshot of each page must show something.
final class ReportTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures").path
    static func fixture(_ relative: String) -> String { (fixtures as NSString).appendingPathComponent(relative) }

    var work = ""
    override func setUpWithError() throws { work = try makeTemporaryDirectory("reports") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: work) }

    // MARK: the loss plot

    /// Text of every SVG <text> element by its class attribute; fails the test if the document is not well-formed XML.
    func svgTexts(_ svg: String) throws -> [String: [String]] {
        final class Collector: NSObject, XMLParserDelegate {
            var texts = [String: [String]]()
            var current: String?
            var buffer = ""
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == "text" { current = attributes["class"] ?? ""; buffer = "" }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { if current != nil { buffer += string } }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "text", let c = current { texts[c, default: []].append(buffer); current = nil }
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "the SVG is not well-formed: \(parser.parserError.map { "\($0)" } ?? "?")")
        return collector.texts
    }

    func testLossPlotHasLabelledAxesTickValuesLegendAndTitle() throws {
        // 30 iterations; directional and global on, patch and manifold off (all zero).
        var csv = LossLog.header + "\n"
        for i in 1...30 {
            let d = 0.9 - Double(i) * 0.01, g = 0.5 + 0.1 * sin(Double(i))
            csv += "\(i),\(d + g),0.25,conv1,\(d),\(g),0.0,0.0\n"
        }
        let log = LossLog(csv: csv)
        XCTAssertEqual(log.rows.count, 30)
        let svg = LossPlot.svg(log, title: "\"photo\" → \"sketch\"", subtitle: "CLIP: ViT-B-32.pt ×1.0")
        let texts = try svgTexts(svg)
        XCTAssertEqual(texts["axis-x"], ["iteration"])
        XCTAssertTrue(texts["axis-y"]?.first?.hasPrefix("loss") ?? false, "\(texts["axis-y"] ?? [])")
        let xs = (texts["tick-x"] ?? []).compactMap(Double.init)
        XCTAssertEqual(xs.count, texts["tick-x"]?.count, "every x tick label is a number: \(texts["tick-x"] ?? [])")
        XCTAssertGreaterThanOrEqual(xs.count, 4)
        XCTAssertTrue(xs.allSatisfy { $0 == $0.rounded() && $0 >= 1 && $0 <= 30 }, "iterations 1...30: \(xs)")
        let ys = (texts["tick-y"] ?? []).compactMap(Double.init)
        XCTAssertEqual(ys.count, texts["tick-y"]?.count, "every y tick label is a number: \(texts["tick-y"] ?? [])")
        XCTAssertGreaterThanOrEqual(ys.count, 3)
        let values = log.rows.flatMap { [$0.total] + ($0.terms ?? []) }.filter { $0 != 0 }
        XCTAssertLessThanOrEqual(ys.min()!, values.min()! + 0.2); XCTAssertGreaterThanOrEqual(ys.max()!, values.max()! - 0.3)
        XCTAssertEqual(texts["legend"], ["total", "directional", "global"], "one line per non-zero term and the total")
        XCTAssertEqual(texts["title"], ["\"photo\" → \"sketch\""])
        XCTAssertEqual(texts["subtitle"], ["CLIP: ViT-B-32.pt ×1.0"])
        XCTAssertEqual(svg.components(separatedBy: "class=\"smooth\"").count - 1, 3, "a smoothed line per series")
        XCTAssertEqual(svg.components(separatedBy: "class=\"raw\"").count - 1, 3, "and the raw one under it")

        // The PNG is that SVG drawn by librsvg: the plot's size, with dark text/axis pixels on white.
        try LossPlot.write(log, title: "t", subtitle: "s", folder: work)
        let png = try loadImage(path: work + "/loss.png")
        XCTAssertEqual([png.width, png.height], [LossPlot.width, LossPlot.height])
        let dark = stride(from: 0, to: png.pixels.count, by: 3).filter { png.pixels[$0] < 100 && png.pixels[$0 + 1] < 100 && png.pixels[$0 + 2] < 100 }.count
        XCTAssertGreaterThan(dark, 500, "glyphs and axes drawn")
        XCTAssertTrue(try String(contentsOfFile: work + "/loss.svg", encoding: .utf8).contains("tick-x"))
    }

    func testLossLogReadsRowsFromBeforeAndAfterTheTermColumns() {
        let log = LossLog(csv: "iteration,loss,seconds,trained_modules\n1,0.5,0.100,conv1\n2,0.4,0.1,conv1,0.4,0.0,0.0,0.0\n3,0.")
        XCTAssertEqual(log.rows.map(\.iteration), [1, 2], "the torn last line is skipped")
        XCTAssertNil(log.rows[0].terms)
        XCTAssertEqual(log.rows[1].terms, [0.4, 0, 0, 0])
        // One term alone equals the total: drawn once, named for both.
        XCTAssertEqual(LossPlot.series(LossLog(csv: "h\n1,0.4,0.1,c,0.4,0,0,0\n2,0.3,0.1,c,0.3,0,0,0")).map(\.name), ["total = directional"])
    }

    func testTicksAreRoundNumbersCoveringTheRange() {
        let unit = LossPlot.ticks(0, 1, count: 5)
        XCTAssertEqual(unit.count, 6, "\(unit)")
        for (tick, expected) in zip(unit, [0, 0.2, 0.4, 0.6, 0.8, 1.0]) { XCTAssertEqual(tick, expected, accuracy: 1e-9) }
        XCTAssertEqual(LossPlot.ticks(1, 3, count: 8, minimumStep: 1), [1, 2, 3])
        XCTAssertEqual(LossPlot.label(0.5, step: 0.1), "0.5")
        XCTAssertEqual(LossPlot.label(300, step: 50), "300")
    }

    // MARK: a training run's files

    func trainingRun(iterations: Int, sampleEvery: Int, folder: String) throws -> TrainingRun {
        var o = TrainingOptions()
        o.iterations = iterations; o.batch = 1; o.autoLayerK = 2; o.autoLayerBatch = 2
        o.sampleEvery = sampleEvery; o.sampleCount = 2
        var setup = TrainingSetup(generatorPath: Self.fixture(DemoRun.Fixture.generator), clipPaths: [Self.fixture(DemoRun.Fixture.clip)],
                                  vocabularyPath: Self.fixture(DemoRun.Fixture.vocabulary), options: o)
        setup.vocabularyMergeCount = nil
        let inputs = TrainingRun.Inputs(generatorPath: setup.generatorPath, clipPaths: setup.clipPaths, domainName: "sketch", toolVersion: "test")
        return try TrainingRun(trainer: try setup.makeTrainer().trainer, inputs: inputs, outputDirectory: folder)
    }

    /// Every `src="…"` and `href="…"` of a page, percent-decoded (external links would show up here too).
    func references(_ html: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: "(?:src|href)=\"([^\"]*)\"")
        return regex.matches(in: html, range: NSRange(html.startIndex..., in: html)).map {
            let raw = String(html[Range($0.range(at: 1), in: html)!])
            return raw.removingPercentEncoding ?? raw
        }
    }

    func assertEveryReferenceExists(_ page: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let html = try String(contentsOfFile: page, encoding: .utf8)
        let folder = (page as NSString).deletingLastPathComponent
        let refs = references(html)
        XCTAssertFalse(refs.isEmpty, file: file, line: line)
        for ref in refs {
            XCTAssertFalse(ref.contains("://") || ref.hasPrefix("/"), "\(page): \(ref) is not a relative path next to the page", file: file, line: line)
            XCTAssertTrue(FileOps.isRegularFile((folder as NSString).appendingPathComponent(ref)), "\(page) references \(ref), which does not exist", file: file, line: line)
        }
        return refs
    }

    /// The grid of the last iteration exists whatever --sample-every is (it used to be written only on multiples).
    func testFinalSampleGridForAnyIterationCountAndTheReport() throws {
        for (iterations, every, expected) in [(3, 2, [0, 2, 3]), (3, 0, [0, 3]), (2, 1, [0, 1, 2])] {
            let folder = work + "/run-\(iterations)-\(every)"
            let run = try trainingRun(iterations: iterations, sampleEvery: every, folder: folder)
            XCTAssertEqual(try run.run(), .finished)
            XCTAssertEqual(TrainingReport.sampleGrids(in: folder).map(\.iteration), expected, "iterations \(iterations), --sample-every \(every)")

            // Labelled: a header strip above and a label column left of the two rows of 2 samples.
            let grid = try loadImage(path: folder + String(format: "/samples/iter_%06d.png", iterations))
            let (frozen, _) = try run.trainer.samples()
            XCTAssertEqual(grid.width, SampleGrid.labelWidth + 2 * frozen.shape[3])
            XCTAssertEqual(grid.height, SampleGrid.headerHeight + 2 * frozen.shape[2])
            var labelColumnInk = 0
            for y in 0..<grid.height {
                for x in 0..<SampleGrid.labelWidth where grid.pixels[(y * grid.width + x) * 3] < 128 { labelColumnInk += 1 }
            }
            XCTAssertGreaterThan(labelColumnInk, 20, "'base' and 'adapted' drawn in the label column")

            // report.html: every image and link it names exists; the filmstrip shows every grid; the facts are there.
            let refs = try assertEveryReferenceExists(run.reportPath)
            XCTAssertEqual(refs.filter { $0.hasPrefix("samples/") && $0.hasSuffix(".png") }.count, 2 * expected.count, "each grid: link + image")
            XCTAssertTrue(refs.contains("loss.png"))
            let html = try String(contentsOfFile: run.reportPath, encoding: .utf8)
            for fact in ["“photo” → “sketch”", "time per iteration", "wall time", "model_state.pt", "lambda_direction"] {
                XCTAssertTrue(html.contains(fact), "report.html lacks \(fact)")
            }
            let rows = try String(contentsOfFile: folder + "/losses.csv", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(rows.first.map(String.init), LossLog.header)
            XCTAssertEqual(LossLog(csv: rows.joined(separator: "\n")).rows.compactMap(\.terms).count, iterations, "each iteration's terms recorded")
        }
    }

    /// The recorded terms are λ·term and add up to the loss (here directional and global both on).
    func testIterationReportTermsAddUpToTheLoss() throws {
        var o = TrainingOptions()
        o.iterations = 1; o.batch = 1; o.autoLayerIters = 0; o.losses = .init(direction: 1, global: 0.5)
        var setup = TrainingSetup(generatorPath: Self.fixture(DemoRun.Fixture.generator), clipPaths: [Self.fixture(DemoRun.Fixture.clip)],
                                  vocabularyPath: Self.fixture(DemoRun.Fixture.vocabulary), options: o)
        setup.vocabularyMergeCount = nil
        let report = try setup.makeTrainer().trainer.step()
        XCTAssertNotEqual(report.terms.directional, 0)
        XCTAssertNotEqual(report.terms.global, 0)
        XCTAssertEqual(report.terms.patch, 0); XCTAssertEqual(report.terms.manifold, 0)
        XCTAssertEqual(report.terms.values.reduce(0, +), report.loss, accuracy: 1e-5 * max(1, abs(report.loss)))
    }

    /// `domains show NAME` finds the report copied into the store at install.
    func testInstalledDomainCarriesItsReport() throws {
        let folder = work + "/run"
        XCTAssertEqual(try trainingRun(iterations: 1, sampleEvery: 0, folder: folder).run(), .finished)
        let domain = try DomainRegistry(store: ModelStore(root: work + "/store")).install(recordFile: folder + "/record.json", name: "sketch")
        XCTAssertTrue(FileOps.isRegularFile(domain.reportPath), domain.reportPath)
        _ = try assertEveryReferenceExists(domain.reportPath)
    }

    // MARK: the batch index

    func testBatchIndexListsEveryFailedInputWithItsReason() throws {
        let photos = work + "/photos"
        try FileOps.createDirectory(photos)
        try FakeImages.write(FakeImages.png("good one"), to: photos + "/a.png")
        try FakeImages.write(FakeImages.png("BROKEN <b>"), to: photos + "/b&c.png")
        try FakeImages.write(FakeImages.jpeg("BROKEN too"), to: photos + "/d.jpg")
        try FakeImages.write(Data("plain text".utf8), to: photos + "/notes.png")
        let runner = BatchRunner(options: BatchOptions(outputDirectory: work + "/out", domains: ["sketch"]), processor: FakeProcessor())
        let summary = try runner.run(inputs: [photos])
        let page = try XCTUnwrap(summary.reportPath, "on by default for a folder of 2 photos or more")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertEqual(summary.failed.count, 3)
        for failure in summary.failed {
            XCTAssertTrue(html.contains(Markup.escape(failure.path)), "\(failure.path) not listed")
            XCTAssertTrue(html.contains(Markup.escape(FailureReport.reason(failure.reason, without: failure.path))), "reason of \(failure.path) not listed")
        }
        XCTAssertTrue(html.contains("b&amp;c.png") && !html.contains("b&c.png"), "names are escaped")
        XCTAssertTrue(html.contains("Failed (3)"))

        // --no-report: none written; a single photo: none by default.
        var off = BatchOptions(outputDirectory: work + "/off", domains: ["sketch"]); off.report = false
        XCTAssertNil(try BatchRunner(options: off, processor: FakeProcessor()).run(inputs: [photos]).reportPath)
        XCTAssertFalse(FileOps.exists(work + "/off/index.html"))
        XCTAssertNil(try BatchRunner(options: BatchOptions(outputDirectory: work + "/one", domains: ["sketch"]), processor: FakeProcessor()).run(inputs: [photos + "/a.png"]).reportPath)
    }

    func testWatcherRewritesTheIndexAfterEachPhoto() throws {
        let inbox = work + "/inbox", out = work + "/watched"
        try FileOps.createDirectory(inbox)
        try FakeImages.write(FakeImages.png("fine"), to: inbox + "/a.png")
        try FakeImages.write(FakeImages.png("BROKEN"), to: inbox + "/broken.png")
        var o = WatchOptions(inputDirectory: inbox, outputDirectory: out, domains: ["sketch"])
        o.settleInterval = 0.05; o.exitWhenIdle = true
        let summary = try Watcher(options: o, processor: FakeProcessor()).run()
        XCTAssertEqual(summary.failed.count, 1)
        let html = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        XCTAssertTrue(html.contains(Markup.escape(inbox + "/broken.png")) && html.contains("corrupt image data (fake decoder)"), html)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out).contains { $0.hasPrefix(FileOps.temporaryPrefix) }, "written atomically")

        // A later session (nothing new) still lists the earlier failure, from the reason file it left.
        try FakeImages.write(FakeImages.png("another"), to: inbox + "/c.png")
        _ = try Watcher(options: o, processor: FakeProcessor()).run()
        XCTAssertTrue(try String(contentsOfFile: out + "/index.html", encoding: .utf8).contains("corrupt image data (fake decoder)"))
    }

    // MARK: the demo's pages, and what a browser shows

    /// The demo (tiny real models: training, batch edit with --compare, a watched folder) once for the tests below.
    static var demo: (result: DemoRun.Result, folder: String)?
    func demoRun() throws -> DemoRun.Result {
        if let demo = Self.demo { return demo.result }
        let folder = try makeTemporaryDirectory("reports-demo")
        var options = DemoRun.Options(fixturesDirectory: Self.fixtures, outputDirectory: folder + "/demo")
        options.iterations = 3
        let result = try DemoRun(options: options).run()
        Self.demo = (result, folder)
        return result
    }

    override class func tearDown() {
        if let folder = demo?.folder { try? FileManager.default.removeItem(atPath: folder) }
        demo = nil
    }

    func testDemoIndexHasARowPerPhotoWithInputReconstructionAndEdit() throws {
        let r = try demoRun()
        for page in [try XCTUnwrap(r.batchReport), r.watchReport] {
            let refs = try assertEveryReferenceExists(page)
            let html = try String(contentsOfFile: page, encoding: .utf8)
            for photo in DemoRun.Fixture.photos.map({ ($0 as NSString).lastPathComponent }) {
                XCTAssertTrue(html.contains("<b>\(photo)</b>"), "\(page): no row for \(photo)")
            }
            XCTAssertEqual(refs.filter { $0.hasSuffix(".input.png") }.count, 2 * 3, "\(page): an input thumbnail per photo (image + link)")
            XCTAssertEqual(refs.filter { $0.hasSuffix(".reconstruction.png") }.count, 2 * 3, "\(page): a reconstruction per photo")
            XCTAssertEqual(refs.filter { $0.contains(".sketch.") && !$0.contains(".compare.") }.count, 2 * 3, "\(page): an edit per photo")
            XCTAssertTrue(html.contains("Generated by nada-edit"), "provenance summary shown")
            XCTAssertTrue(html.contains("Failed (0)"))
        }
        _ = try assertEveryReferenceExists(r.trainingReport)
    }

    /// Headless Chromium screenshots of report.html and index.html (tools/screenshot_report.sh): the page rendered
    /// at the asked size and is not blank. Set NADA_REPORT_SCREENSHOTS=DIR to keep the PNGs.
    func testChromiumScreenshotsOfTheReportsAreNotBlank() throws {
        let script = URL(fileURLWithPath: Self.fixtures).deletingLastPathComponent().appendingPathComponent("tools/screenshot_report.sh").path
        let which = Process()
        which.executableURL = URL(fileURLWithPath: "/bin/sh")
        which.arguments = ["-c", "command -v chromium || command -v chromium-browser"]
        which.standardOutput = FileHandle.nullDevice
        try which.run(); which.waitUntilExit()
        guard which.terminationStatus == 0 else {
            throw XCTSkip("chromium is not installed (Debian package `chromium`; CI does not install it, ~100+ MB): no screenshots taken")
        }
        let r = try demoRun()
        let keep = ProcessInfo.processInfo.environment["NADA_REPORT_SCREENSHOTS"]
        for (name, page) in [("report", r.trainingReport), ("index", try XCTUnwrap(r.batchReport))] {
            let shot = work + "/\(name).png"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [script, page, shot, "1000", "1400"]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, message)
            let image = try loadImage(path: shot)
            XCTAssertEqual([image.width, image.height], [1000, 1400], "\(name): screenshot size")
            // Not blank: a real share of non-white pixels, and many colours (text, plot, photos).
            var colours = Set<Int>(), ink = 0
            for i in stride(from: 0, to: image.pixels.count, by: 3) {
                let (r, g, b) = (Int(image.pixels[i]), Int(image.pixels[i + 1]), Int(image.pixels[i + 2]))
                if r + g + b < 600 { ink += 1 }
                colours.insert((r >> 3) << 10 | (g >> 3) << 5 | (b >> 3))
            }
            XCTAssertGreaterThan(Double(ink) / Double(image.width * image.height), 0.02, "\(name): almost all white")
            XCTAssertGreaterThan(colours.count, 200, "\(name): too few colours for text, plot and images")
            if let keep {
                try? FileOps.createDirectory(keep)
                try? FileManager.default.removeItem(atPath: keep + "/\(name).png")
                try FileManager.default.copyItem(atPath: shot, toPath: keep + "/\(name).png")
            }
        }
    }
}
