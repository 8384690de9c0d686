import XCTest
@testable import Training

/// Phases and the adaptive-selection index map, against the reference pack's trainable lists.
final class LayerSelectionTests: XCTestCase {
    /// Parameter names of the pack's generator that belong to trainable modules (8 convs, 4 to_rgbs).
    func trainableNames(_ phase: TrainingPhase, from names: [String]) -> [String] {
        let modules = LayerSelection.modules(phase: phase, numConvs: 8, numToRGBs: 4)
        return names.filter { LayerSelection.belongs($0, to: modules) }
    }

    func testPhasesMatchReference() throws {
        let standard = try TrainingFixtures.json("nada_train/trainable.json")["trainable"] as! [String]
        let texture = try TrainingFixtures.json("nada_train/trainable_phase.json")["trainable"] as! [String]
        // Every parameter name of the generator: trainable ones plus mapping and ToRGB.
        let all = ["style.1.weight", "style.1.bias"] + standard + ["to_rgb1.conv.weight", "to_rgbs.0.bias"]
        XCTAssertEqual(trainableNames(.standard, from: all), standard)
        XCTAssertEqual(trainableNames(.texture, from: all), texture)
        XCTAssertEqual(trainableNames(.noFine, from: all), standard, "no_fine = default set when there are 8 convs")
        XCTAssertTrue(trainableNames(.all, from: all).contains("style.1.weight"))
        XCTAssertFalse(trainableNames(.shape, from: all).contains("convs.2.conv.weight"))
        XCTAssertTrue(trainableNames(.shapeExpanded, from: all).contains("convs.2.conv.weight"))
    }

    func testLatentIndexMapping() {
        // Reference: 0 → conv1, 1 → to_rgb1, k ≥ 2 → convs[k-2] (one off for most rows).
        XCTAssertEqual(LayerSelection.module(forLatentIndex: 1, numConvs: 16, numToRGBs: 8, corrected: false), "to_rgb1")
        XCTAssertEqual(LayerSelection.module(forLatentIndex: 17, numConvs: 16, numToRGBs: 8, corrected: false), "convs.15")
        // Corrected: row k drives convs[k-1]; the last row drives only the last ToRGB.
        XCTAssertEqual(LayerSelection.module(forLatentIndex: 1, numConvs: 16, numToRGBs: 8, corrected: true), "convs.0")
        XCTAssertEqual(LayerSelection.module(forLatentIndex: 17, numConvs: 16, numToRGBs: 8, corrected: true), "to_rgbs.7")
        XCTAssertEqual(LayerSelection.topK([0.1, 0.5, 0.3, 0.5], 2), [1, 3])
    }
}
