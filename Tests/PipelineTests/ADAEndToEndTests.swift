import ArgumentParser
import Foundation
import Imaging
import Models
@testable import NadaEditCLI
@testable import Pipeline
import Training
import XCTest

/// "dog → cat" from an NVlabs StyleGAN2-ADA pickle, end to end on tiny models: train a domain from the `.pkl` itself
/// (fixtures/nvlabs/ada-e2e, made by the official stylegan2-ada-pytorch code with the W+ size of the tiny encoders),
/// register it, edit a photo through the command line with `--align center`, and find the pickle's SHA-256 in the
/// output's provenance. Tiny CLIP and the demo vocabulary, as `nada-edit demo` uses them (nothing from ../shared).
final class ADAEndToEndTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures").path
    static func fixture(_ p: String) -> String { fixtures + "/" + p }
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("ada-e2e") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testTrainFromAnADAPickleThenEditAPhoto() throws {
        let pickle = Self.fixture("nvlabs/ada-e2e/network-snapshot.pkl")
        let store = ModelStore(root: dir + "/store")
        let clip = Self.fixture(DemoRun.Fixture.clip), vocab = Self.fixture(DemoRun.Fixture.vocabulary)

        // train --generator network-snapshot.pkl --source dog --target cat --domain dogcat (3 iterations).
        var options = TrainingOptions()
        options.source = "dog"; options.target = "cat"; options.iterations = 3; options.batch = 2
        options.autoLayerK = 2; options.autoLayerIters = 1; options.autoLayerBatch = 2; options.sampleEvery = 3; options.sampleCount = 2
        var setup = TrainingSetup(generatorPath: pickle, clipPaths: [clip], vocabularyPath: vocab, options: options)
        setup.vocabularyMergeCount = nil // the demo vocabulary: every merge in the file
        let trainer = try setup.makeTrainer().trainer
        XCTAssertEqual((trainer.trainable as? StyleGAN2Generator)?.convClamp, 256, "the pickle's conv_clamp is part of the trained generator")
        let runDir = dir + "/run"
        let run = try TrainingRun(trainer: trainer, inputs: .init(generatorPath: pickle, clipPaths: [clip], domainName: "dogcat", toolVersion: "test"),
                                  outputDirectory: runDir)
        XCTAssertEqual(try run.run(), .finished)
        // The adapted generator keeps the NVlabs options and reloads to the same weights.
        let adapted = try ModelResolver.generator(at: runDir + "/generator.pt")
        XCTAssertEqual(adapted.convClamp, 256)
        let base = try ModelResolver.generator(at: pickle)
        XCTAssertNotEqual(adapted.parameters.keys.sorted().map { adapted.parameters[$0]!.array }, base.parameters.keys.sorted().map { base.parameters[$0]!.array },
                          "training changed the weights")
        let domain = try DomainRegistry(store: store).install(recordFile: runDir + "/" + DomainRegistry.recordFileName, name: "dogcat")
        let pickleSHA = try FileDigest.sha256Hex(ofFileAt: pickle)
        XCTAssertEqual(domain.record.baseGenerator.sha256, pickleSHA)

        // nada-edit edit --domain dogcat --align center --encoder e4e.pt photo.png
        let photos = dir + "/photos"
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixture("images/chelsea.png"), toPath: photos + "/pet.png")
        var command = try NadaEdit.parseAsRoot(["edit", "--models", store.root, "--domain", "dogcat", "--align", "center",
                                                "--encoder", Self.fixture("encoders/e4e.pt"), "--output", dir + "/edited", photos + "/pet.png"])
        try command.run()
        let output = dir + "/edited/pet.dogcat.png"
        XCTAssertEqual(try loadImage(path: output).width, 64, "the tiny ADA generator renders 64 px")
        let provenance = try XCTUnwrap(try readProvenance(path: output).provenance)
        XCTAssertEqual(provenance.domain, "dogcat")
        XCTAssertEqual(provenance.modelSHA256["base generator"], pickleSHA, "the provenance names the pickle: \(provenance.modelSHA256)")
        XCTAssertEqual(provenance.domainPrompts["source"], "dog")
        XCTAssertEqual(provenance.domainPrompts["target"], "cat")
        XCTAssertEqual(provenance.extra["alignment"], "center", "\(provenance.extra)")
    }
}
