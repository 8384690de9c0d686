import Engine
import Formats
import Models
@testable import Training
import XCTest

/// StyleGAN-NADA on StyleGAN3 as the official `--sg3` path trains it (`SG3Generator` in ZSSGAN/model/ZSSGAN.py):
/// the fixed layer set, frozen affines and mapping, codes truncated by 0.7 towards w_avg.
final class StyleGAN3TrainingTests: XCTestCase {
    func generator() throws -> StyleGAN3Generator {
        try StyleGAN3Generator(nvlabs: try loadFile(TrainingFixtures.path("nvlabs/sg3t/network-snapshot.pkl")))
    }

    func makeTrainer(_ configure: (inout TrainingOptions) -> Void = { _ in }) throws -> NADATrainer {
        let clip = SelectionChunkingTests.TokenFreeCLIP(try CLIPModel(checkpoint: try loadFile(TrainingFixtures.url("clip/model_state.pt").path)))
        var options = TrainingOptions()
        options.batch = 2
        options.autoLayerIters = 0
        configure(&options)
        return try NADATrainer(frozen: try generator(), trainable: try generator(), clip: [clip], options: options)
    }

    func testTrainedChildrenAreTheOfficialSlices() {
        // The released configs: input + L0 ... L14 (16 children); [:11] + [12:13] + [14:] leaves out L10 and L12.
        let released = ["input"] + (0...14).map { "L\($0)" }
        XCTAssertEqual(StyleGAN3LayerSelection.trainedChildren(released), ["input"] + (0...9).map { "L\($0)" } + ["L11", "L13", "L14"])
        // The tiny pack: input + L0 ... L6, all inside [:11].
        let tiny = ["input"] + (0...6).map { "L\($0)" }
        XCTAssertEqual(StyleGAN3LayerSelection.trainedChildren(tiny), tiny)
        XCTAssertTrue(StyleGAN3LayerSelection.isTrained("synthesis.L3_52_32.weight", trainedChildren: ["L3_52_32"]))
        XCTAssertTrue(StyleGAN3LayerSelection.isTrained("synthesis.input.weight", trainedChildren: ["input"]))
        XCTAssertFalse(StyleGAN3LayerSelection.isTrained("synthesis.L3_52_32.affine.weight", trainedChildren: ["L3_52_32"]))
        XCTAssertFalse(StyleGAN3LayerSelection.isTrained("synthesis.L30_52_32.weight", trainedChildren: ["L3"]))
        XCTAssertFalse(StyleGAN3LayerSelection.isTrained("mapping.fc0.weight", trainedChildren: ["input"]))
    }

    func testStepsChangeExactlyTheOfficialTrainedSet() throws {
        let trainer = try makeTrainer()
        let g = try XCTUnwrap(trainer.trainable as? StyleGAN3Generator)
        XCTAssertEqual(g.synthesisChildren.count, 8, "the pack: input + 7 layers")
        let expected = Set(g.parameterNames.filter { name in
            name == "synthesis.input.weight"
                || (name.hasPrefix("synthesis.L") && !name.contains(".affine.") && (name.hasSuffix(".weight") || name.hasSuffix(".bias")))
        })
        XCTAssertEqual(expected.count, 1 + 2 * 7)
        XCTAssertEqual(Set(trainer.savedParameterNames), expected)
        XCTAssertEqual(Set(g.parameterNames.filter { g.parameters[$0]!.requiresGrad }), expected)
        let before = g.parameters.mapValues { $0.array }
        let frozenBefore = trainer.frozen.parameters.mapValues { $0.array }
        let r1 = try trainer.step()
        XCTAssertEqual(r1.trainedModules, g.synthesisChildren)
        let r2 = try trainer.step()
        XCTAssertTrue(r1.loss.isFinite && r2.loss.isFinite)
        for name in g.parameterNames {
            let moved = g.parameters[name]!.array != before[name]!
            XCTAssertEqual(moved, expected.contains(name), "\(name) \(moved ? "changed" : "did not change")")
        }
        for (name, values) in frozenBefore { XCTAssertEqual(trainer.frozen.parameters[name]!.array, values, "frozen \(name)") }
    }

    func testCodesAreTruncatedTowardsWAvgOnEveryRow() throws {
        let trainer = try makeTrainer()
        let g = try generator()
        let z = try TrainingFixtures.tensor("nvlabs/sg3t/z.npy")
        let codes = try Autograd.noGrad { try trainer.styleGAN3Codes(z, g) }
        // The pack's ws_trunc07 = NVlabs mapping(z, truncation_psi=0.7): every row the same truncated w.
        assertClose(codes, try TrainingFixtures.tensor("nvlabs/sg3t/ws_trunc07.npy"), "training codes")
    }

    func testSelectionOptionsAreRefused() throws {
        XCTAssertThrowsError(try makeTrainer { $0.autoLayerIters = 1; $0.autoLayerK = 4 }) {
            XCTAssertTrue("\($0)".contains("fixed layer set") && "\($0)".contains("--auto-layer-k 4"), "\($0)")
        }
        XCTAssertThrowsError(try makeTrainer { $0.phase = .texture }) { XCTAssertTrue("\($0)".contains("--phase texture"), "\($0)") }
        XCTAssertThrowsError(try makeTrainer { $0.storedNoise = true }) { XCTAssertTrue("\($0)".contains("--noise stored"), "\($0)") }
        // train's defaults (k 1, 1 W+ step) become "no selection" for StyleGAN3.
        XCTAssertEqual(NADATrainer.optionsForStyleGAN3(TrainingOptions()).autoLayerIters, 0)
        var asked = TrainingOptions()
        asked.autoLayerK = 2
        XCTAssertEqual(NADATrainer.optionsForStyleGAN3(asked).autoLayerIters, 1, "an explicit choice is kept, and then refused")
    }
}
