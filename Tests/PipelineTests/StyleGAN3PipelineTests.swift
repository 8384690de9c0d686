import ArgumentParser
import Engine
import Foundation
import Formats
import Imaging
import Models
@testable import NadaEditCLI
@testable import Pipeline
import Training
import XCTest

/// StyleGAN3 (NVlabs -T/-R pickles) through the commands that take a generator: `generate` against the packs'
/// reference images, and a NADA training run that saves its domain as base pickle + trained tensors, reloads
/// it bit-exactly, resumes after an interrupt, and refuses a missing or changed base.
final class StyleGAN3PipelineTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures").path
    static func pack(_ name: String, _ file: String) -> String { fixtures + "/nvlabs/\(name)/\(file)" }
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("sg3") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func run(_ arguments: [String]) throws {
        var command = try NadaEdit.parseAsRoot(arguments)
        try command.run()
    }

    func floats(_ path: String) throws -> (shape: [Int], values: [Float]) {
        let a = try readNpy(path)
        return (a.shape, a.floats())
    }

    /// The packs' bar: max|ours − ref| ≤ 2e-5·max(1, max|ref|).
    func assertMatches(_ ours: String, _ reference: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try floats(ours), b = try floats(reference)
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        let maxRef = max(1, b.values.map(abs).max() ?? 0)
        let diff = zip(a.values, b.values).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(diff, 2e-5 * maxRef, "\(ours) vs \(reference)", file: file, line: line)
    }

    // MARK: generate

    func testGenerateFromZWithTruncationMatchesNVlabs() throws {
        for pack in ["sg3t", "sg3r"] {
            let pkl = Self.pack(pack, "network-snapshot.pkl"), z = Self.pack(pack, "z.npy")
            // NVlabs: G(z, truncation_psi=0.7) = synthesis(w_avg.lerp(mapping(z), 0.7)), and psi 1.
            try run(["generate", "--generator", pkl, "--latents", z, "--space", "z", "--truncation", "0.7", "--output", dir + "/\(pack)07.npy"])
            try assertMatches(dir + "/\(pack)07.npy", Self.pack(pack, "image_trunc07.npy"))
            try run(["generate", "--generator", pkl, "--latents", z, "--space", "z", "--output", dir + "/\(pack).npy"])
            try assertMatches(dir + "/\(pack).npy", Self.pack(pack, "image.npy"))
            // W+ codes render as they are.
            try run(["generate", "--generator", pkl, "--latents", Self.pack(pack, "ws.npy"), "--output", dir + "/\(pack)ws.npy"])
            try assertMatches(dir + "/\(pack)ws.npy", Self.pack(pack, "image.npy"))
        }
    }

    func testGeneratePNGIsThePackImageIn8Bit() throws {
        let pkl = Self.pack("sg3t", "network-snapshot.pkl")
        try run(["generate", "--generator", pkl, "--latents", Self.pack("sg3t", "z.npy"), "--space", "z", "--truncation", "0.7",
                 "--output", dir + "/img.png"])
        let reference = try floats(Self.pack("sg3t", "image_trunc07.npy"))
        let side = 64, plane = side * side
        for i in 0..<2 {
            let image = try loadImage(path: dir + "/img_000\(i).png")
            XCTAssertEqual([image.width, image.height], [side, side])
            var worst = 0
            for c in 0..<3 {
                for p in 0..<plane {
                    // torchvision's save_image: clamp((x + 1) / 2 · 255 + 0.5, 0, 255), truncated.
                    let x = reference.values[(i * 3 + c) * plane + p]
                    let expected = Int(min(255, max(0, (x + 1) / 2 * 255 + 0.5)))
                    worst = max(worst, abs(Int(image.pixels[p * 3 + c]) - expected))
                }
            }
            // A value within 2e-5 of a rounding boundary may land on the other side of it.
            XCTAssertLessThanOrEqual(worst, 1, "image \(i)")
        }
    }

    func testGenerateSamplesZCodesAndRefusesLatentEdits() throws {
        let pkl = Self.pack("sg3r", "network-snapshot.pkl")
        try run(["generate", "--generator", pkl, "--count", "3", "--seed", "5", "--truncation", "0.5", "--output", dir + "/out.npy"])
        let out = try floats(dir + "/out.npy")
        XCTAssertEqual(out.shape, [3, 3, 64, 64])
        XCTAssertTrue(out.values.allSatisfy(\.isFinite))
        XCTAssertThrowsError(try run(["generate", "--generator", pkl, "--count", "1", "--edit", "sefa:0=3", "--output", dir + "/e.npy"])) {
            XCTAssertTrue("\($0)".contains("StyleGAN3-R generator") && "\($0)".contains("latent edits"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/e.npy"))
    }

    // MARK: train

    func setup(base: String, iterations: Int, trainable: String? = nil) -> TrainingSetup {
        var o = TrainingOptions()
        o.source = "photo"; o.target = "sketch"; o.iterations = iterations; o.batch = 2
        o.sampleEvery = 0; o.sampleCount = 2
        var s = TrainingSetup(generatorPath: base, trainableGeneratorPath: trainable, clipPaths: [Self.fixtures + "/clip/model_state.pt"],
                              vocabularyPath: Self.fixtures + "/demo/bpe_demo_vocab.txt.gz", options: o)
        s.vocabularyMergeCount = nil
        return s
    }

    func testTrainSavesReloadsAndResumesAStyleGAN3Domain() throws {
        let base = dir + "/sg3t.pkl"
        try FileManager.default.copyItem(atPath: Self.pack("sg3t", "network-snapshot.pkl"), toPath: base)
        let inputs = TrainingRun.Inputs(generatorPath: base, clipPaths: [Self.fixtures + "/clip/model_state.pt"], domainName: "sg3sketch", toolVersion: "test")

        let straight = try TrainingRun(trainer: try setup(base: base, iterations: 2).makeTrainer().trainer, inputs: inputs, outputDirectory: dir + "/straight")
        // train's default adaptive selection is off for StyleGAN3 (the official code has none), and recorded so.
        XCTAssertEqual(straight.trainer.options.autoLayerIters, 0)
        XCTAssertEqual(try straight.run(), .finished)

        // Interrupted after one iteration, resumed by a fresh trainer: bit-identical to the straight run.
        var calls = 0
        let first = try TrainingRun(trainer: try setup(base: base, iterations: 2).makeTrainer().trainer, inputs: inputs, outputDirectory: dir + "/run")
        XCTAssertEqual(try first.run(shouldStop: { calls += 1; return calls > 1 }), .interrupted)
        XCTAssertEqual(first.trainer.iteration, 1)
        let second = try TrainingRun(trainer: try setup(base: base, iterations: 2).makeTrainer().trainer, inputs: inputs, outputDirectory: dir + "/run")
        try second.resume()
        XCTAssertEqual(second.trainer.iteration, 1)
        XCTAssertEqual(try second.run(), .finished)
        XCTAssertEqual(second.trainer.history, straight.trainer.history)
        for name in straight.trainer.trainable.parameterNames {
            XCTAssertEqual(second.trainer.trainable.parameters[name]!.array, straight.trainer.trainable.parameters[name]!.array, "\(name) after resume")
        }

        // generator.pt: base path + SHA-256 and the trained tensors only; it reloads bit-exactly.
        let generator = dir + "/run/generator.pt"
        let file = try loadFile(generator)
        XCTAssertEqual(file.topLevelKeys, [StyleGAN3DomainFile.baseKey, StyleGAN3DomainFile.trainedKey])
        XCTAssertEqual(file.root[StyleGAN3DomainFile.baseKey]?["sha256"]?.string, try FileDigest.sha256Hex(ofFileAt: base))
        XCTAssertEqual(Set(try file.stateDict(StyleGAN3DomainFile.trainedKey).map(\.name)), Set(second.trainer.savedParameterNames))
        let reloaded = try XCTUnwrap(try ModelResolver.anyGenerator(at: generator) as? StyleGAN3Generator)
        for name in second.trainer.trainable.parameterNames {
            XCTAssertEqual(reloaded.parameters[name]!.array, second.trainer.trainable.parameters[name]!.array, "\(name) reloaded")
        }
        let record = try DomainRecord.load(from: dir + "/run/record.json")
        XCTAssertEqual(record.baseGenerator.path, URL(fileURLWithPath: base).standardizedFileURL.path)
        XCTAssertEqual(record.hyperparameters?["generator_family"], "StyleGAN3-T")

        // The domain renders with generate, and differs from the base (training moved it).
        try run(["generate", "--generator", generator, "--latents", Self.pack("sg3t", "z.npy"), "--space", "z", "--output", dir + "/adapted.npy"])
        let adapted = try floats(dir + "/adapted.npy").values, original = try floats(Self.pack("sg3t", "image.npy")).values
        XCTAssertGreaterThan(zip(adapted, original).map { abs($0 - $1) }.max() ?? 0, 1e-3)

        // StyleGAN2-only callers refuse it by name.
        XCTAssertThrowsError(try ModelResolver.generator(at: generator)) {
            XCTAssertTrue("\($0)".contains(generator) && "\($0)".contains("StyleGAN3"), "\($0)")
        }

        // A changed base, then a missing one: refused with the path and the fix.
        let saved = try Data(contentsOf: URL(fileURLWithPath: base))
        var changed = saved
        changed[changed.count - 1] ^= 1
        try FileManager.default.removeItem(atPath: base)
        try changed.write(to: URL(fileURLWithPath: base))
        XCTAssertThrowsError(try ModelResolver.anyGenerator(at: generator)) {
            XCTAssertTrue("\($0)".contains(generator) && "\($0)".contains("has changed") && "\($0)".contains("put the original"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: base)
        XCTAssertThrowsError(try ModelResolver.anyGenerator(at: generator)) {
            XCTAssertTrue("\($0)".contains(generator) && "\($0)".contains("missing") && "\($0)".contains(base), "\($0)")
        }
    }

    func testTrainRefusesLayerSelectionOptionsForStyleGAN3() throws {
        var s = setup(base: Self.pack("sg3t", "network-snapshot.pkl"), iterations: 1)
        s.options.autoLayerK = 3
        XCTAssertThrowsError(try s.makeTrainer()) {
            XCTAssertTrue("\($0)".contains("StyleGAN3-T generator") && "\($0)".contains("--auto-layer-k 3") && "\($0)".contains("fixed layer set"), "\($0)")
        }
        s = setup(base: Self.pack("sg3t", "network-snapshot.pkl"), iterations: 1)
        s.options.mixing = 0.9
        XCTAssertThrowsError(try s.makeTrainer()) { XCTAssertTrue("\($0)".contains("--mixing"), "\($0)") }
        // A StyleGAN2 trainable copy for a StyleGAN3 base.
        s = setup(base: Self.pack("sg3t", "network-snapshot.pkl"), iterations: 1, trainable: Self.pack("ada", "network-snapshot.pkl"))
        XCTAssertThrowsError(try s.makeTrainer()) { XCTAssertTrue("\($0)".contains("different kinds of generator"), "\($0)") }
    }

    // MARK: video, and the photo commands

    func testVideoRendersAStyleGAN3DomainFromASeedAndPhotoCommandsRefuseIt() throws {
        let base = dir + "/sg3t.pkl"
        try FileManager.default.copyItem(atPath: Self.pack("sg3t", "network-snapshot.pkl"), toPath: base)
        let inputs = TrainingRun.Inputs(generatorPath: base, clipPaths: [Self.fixtures + "/clip/model_state.pt"], domainName: "sg3sketch", toolVersion: "test")
        let training = try TrainingRun(trainer: try setup(base: base, iterations: 2).makeTrainer().trainer, inputs: inputs, outputDirectory: dir + "/run")
        XCTAssertEqual(try training.run(), .finished)
        let store = ModelStore(root: dir + "/store")
        let domain = try DomainRegistry(store: store).install(recordFile: dir + "/run/record.json", name: "sg3sketch")

        // photo → sg3sketch from a seed: the first frame is the base's render of that seed, the last the domain's,
        // each exactly what `generate --count 1 --seed 7` writes.
        var settings = TransitionVideoSettings()
        settings.frames = 3
        settings.toolVersion = "test"
        let video = try TransitionVideo(path: try DomainPath.parse(["sg3sketch"]), registry: DomainRegistry(store: store), edits: [],
                                        editResolver: LatentEditResolver(store: store), encoderPath: nil, aligner: nil, settings: settings)
        XCTAssertEqual(try video.write(from: .seed(7), to: dir + "/frames", overwrite: false), 3)
        try run(["generate", "--generator", base, "--count", "1", "--seed", "7", "--output", dir + "/base.png"])
        try run(["generate", "--generator", domain.generatorPath, "--count", "1", "--seed", "7", "--output", dir + "/domain.png"])
        let first = try loadImage(path: dir + "/frames/frame-1.png"), last = try loadImage(path: dir + "/frames/frame-3.png")
        XCTAssertEqual(first.pixels, try loadImage(path: dir + "/base.png").pixels, "t = 0 is the base generator")
        XCTAssertEqual(last.pixels, try loadImage(path: dir + "/domain.png").pixels, "t = 1 is the domain")
        XCTAssertNotEqual(first.pixels, last.pixels)
        // A photo cannot start a StyleGAN3 video.
        XCTAssertThrowsError(try TransitionVideo(path: try DomainPath.parse(["sg3sketch"]), registry: DomainRegistry(store: store), edits: [],
                                                 editResolver: LatentEditResolver(store: store), encoderPath: Self.fixtures + "/encoders/e4e.pt",
                                                 aligner: try PhotoAligner(mode: .center, landmarkModel: nil), settings: settings)) {
            XCTAssertTrue("\($0)".contains(base) && "\($0)".contains("--seed"), "\($0)")
        }

        // edit / watch (both DomainEditor) and invert refuse StyleGAN3 by file, saying why.
        let why = "none inverts into StyleGAN3's W space"
        XCTAssertThrowsError(try DomainEditor(encoderPath: Self.fixtures + "/encoders/e4e.pt", domains: [domain], settings: .init(),
                                              aligner: try PhotoAligner(mode: .center, landmarkModel: nil))) {
            XCTAssertTrue("\($0)".contains(domain.generatorPath) && "\($0)".contains("sg3sketch") && "\($0)".contains(why), "\($0)")
        }
        let photo = Self.fixtures + "/encoders/input_face.png"
        XCTAssertThrowsError(try run(["--domain", "sg3sketch", "--models", store.root, "--encoder", Self.fixtures + "/encoders/e4e.pt",
                                      "--align", "center", "--output", dir + "/edited", photo])) {
            XCTAssertTrue("\($0)".contains(domain.generatorPath) && "\($0)".contains(why), "\($0)")
        }
        XCTAssertThrowsError(try run(["invert", "--encoder", Self.fixtures + "/encoders/e4e.pt", "--generator", base, "--align", "center",
                                      "--output", dir + "/codes.npy", photo])) {
            XCTAssertTrue("\($0)".contains(base) && "\($0)".contains(why), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/codes.npy"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/edited/input_face.sg3sketch.png"))
    }
}
