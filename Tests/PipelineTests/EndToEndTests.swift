import Engine
import Foundation
import Formats
import Imaging
import Models
@testable import Pipeline
import Training
import XCTest

/// The whole product on tiny models: train a domain from the encoder pack's bundled decoder with the tiny
/// CLIP, interrupt and resume (bit-exact against an uninterrupted run), register it, then edit a folder of
/// good and bad photos in batch mode and in watch mode. Needs the CLIP vocabulary from ../shared/reference.
final class EndToEndTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func fixture(_ p: String) -> String { root.appendingPathComponent("fixtures/\(p)").path }

    var work: String!

    override func setUpWithError() throws {
        work = NSTemporaryDirectory() + "nada-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

    func vocabulary() throws -> String {
        let p = Self.root.deletingLastPathComponent().appendingPathComponent("shared/reference/clip/bpe_simple_vocab_16e6.txt.gz").path
        guard FileManager.default.fileExists(atPath: p) else { throw XCTSkip("CLIP vocabulary absent at \(p) (../shared/reference not present)") }
        return p
    }

    /// The e4e checkpoint's decoder as a stand-alone generator checkpoint (what a user's FFHQ model would be).
    func baseGenerator() throws -> String {
        let file = try loadFile(Self.fixture("encoders/e4e.pt"))
        let decoder = Weights(try file.stateDict("state_dict"), source: file.path).scoped("decoder")
        let path = work + "/base.pt"
        try writeGeneratorCheckpoint(gEma: decoder.names.map { (name: $0, array: decoder.arrays[$0]!) }, to: path)
        return path
    }

    func trainer(base: String, vocab: String, iterations: Int) throws -> NADATrainer {
        var o = TrainingOptions()
        o.source = "photo"; o.target = "sketch"; o.iterations = iterations; o.batch = 2
        o.autoLayerK = 2; o.autoLayerIters = 1; o.autoLayerBatch = 2; o.sampleEvery = 2; o.sampleCount = 2
        let clip = CLIPLossModel(model: try ModelResolver.clip(at: Self.fixture("clip/model_state.pt")), tokenizer: try ModelResolver.tokenizer(at: vocab))
        return try NADATrainer(frozen: try ModelResolver.generator(at: base), trainable: try ModelResolver.generator(at: base),
                               clip: [clip], options: o)
    }

    func testTrainResumeRegisterAndEdit() throws {
        let vocab = try vocabulary()
        let base = try baseGenerator()
        let inputs = { (dir: String) in TrainingRun.Inputs(generatorPath: base, clipPaths: [Self.fixture("clip/model_state.pt")], domainName: "sketch", toolVersion: "test") }

        // Uninterrupted reference run.
        let straight = try TrainingRun(trainer: try trainer(base: base, vocab: vocab, iterations: 3), inputs: inputs("a"), outputDirectory: work + "/straight")
        XCTAssertEqual(try straight.run(), .finished)

        // Interrupted after one iteration, then resumed in a fresh trainer.
        let out = work + "/run"
        var calls = 0
        let first = try TrainingRun(trainer: try trainer(base: base, vocab: vocab, iterations: 3), inputs: inputs("b"), outputDirectory: out)
        XCTAssertEqual(try first.run(shouldStop: { calls += 1; return calls > 1 }), .interrupted)
        XCTAssertEqual(first.trainer.iteration, 1)
        // As if SIGKILLed at iteration 2 while writing the next checkpoint: a row past the checkpoint, a torn row
        // and a temporary of a dead process. The resume must redo iteration 2 once and clean up.
        try FileOps.append(Data("2,0.5,0.100,conv1\n3,0.".utf8), to: out + "/losses.csv")
        let stale = out + "/\(FileOps.temporaryPrefix)2147483646-x-checkpoint.pt"
        try FakeImages.write(Data("half a zip".utf8), to: stale)
        let second = try TrainingRun(trainer: try trainer(base: base, vocab: vocab, iterations: 3), inputs: inputs("b"), outputDirectory: out)
        XCTAssertFalse(FileOps.exists(stale), "a dead process's temporary is removed")
        try second.resume()
        XCTAssertEqual(try second.run(), .finished)
        for name in straight.trainer.trainable.parameterNames {
            XCTAssertEqual(second.trainer.trainable.parameters[name]!.array, straight.trainer.trainable.parameters[name]!.array, "\(name) after resume")
        }
        XCTAssertEqual(second.trainer.history, straight.trainer.history)
        for file in ["generator.pt", "record.json", "loss.png", "losses.csv", "samples/iter_000000.png", "samples/iter_000002.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(file)"), "missing \(file)")
        }
        let rows = try String(contentsOfFile: "\(out)/losses.csv").split(separator: "\n")
        XCTAssertEqual(rows.dropFirst().map { $0.split(separator: ",")[0] }, ["1", "2", "3"], "header + 3 iterations, none twice")
        // The result loads as a generator (the reference code's layout: {"g_ema": ...}).
        XCTAssertNoThrow(try ModelResolver.generator(at: "\(out)/generator.pt"))

        // Register the domain and the encoder in a store.
        let store = ModelStore(root: work + "/store")
        let domain = try DomainRegistry(store: store).install(recordFile: "\(out)/record.json", name: "sketch")
        XCTAssertEqual(domain.record.targetPrompt, "sketch")
        _ = try store.add(file: Self.fixture("encoders/e4e.pt"), kind: .encoders, name: "e4e")

        // A folder of photos: good PNG, good JPEG with EXIF orientation 6, corrupt JPEG, text named .png.
        let photos = work + "/photos"
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixture("encoders/input_face.png"), toPath: photos + "/face.png")
        let face = try loadImage(path: Self.fixture("encoders/input_face.png"))
        let wide = try RGBImage(width: 200, height: 120, pixels: Array(face.pixels.prefix(200 * 120 * 3)))
        try Data(orientedJPEG(wide, orientation: 6)).write(to: URL(fileURLWithPath: photos + "/rotated.jpg"))
        let jpeg = try encodeImage(wide, format: .jpeg(quality: 90))
        try Data(jpeg.prefix(jpeg.count / 3)).write(to: URL(fileURLWithPath: photos + "/truncated.jpg"))
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: photos + "/notes.png"))
        let before = try hashes(photos)

        var settings = DomainEditor.Settings()
        settings.toolVersion = "test"; settings.compare = true
        let editor = try DomainEditor(encoderPath: try store.resolve(name: "e4e")!, domains: [domain], settings: settings,
                                      aligner: try PhotoAligner(mode: .center, landmarkModel: nil))
        let runner = BatchRunner(options: BatchOptions(outputDirectory: work + "/edited", domains: ["sketch"]), processor: editor)
        let summary = try runner.run(inputs: [photos])
        XCTAssertEqual(Set(summary.processed.map { ($0 as NSString).lastPathComponent }), ["face.png", "rotated.jpg"])
        XCTAssertEqual(Set(summary.failed.map { ($0.path as NSString).lastPathComponent }), ["truncated.jpg", "notes.png"], "\(summary.failed)")
        XCTAssertEqual(summary.exitStatus, 1)

        let edited = try loadImage(path: work + "/edited/face.sketch.png")
        XCTAssertEqual(edited.width, 64, "the tiny generator renders 64 px")
        let record = try readProvenance(path: work + "/edited/rotated.sketch.jpg")
        XCTAssertEqual(record.provenance?.domain, "sketch")
        XCTAssertEqual(record.provenance?.inputSHA256, try FileDigest.sha256Hex(ofFileAt: photos + "/rotated.jpg"))
        XCTAssertEqual(record.provenance?.domainPrompts["target"], "sketch")
        XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/edited/face.sketch.compare.png"))

        // A second run reprocesses nothing; inputs never change.
        let again = try runner.run(inputs: [photos])
        XCTAssertTrue(again.processed.isEmpty)
        XCTAssertEqual(Set(again.skipped.map { ($0 as NSString).lastPathComponent }), ["face.png", "rotated.jpg"])
        XCTAssertEqual(try hashes(photos), before)

        // Watch mode over the same folder: good photos edited, bad ones recorded, then a restart does nothing.
        var watchOptions = WatchOptions(inputDirectory: photos, outputDirectory: work + "/watched", domains: ["sketch"])
        watchOptions.exitWhenIdle = true
        watchOptions.settleInterval = 0.05
        let watched = try Watcher(options: watchOptions, processor: editor).run()
        XCTAssertEqual(watched.processed.count, 2)
        XCTAssertEqual(watched.failed.count, 2)
        let restarted = try Watcher(options: watchOptions, processor: editor).run()
        XCTAssertTrue(restarted.processed.isEmpty, "restart must reprocess nothing: \(restarted.processed)")
        XCTAssertEqual(try hashes(photos), before)
        XCTAssertNotNil(try readProvenance(path: work + "/watched/face.sketch.png").provenance)
    }

    func hashes(_ folder: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            out[name] = try FileDigest.sha256Hex(ofFileAt: folder + "/" + name)
        }
        return out
    }

    /// A JPEG whose APP1 EXIF block says `orientation` (hand-built little-endian TIFF with one IFD0 entry).
    func orientedJPEG(_ image: RGBImage, orientation: UInt8) throws -> [UInt8] {
        let jpeg = try encodeImage(image, format: .jpeg(quality: 90))
        var exif: [UInt8] = Array("Exif".utf8) + [0, 0, 0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0, 1, 0]
        exif += [0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0, 0, 0, 0, 0]
        let length = exif.count + 2
        return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + exif + jpeg.dropFirst(2)
    }
}
