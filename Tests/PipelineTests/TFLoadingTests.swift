import ArgumentParser
import XCTest
import Formats
import Models
@testable import NadaEditCLI
@testable import Pipeline

/// NVlabs TensorFlow StyleGAN2 pickles through the loading layer and the command line: ModelResolver,
/// `models inspect`, `models convert`, `generate` — and the code embedded in the pickle never runs.
final class TFLoadingTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/tf_stylegan2").path
    let pickle = TFLoadingTests.fixtures + "/stylegan2-tiny-config-f.pkl"
    /// What the pack's embedded build source would create if executed (tools/make_tf_stylegan2_pack.py's MARKER).
    let marker = "/tmp/nada-edit-tf-stylegan2-pickle-code-ran"
    var dir = ""
    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory("tfpkl")
        try? FileManager.default.removeItem(atPath: marker)
    }
    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "code embedded in the pickle ran")
    }

    func run(_ root: ParsableCommand.Type, _ arguments: [String]) throws {
        var command = try root.parseAsRoot(arguments)
        try command.run()
    }

    func testResolverLoadsTheTFPickleAndPicksTheNetwork() throws {
        let gs = try ModelResolver.generator(at: pickle)
        XCTAssertEqual(gs.config.size, 32)
        XCTAssertEqual(gs.config.styleDim, 16)
        // Each network's own weights: rosinality's style.1.weight is Dense0/weight transposed.
        let file = try loadFile(pickle)
        for (network, g) in [("G", try ModelResolver.generator(at: pickle, network: "G")), ("Gs", gs)] {
            let dense = try XCTUnwrap(file.tfNetworks.first { $0.key == network }?.network.component("mapping")?.variable("Dense0/weight")).floats()
            let ours = try XCTUnwrap(g.parameters["style.1.weight"]).array
            XCTAssertEqual(ours[1], dense[16], "\(network): style.1.weight[0][1] is Dense0/weight[1][0]")
            XCTAssertEqual(ours[16], dense[1], "\(network): style.1.weight[1][0] is Dense0/weight[0][1]")
        }
        // A store name works as for any generator.
        let named = dir + "/carcat.pkl"
        try FileManager.default.copyItem(atPath: pickle, toPath: named)
        try run(Models.self, ["add", named, "--models", dir + "/store"])
        XCTAssertEqual(try ModelResolver(store: ModelStore(root: dir + "/store")).generator("carcat").config.nLatent, 8)
    }

    func testInspectNamesTheFormatResolutionAndDims() throws {
        let text = try ModelInspection.describe(path: pickle)
        XCTAssertTrue(text.contains("format: NVlabs TensorFlow network pickle (TF StyleGAN2)"), text)
        XCTAssertTrue(text.contains("TF StyleGAN2 generator ('Gs'): 32x32 px, z_dim 16, w_dim 16, n_mlp 2, 8 W+ latents, channels 8/8/8/4"), text)
        XCTAssertTrue(text.contains("TF network 'D' (D_stylegan2)"), text)
        XCTAssertTrue(text.contains("Gs.synthesis.4x4/Const/const"), text)
    }

    func testGenerateFromThePickleMatchesRosinality() throws {
        let out = dir + "/image.npy"
        try run(NadaEdit.self, ["generate", "--generator", pickle, "--latents", TFLoadingTests.fixtures + "/wplus.npy",
                                "--noise", "stored", "--output", out])
        let ours = try readNpy(out).floats(), ref = try readNpy(TFLoadingTests.fixtures + "/image_wplus.npy").floats()
        XCTAssertEqual(ours.count, ref.count)
        let maxRef = ref.map(abs).max() ?? 1
        XCTAssertLessThanOrEqual(zip(ours, ref).map { abs($0 - $1) }.max() ?? 1, 2e-5 * maxRef)
    }

    func testModelsConvertWritesRosinalitysCheckpoint() throws {
        let out = dir + "/tiny.pt"
        try run(Models.self, ["convert", pickle, "--output", out])
        let file = try loadFile(out)
        XCTAssertEqual(file.format, .torchZip)
        XCTAssertEqual(file.topLevelKeys, ["g_ema", "latent_avg"], "as convert_weight.py writes it; no nvlabs_options at rosinality's defaults")
        let reference = try loadFile(TFLoadingTests.fixtures + "/converted.pt")
        let ours = Dictionary(uniqueKeysWithValues: try file.stateDict("g_ema").map { ($0.name, $0.array.floats()) })
        let theirs = try reference.stateDict("g_ema")
        XCTAssertEqual(ours.count, theirs.count)
        for t in theirs { XCTAssertTrue(ours[t.name] == t.array.floats(), "\(t.name) differs from rosinality's convert_weight.py") }
        XCTAssertEqual(file.root["latent_avg"]?.tensor?.floats(), reference.root["latent_avg"]?.tensor?.floats())
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertThrowsError(try run(Models.self, ["convert", pickle, "--output", out])) { XCTAssertTrue("\($0)".contains("already exists"), "\($0)") }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), before, "the existing output is untouched")
        try run(Models.self, ["convert", pickle, "--network", "G", "--output", dir + "/g.pt"])
        XCTAssertThrowsError(try run(Models.self, ["convert", pickle, "--network", "D", "--output", dir + "/d.pt"])) {
            XCTAssertTrue("\($0)".contains("not a generator"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/d.pt"))
    }
}
