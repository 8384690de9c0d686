import ArgumentParser
import XCTest
import Formats
import Models
@testable import NadaEditCLI
@testable import Pipeline

/// NVlabs .pkl generators through the loading layer and the command line: ModelResolver, `models add`,
/// `models convert`, `generate`.
final class NVlabsLoadingTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/nvlabs").path
    let ada = NVlabsLoadingTests.fixtures + "/ada/network-snapshot.pkl"
    var dir = ""
    override func setUpWithError() throws { dir = try makeTemporaryDirectory("nvlabs") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func run(_ root: ParsableCommand.Type, _ arguments: [String]) throws {
        var command = try root.parseAsRoot(arguments)
        try command.run()
    }

    func testResolverLoadsPickleGeneratorsAndPicksTheNetwork() throws {
        let gEma = try ModelResolver.generator(at: ada)
        XCTAssertEqual(gEma.config.size, 64)
        XCTAssertEqual(gEma.convClamp, 256)
        // Each network's own weights: compare with the tensors the pickle holds under G / G_ema.
        let file = try loadFile(ada)
        for (network, g) in [("G", try ModelResolver.generator(at: ada, network: "G")), ("G_ema", gEma)] {
            let module = try XCTUnwrap(file.nvlabsNetworks.first { $0.key == network }?.module)
            for (ours, theirs) in [("conv1.conv.weight", "synthesis.b4.conv1.weight"), ("style.1.weight", "mapping.fc0.weight")] {
                let expected = try XCTUnwrap(module.stateDict().first { $0.name == theirs }?.array.floats())
                XCTAssertTrue(g.parameters[ours]?.array == expected, "\(network): \(ours) is not \(theirs)")
            }
        }
        XCTAssertThrowsError(try ModelResolver.generator(at: NVlabsLoadingTests.fixtures + "/sg3t/network-snapshot.pkl")) {
            XCTAssertTrue("\($0)".contains("StyleGAN3-T generator"), "\($0)")
        }
    }

    func testModelsAddFilesAPickleAsAGeneratorAndCommandsUseIt() throws {
        let named = dir + "/afhqcat.pkl"
        try FileManager.default.copyItem(atPath: ada, toPath: named)
        try run(Models.self, ["add", named, "--models", dir + "/store"])
        XCTAssertEqual(try ModelStore(root: dir + "/store").loadManifest().entry(named: "afhqcat")?.kind, .generators)
        let resolved = try ModelResolver(store: ModelStore(root: dir + "/store")).generator("afhqcat")
        XCTAssertEqual(resolved.config.styleDim, 16)
        // generate renders from the pickle itself: W+ codes through the stored noise give the NVlabs image.
        let out = dir + "/image.npy"
        try run(NadaEdit.self, ["generate", "--generator", named, "--latents", NVlabsLoadingTests.fixtures + "/ada/ws.npy",
                                "--noise", "stored", "--output", out])
        let ours = try readNpy(out).floats(), ref = try readNpy(NVlabsLoadingTests.fixtures + "/ada/image.npy").floats()
        XCTAssertEqual(ours.count, ref.count)
        let maxRef = ref.map(abs).max() ?? 1
        XCTAssertLessThanOrEqual(zip(ours, ref).map { abs($0 - $1) }.max() ?? 1, 2e-5 * maxRef)
    }

    func testModelsConvertWritesARosinalityCheckpointAndRefusesToOverwrite() throws {
        let out = dir + "/ada.pt"
        try run(Models.self, ["convert", ada, "--output", out])
        let file = try loadFile(out)
        XCTAssertEqual(file.format, .torchZip)
        XCTAssertEqual(file.topLevelKeys, ["g_ema", "latent_avg", "nvlabs_options"])
        XCTAssertEqual(file.root["nvlabs_options"]?["conv_clamp"]?.double, 256)
        let g = try StyleGAN2Generator(checkpoint: file)
        XCTAssertEqual(g.convClamp, 256)
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertThrowsError(try run(Models.self, ["convert", ada, "--output", out])) { XCTAssertTrue("\($0)".contains("already exists"), "\($0)") }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), before, "the existing output is untouched")
        XCTAssertThrowsError(try run(Models.self, ["convert", out, "--output", dir + "/again.pt"])) {
            XCTAssertTrue("\($0)".contains("not an NVlabs network pickle"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/again.pt"))
        try run(Models.self, ["convert", ada, "--network", "G", "--output", dir + "/g.pt"])
        XCTAssertThrowsError(try run(Models.self, ["convert", ada, "--network", "D", "--output", dir + "/d.pt"])) {
            XCTAssertTrue("\($0)".contains("not a StyleGAN2-ADA Generator"), "\($0)")
        }
    }
}
