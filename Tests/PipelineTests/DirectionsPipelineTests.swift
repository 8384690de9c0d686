import ArgumentParser
import Engine
import Foundation
import Formats
import Imaging
import Models
@testable import NadaEditCLI
@testable import Pipeline
import XCTest

/// `--edit` and `--domain NAME=W` (issue 15): parsing, direction files, store resolution, and the editor on the
/// tiny e4e encoder's decoder with two small "domains" made from it.
final class DirectionsPipelineTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func fixture(_ p: String) -> String { root.appendingPathComponent("fixtures/\(p)").path }

    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("directions") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    // MARK: --edit syntax

    func testEditSpecsParse() throws {
        let age = try EditSpec.parse("age=3")
        XCTAssertEqual(age.direction, .named("age")); XCTAssertEqual(age.amount, 3); XCTAssertNil(age.rows)
        let sefa = try EditSpec.parse("sefa:2=-5.5@0:8")
        XCTAssertEqual(sefa.direction, .sefa(2)); XCTAssertEqual(sefa.amount, -5.5); XCTAssertEqual(sefa.rows, LatentRows(start: 0, end: 8))
        let preset = try EditSpec.parse("ganspace:Smile")
        XCTAssertEqual(preset.direction, .ganspacePreset("smile")); XCTAssertNil(preset.amount)
        let component = try EditSpec.parse("ganspace:3=2@-4:")
        XCTAssertEqual(component.direction, .ganspaceComponent(3)); XCTAssertEqual(component.rows, LatentRows(start: -4, end: nil))
        // A path may hold '=' and '@'; only the last ones separate amount and rows.
        let path = try EditSpec.parse("dirs/a=b@c.npy=1e-1@:5")
        XCTAssertEqual(path.direction, .named("dirs/a=b@c.npy")); XCTAssertEqual(path.amount, 0.1); XCTAssertEqual(path.rows, LatentRows(start: nil, end: 5))
        XCTAssertEqual(LatentRows(start: -4, end: nil).resolved(count: 18), 14..<18)
        XCTAssertEqual(LatentRows(start: nil, end: 100).resolved(count: 18), 0..<18)
    }

    func testBadEditSpecsNameTheSpecAndTheProblem() {
        for (spec, problem) in [("age", "no amount"), ("=3", "no direction"), ("age=abc", "'abc' is not a finite number"),
                                ("age=nan", "not a finite number"), ("sefa:x=1", "component number"), ("sefa:-1=1", "component number"),
                                ("ganspace:frown", "unknown GANSpace edit 'frown'"), ("age=1@3", "must be START:END"),
                                ("age=1@a:2", "'a' in '@a:2' is not a whole number"), ("ganspace:2", "no amount")] {
            XCTAssertThrowsError(try EditSpec.parse(spec), spec) {
                XCTAssertTrue("\($0)".contains("--edit '\(spec)'") && "\($0)".contains(problem), "\(spec): \($0)")
            }
        }
    }

    // MARK: --domain NAME=W

    func testDomainSelectionAndBlendNames() throws {
        XCTAssertEqual(try DomainSelection.parse(["sketch", "pixar"]), .separate(["sketch", "pixar"]))
        let blend = try DomainSelection.parse(["sketch=0.6", "pixar=0.4"])
        XCTAssertEqual(blend.outputNames, ["sketch60_pixar40"])
        XCTAssertEqual(try DomainSelection.parse(["a=0.333", "b=0.125", "c=0.5"]).outputNames, ["a33.3_b12.5_c50"])
        XCTAssertEqual(try DomainSelection.parse(["a=0.7", "b=0.2", "c=0.1"]).outputNames, ["a70_b20_c10"], "decimal rounding of a sum of 1")
        for (values, problem) in [(["a=0.6", "b=0.6"], "sum to"), (["a=0.5", "b"], "needs a weight"), (["a=0"], "in (0, 1]"),
                                  (["a=1.5"], "in (0, 1]"), (["a=0.2", "a=0.3"], "given twice"), (["=0.5"], "no domain name")] {
            XCTAssertThrowsError(try DomainSelection.parse(values), "\(values)") { XCTAssertTrue("\($0)".contains(problem), "\(values): \($0)") }
        }
    }

    // MARK: direction files

    func testDirectionFilesOfEveryAcceptedShape() throws {
        func load(_ shape: [Int], _ name: String) throws -> DirectionFile {
            let count = shape.reduce(1, *)
            let path = dir + "/" + name
            let array = ArrayData(shape: shape, floats: (0..<count).map { Float($0) })
            if name.hasSuffix(".npy") { try writeNpy(array, to: path) } else { try writeTorchCheckpoint(.tensor(array), to: path) }
            return try DirectionFile.load(path)
        }
        for (shape, rows) in [([12], 1), ([1, 12], 1), ([10, 12], 10), ([1, 10, 12], 10)] {
            for ext in ["npy", "pt"] {
                guard case .direction(let d) = try load(shape, "d\(shape.count)-\(shape[0]).\(ext)") else { return XCTFail("\(shape)") }
                XCTAssertEqual(d.rowCount, rows, "\(shape) \(ext)"); XCTAssertEqual(d.styleDim, 12)
                XCTAssertEqual(d.values[5], 5)
            }
        }
        XCTAssertThrowsError(try load([2, 3, 12], "bad.npy")) { XCTAssertTrue("\($0)".contains("expected [D], [1, D], [N, D] or [1, N, D]"), "\($0)") }
        XCTAssertThrowsError(try DirectionFile.load(dir + "/missing.npy")) { XCTAssertTrue("\($0)".contains("missing.npy: direction file not found"), "\($0)") }
        // e4e's ffhq_pca.pt layout: comp [K, 1, D], std [K], mean [1, D].
        let pcaPath = dir + "/pca.pt"
        try writePCA(to: pcaPath, k: 4, d: 12)
        guard case .pca(let pca) = try DirectionFile.load(pcaPath) else { return XCTFail("not read as a PCA") }
        XCTAssertEqual(pca.count, 4); XCTAssertEqual(pca.styleDim, 12)
        XCTAssertEqual(pca.components[12 + 3], Float(12 + 3) / 100)
        // Two loose tensors are neither a direction nor a PCA.
        try writeTorchCheckpoint(PyValue.orderedDict([("a", .tensor(ArrayData(shape: [12], floats: Array(repeating: 1, count: 12)))),
                                                         ("b", .tensor(ArrayData(shape: [12], floats: Array(repeating: 1, count: 12))))]), to: dir + "/two.pt")
        XCTAssertThrowsError(try DirectionFile.load(dir + "/two.pt")) { XCTAssertTrue("\($0)".contains("holds 2 tensors"), "\($0)") }
    }

    func writePCA(to path: String, k: Int, d: Int) throws {
        let comp = ArrayData(shape: [k, 1, d], floats: (0..<(k * d)).map { Float($0) / 100 })
        let std = ArrayData(shape: [k], floats: (0..<k).map { Float($0 + 1) })
        let mean = ArrayData(shape: [1, d], floats: Array(repeating: 0.5, count: d))
        try writeTorchCheckpoint(.dict([(key: .string("mean"), value: .tensor(mean)), (key: .string("comp"), value: .tensor(comp)),
                                        (key: .string("std"), value: .tensor(std))]), to: path)
    }

    // MARK: resolution through the store

    func testResolverFindsStoreDirectionsPCAAndCachesSeFa() throws {
        let store = ModelStore(root: dir + "/store")
        let vector = dir + "/age.npy"
        try writeNpy(ArrayData(shape: [1, 64], floats: (0..<64).map { Float($0) / 64 }), to: vector)
        try store.add(file: vector, kind: .directions, name: "age")
        try writePCA(to: dir + "/ffhq_pca.pt", k: 8, d: 64)
        try store.add(file: dir + "/ffhq_pca.pt", kind: .directions, name: "ganspace")
        try store.add(file: Self.fixture("encoders/e4e.pt"), kind: .encoders, name: "e4e")
        XCTAssertEqual(try store.list().entries.filter { $0.kind == .directions }.map(\.name).sorted(), ["age", "ganspace"])

        let generator = Self.fixture("stylegan2/generator.pt")
        let resolver = LatentEditResolver(store: store)
        let specs = try ["age=2@1:3", "ganspace:5=1.5", "sefa:3=-2"].map(EditSpec.parse)
        let edits = try resolver.resolve(specs, nLatent: 10, styleDim: 64, sefaGenerator: generator)
        XCTAssertTrue(edits[0].record.contains("sha256 \(try FileDigest.sha256Hex(ofFileAt: vector))") && edits[0].record.contains("rows 1:3"), edits[0].record)
        XCTAssertTrue(edits[1].record.contains("ganspace:5") && edits[1].record.contains("rows 0:10"), edits[1].record)
        let generatorSHA = try FileDigest.sha256Hex(ofFileAt: generator)
        XCTAssertTrue(edits[2].record.contains("sefa:3 of generator sha256 \(generatorSHA)"), edits[2].record)
        guard case .shift(let sefaDirection, _, _) = edits[2].edit else { return XCTFail("SeFa is a shift") }
        let reference = try readNpy(Self.fixture("directions/sefa_components.npy")).floats()
        for j in 0..<64 { XCTAssertEqual(sefaDirection.values[j], reference[3 * 64 + j], accuracy: 1e-5) }

        // Cached in the store: a new resolver reads the cache (proved by planting a recognisable array there).
        let cache = store.path("cache/sefa/\(generatorSHA).npy")
        XCTAssertTrue(FileOps.isRegularFile(cache))
        try writeNpy(ArrayData(shape: [64, 64], floats: Array(repeating: 0.25, count: 64 * 64)), to: cache)
        let cached = try LatentEditResolver(store: store).resolve([try EditSpec.parse("sefa:3=1")], nLatent: 10, styleDim: 64, sefaGenerator: generator)
        guard case .shift(let planted, _, _) = cached[0].edit else { return XCTFail() }
        XCTAssertEqual(planted.values[0], 0.25)

        // Errors name the spec: unknown name, wrong kind, preset component beyond the PCA, bad rows, wrong width.
        for (spec, problem) in [("nope=1", "'nope' is no file"), ("e4e=1", "is encoders, not a direction"),
                                ("ganspace:smile", "component 46 is outside 0..<8"), ("age=1@8:2", "select none"),
                                ("ganspace=1", "is a GANSpace PCA"), ("sefa:64=1", "64 SeFa components")] {
            XCTAssertThrowsError(try resolver.resolve([try EditSpec.parse(spec)], nLatent: 10, styleDim: 64, sefaGenerator: generator), spec) {
                XCTAssertTrue("\($0)".contains("--edit '\(spec)'") && "\($0)".contains(problem), "\(spec): \($0)")
            }
        }
        XCTAssertThrowsError(try resolver.resolve([try EditSpec.parse("age=1")], nLatent: 18, styleDim: 512, sefaGenerator: nil)) {
            XCTAssertTrue("\($0)".contains("64 values per row"), "\($0)")
        }
    }

    // MARK: the editor

    /// A store with the tiny e4e encoder, its decoder as the base generator, domains `sketch` and `pixar` adapted
    /// (here: nudged at random) from it and `other` from a different base.
    func makeStore() throws -> (store: ModelStore, base: StyleGAN2Generator, domains: [String: StyleGAN2Generator]) {
        let store = ModelStore(root: dir + "/store")
        try store.add(file: Self.fixture("encoders/e4e.pt"), kind: .encoders, name: "e4e")
        let file = try loadFile(Self.fixture("encoders/e4e.pt"))
        let decoder = Weights(try file.stateDict("state_dict"), source: file.path).scoped("decoder")
        let basePath = dir + "/base.pt"
        try writeGeneratorCheckpoint(gEma: decoder.names.map { (name: $0, array: decoder.arrays[$0]!) }, to: basePath)
        let base = try ModelResolver.generator(at: basePath)
        let otherBasePath = dir + "/other-base.pt"
        try save(try base.interpolated(toward: StyleGAN2Generator(config: base.config, seed: 99), alpha: 0.05), to: otherBasePath)

        var domains: [String: StyleGAN2Generator] = [:]
        for (name, seed, basePath) in [("sketch", UInt64(1), basePath), ("pixar", 2, basePath), ("other", 3, otherBasePath)] {
            let adapted = try base.interpolated(toward: StyleGAN2Generator(config: base.config, seed: seed), alpha: 0.1)
            try FileOps.createDirectory(dir + "/\(name)")
            try save(adapted, to: dir + "/\(name)/generator.pt")
            let record = DomainRecord(name: name, sourcePrompt: "photo", targetPrompt: name,
                                      generator: .init(path: "generator.pt", sha256: try FileDigest.sha256Hex(ofFileAt: dir + "/\(name)/generator.pt")),
                                      baseGenerator: .init(path: basePath, sha256: try FileDigest.sha256Hex(ofFileAt: basePath)),
                                      clipModels: ["tiny"], iterations: 1, finalLoss: 0, wallTimeSeconds: 0, toolVersion: "test",
                                      created: "2026-12-05T00:00:00Z")
            try record.write(to: dir + "/\(name)/record.json")
            try DomainRegistry(store: store).install(recordFile: dir + "/\(name)/record.json")
            domains[name] = adapted
        }
        return (store, base, domains)
    }

    func save(_ g: StyleGAN2Generator, to path: String) throws {
        try writeGeneratorCheckpoint(gEma: g.stateDict().map { (name: $0.0, array: $0.1) }, to: path)
    }

    func photos() throws -> String {
        let folder = dir + "/photos"
        try FileOps.createDirectory(folder)
        try FileManager.default.copyItem(atPath: Self.fixture("encoders/input_face.png"), toPath: folder + "/face.png")
        return folder
    }

    /// The e4e codes of the test photo as the editor computes them (centre alignment).
    func invertedCodes() throws -> Tensor {
        let inverter = try Inverter(encoder: try EncoderCheckpoint(file: try loadFile(Self.fixture("encoders/e4e.pt"))))
        let photo = try loadImage(path: Self.fixture("encoders/input_face.png"))
        let aligned = try PhotoAligner(mode: .center, landmarkModel: nil).alignFaces(photo)[0].image
        return try inverter.invert(try ImageTensors.encoderInput(aligned), iterations: 5).codes
    }

    func testEditedRenderEqualsTheGeneratorOnNumericallyEditedCodes() throws {
        let (store, _, domains) = try makeStore()
        let direction = (0..<12).map { Float($0 % 5) - 2 }
        try writeNpy(ArrayData(shape: [12], floats: direction), to: dir + "/dir.npy")
        try store.add(file: dir + "/dir.npy", kind: .directions, name: "tilt")
        var settings = DomainEditor.Settings(); settings.toolVersion = "test"
        let registry = DomainRegistry(store: store)
        let editor = try DomainEditor(encoderPath: try store.resolve(name: "e4e")!, domains: [try registry.resolve("sketch")],
                                      edits: [try EditSpec.parse("tilt=1.5@1:4")], editResolver: LatentEditResolver(store: store),
                                      settings: settings, aligner: try PhotoAligner(mode: .center, landmarkModel: nil))
        let summary = try BatchRunner(options: BatchOptions(outputDirectory: dir + "/out", domains: ["sketch"]), processor: editor).run(inputs: [try photos()])
        XCTAssertEqual(summary.processed.count, 1, "\(summary.failed)")

        // By hand: codes + 1.5·direction on rows 1, 2, 3, rendered by the adapted generator.
        let codes = try invertedCodes()
        let n = codes.shape[1], d = codes.shape[2]
        for row in 1..<4 { for j in 0..<d { codes.pointer[row * d + j] += 1.5 * direction[j] } }
        XCTAssertEqual(n, 10)
        let expected = try ImageTensors.image(from: try Autograd.noGrad { try domains["sketch"]!.forward(wPlus: codes, noise: .stored) })
        let written = try loadImage(path: dir + "/out/face.sketch.png")
        XCTAssertEqual(written.pixels, expected.pixels, "the edited output is the adapted generator's render of the edited codes")
        let unedited = try ImageTensors.image(from: try Autograd.noGrad { try domains["sketch"]!.forward(wPlus: try invertedCodes(), noise: .stored) })
        XCTAssertNotEqual(written.pixels, unedited.pixels, "the edit changed the image")

        let provenance = try XCTUnwrap(try readProvenance(path: dir + "/out/face.sketch.png").provenance)
        let record = try XCTUnwrap(provenance.extra["edit.1"])
        XCTAssertTrue(record.contains("tilt (sha256 \(try FileDigest.sha256Hex(ofFileAt: dir + "/dir.npy")))") && record.contains("amount 1.5, rows 1:4"), record)
    }

    func testBlendAtHalfEqualsTheAveragedStateDictAndOtherBasesAreRefused() throws {
        let (store, base, domains) = try makeStore()
        let registry = DomainRegistry(store: store)
        let blend = try DomainBlend.parse(["sketch=0.5", "pixar=0.5"])
        var settings = DomainEditor.Settings(); settings.toolVersion = "test"
        let editor = try DomainEditor(encoderPath: try store.resolve(name: "e4e")!, domains: [],
                                      blend: (blend.outputName, try blend.resolve(in: registry)),
                                      settings: settings, aligner: try PhotoAligner(mode: .center, landmarkModel: nil))
        let blended = try XCTUnwrap(editor.targets["sketch50_pixar50"]).generator
        let a = domains["sketch"]!, b = domains["pixar"]!
        for name in a.parameterNames {
            let pa = a.parameters[name]!.pointer, pb = b.parameters[name]!.pointer, po = blended.parameters[name]!.pointer
            let p0 = base.parameters[name]!.pointer
            for i in 0..<a.parameters[name]!.count {
                XCTAssertEqual(po[i], (pa[i] + pb[i]) / 2, accuracy: 1e-6 * max(1, abs(pa[i]), abs(pb[i]), abs(p0[i])), name)
            }
        }

        // Rendered output: named after the blend, the same picture as a domain holding the averaged state dict.
        let summary = try BatchRunner(options: BatchOptions(outputDirectory: dir + "/out", domains: [blend.outputName]), processor: editor).run(inputs: [try photos()])
        XCTAssertEqual(summary.processed.count, 1, "\(summary.failed)")
        let averaged = a.copy()
        for name in a.parameterNames {
            try averaged.setParameter(name, Tensor(shape: a.parameters[name]!.shape,
                                                   values: zip(a.parameters[name]!.array, b.parameters[name]!.array).map { ($0 + $1) / 2 }))
        }
        let expected = try ImageTensors.image(from: try Autograd.noGrad { try averaged.forward(wPlus: try invertedCodes(), noise: .stored) })
        let written = try loadImage(path: dir + "/out/face.sketch50_pixar50.png")
        let worst = zip(written.pixels, expected.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1, "8-bit pixels may differ by one level from float rounding of the two formulas")
        let provenance = try XCTUnwrap(try readProvenance(path: dir + "/out/face.sketch50_pixar50.png").provenance)
        XCTAssertEqual(provenance.domain, "sketch50_pixar50")
        let blendRecord = try XCTUnwrap(provenance.extra["blend"])
        XCTAssertTrue(blendRecord.contains("sketch=0.5") && blendRecord.contains("pixar=0.5"), blendRecord)
        XCTAssertEqual(provenance.modelSHA256["generator pixar"], try registry.resolve("pixar").record.generator.sha256)

        // A domain adapted from another base generator cannot join.
        XCTAssertThrowsError(try DomainBlend.parse(["sketch=0.5", "other=0.5"]).resolve(in: registry)) {
            XCTAssertTrue("\($0)".contains("different base generators"), "\($0)")
        }
        // --strength says nothing about a blend.
        settings.strength = 0.5
        XCTAssertThrowsError(try DomainEditor(encoderPath: try store.resolve(name: "e4e")!, domains: [],
                                              blend: (blend.outputName, try blend.resolve(in: registry)),
                                              settings: settings, aligner: try PhotoAligner(mode: .center, landmarkModel: nil))) {
            XCTAssertTrue("\($0)".contains("--strength does not apply to a blend"), "\($0)")
        }
    }

    // MARK: command line

    func testCommandLineChecksEditsAndBlendsBeforeWork() throws {
        XCTAssertThrowsError(try Edit.parseAsRoot(["--domain", "a=0.7", "--domain", "b=0.7", "photo.jpg"])) {
            XCTAssertTrue(Edit.message(for: $0).contains("sum to"), Edit.message(for: $0))
        }
        XCTAssertThrowsError(try Edit.parseAsRoot(["--domain", "a", "--edit", "age", "photo.jpg"])) {
            XCTAssertTrue(Edit.message(for: $0).contains("--edit 'age': no amount"), Edit.message(for: $0))
        }
        XCTAssertThrowsError(try Watch.parseAsRoot(["in", "--domain", "a=0.5", "--domain", "b"])) {
            XCTAssertTrue(Watch.message(for: $0).contains("needs a weight"), Watch.message(for: $0))
        }
        XCTAssertNoThrow(try Edit.parseAsRoot(["--domain", "a=0.6", "--domain", "b=0.4", "--edit", "sefa:1=2@:4", "photo.jpg"]))

        // generate --edit equals generate on codes edited by numpy (tools/make_direction_fixtures.py).
        let generator = Self.fixture("stylegan2/generator.pt")
        var edited = try Generate.parseAsRoot(["--generator", generator, "--latents", Self.fixture("stylegan2/wplus.npy"),
                                               "--edit", Self.fixture("directions/interfacegan_direction.npy") + "=-3@2:5",
                                               "--models", dir + "/store", "--output", dir + "/edited.npy"])
        try edited.run()
        var reference = try Generate.parseAsRoot(["--generator", generator, "--latents", Self.fixture("directions/interfacegan_rows2-5_-3.npy"),
                                                  "--output", dir + "/reference.npy"])
        try reference.run()
        let x = try readNpy(dir + "/edited.npy").floats(), y = try readNpy(dir + "/reference.npy").floats()
        XCTAssertEqual(x.count, 3 * 3 * 64 * 64)
        let worst = zip(x, y).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst, 1e-4, "images of the same codes (up to float64→float32 rounding of the reference codes)")
        var plain = try Generate.parseAsRoot(["--generator", generator, "--latents", Self.fixture("stylegan2/wplus.npy"), "--output", dir + "/plain.npy"])
        try plain.run()
        XCTAssertGreaterThan(zip(x, try readNpy(dir + "/plain.npy").floats()).map { abs($0 - $1) }.max() ?? 0, 1e-2, "the edit changed the images")

        // directions factorize writes rosinality's components with the sign rule.
        var factorize = try Directions.parseAsRoot(["factorize", "--generator", generator, "--output", dir + "/sefa.npy", "--count", "6"])
        try factorize.run()
        let ours = try readNpy(dir + "/sefa.npy"), ref = try readNpy(Self.fixture("directions/sefa_components.npy")).floats()
        XCTAssertEqual(ours.shape, [6, 64])
        for (i, v) in ours.floats().enumerated() { XCTAssertEqual(v, ref[i], accuracy: 1e-5) }
    }
}
