import XCTest
import Engine
import Formats
@testable import Models

/// Parity with the reference pack (fixtures/stylegan2, made by StyleGAN-NADA's sg2_model.py on a tiny
/// 64×64 generator: style_dim 64, n_mlp 3, channels 32/32/32/24/16). Tolerance from its manifest:
/// max|ours − ref| ≤ 2e-5·max(1, max|ref|); the loss within 2e-5 relative.
final class StyleGAN2ParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/stylegan2").path

    func path(_ name: String) -> String { Self.fixtures + "/" + name }

    func npy(_ name: String) throws -> Tensor {
        let a = try readNpy(path(name))
        let t = Tensor.zeros(a.shape)
        a.copyFloats(into: t.pointer)
        return t
    }

    func generator() throws -> StyleGAN2Generator { try StyleGAN2Generator(checkpoint: try loadFile(path("generator.pt"))) }

    func assertClose(_ ours: Tensor, _ ref: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.shape, ref.shape, "\(what): shape", file: file, line: line)
        guard ours.shape == ref.shape else { return }
        var maxRef: Float = 0, maxDiff: Float = 0
        for i in 0..<ref.count {
            maxRef = max(maxRef, abs(ref.pointer[i]))
            maxDiff = max(maxDiff, abs(ours.pointer[i] - ref.pointer[i]))
        }
        let tol = 2e-5 * max(1, maxRef)
        XCTAssertLessThanOrEqual(maxDiff, tol, "\(what): max|Δ| \(maxDiff) (max|ref| \(maxRef))", file: file, line: line)
    }

    func testArchitectureIsInferredFromShapes() throws {
        let g = try generator()
        XCTAssertEqual(g.config.size, 64)
        XCTAssertEqual(g.config.styleDim, 64)
        XCTAssertEqual(g.config.nMLP, 3)
        XCTAssertEqual(g.config.channels, [32, 32, 32, 24, 16])
        XCTAssertEqual(g.config.nLatent, 10)
        XCTAssertEqual(g.config.numLayers, 9)
    }

    func testMappingMatchesReference() throws {
        let g = try generator()
        let w = try Autograd.noGrad { try g.mapping(try npy("z.npy")) }
        assertClose(w, try npy("w_from_z.npy"), "w_from_z")
    }

    func testImageFromWPlus() throws {
        let g = try generator()
        for form in [ModulationForm.activations, .grouped, .automatic] {
            g.modulationForm = form
            let image = try Autograd.noGrad { try g.forward(wPlus: try npy("wplus.npy"), noise: .stored) }
            assertClose(image, try npy("image_wplus.npy"), "image_wplus (\(form))")
        }
    }

    func testImageFromW() throws {
        let g = try generator()
        let image = try Autograd.noGrad { try g.forward([try npy("w.npy")], inputIsLatent: true, noise: .stored) }
        assertClose(image, try npy("image_w.npy"), "image_w")
    }

    func testImageFromZWithTruncation() throws {
        let g = try generator()
        let image = try Autograd.noGrad {
            try g.forward([try npy("z.npy")], inputIsLatent: false, truncation: 0.7,
                          truncationLatent: try npy("mean_latent.npy"), noise: .stored)
        }
        assertClose(image, try npy("image_z_trunc.npy"), "image_z_trunc")
    }

    /// loss = sum(image · R) with every parameter requiring grad; gradients w.r.t. W+ and the listed
    /// parameters (manifest `grad_files`).
    func testGradientsOfWPlusLoss() throws {
        try checkGradientsOfWPlusLoss(form: .activations)
    }

    func testGradientsOfWPlusLossGroupedForm() throws {
        try checkGradientsOfWPlusLoss(form: .grouped)
    }

    func testGradientsOfWPlusLossAutomaticForm() throws {
        try checkGradientsOfWPlusLoss(form: .automatic)
    }

    /// The automatic form with every upsampling conv as phase filters (off by default; see
    /// `ConvPlan.phaseFilterMaxChannels`).
    func testGradientsOfWPlusLossWithPhaseFilters() throws {
        try checkGradientsOfWPlusLoss(form: .automatic, plan: ConvPlan(phaseFilterMaxChannels: .max))
    }

    /// Adaptive layer selection's case: the generator frozen, only W+ needs a gradient, so the modulated convs
    /// take their out-scale (demodulation) gradients from their kept outputs instead of a filter-gradient pass.
    /// grad_wplus does not depend on that, so the same reference holds.
    func testGradientOfWPlusWithTheGeneratorFrozen() throws {
        let g = try generator()
        g.setRequiresGrad(false)
        let wplus = try npy("wplus.npy")
        wplus.requiresGrad = true
        (try g.forward(wPlus: wplus, noise: .stored) * (try npy("R.npy"))).sum().backward()
        assertClose(try XCTUnwrap(wplus.grad), try npy("grad_wplus.npy"), "grad_wplus (generator frozen)")
        for name in g.parameterNames { XCTAssertNil(g.parameters[name]?.grad, name) }
    }

    func checkGradientsOfWPlusLoss(form: ModulationForm, plan: ConvPlan = .machine) throws {
        let g = try generator()
        g.modulationForm = form
        g.convPlan = plan
        g.setRequiresGrad(true)
        let wplus = try npy("wplus.npy")
        wplus.requiresGrad = true
        let image = try g.forward(wPlus: wplus, noise: .stored)
        let loss = (image * (try npy("R.npy"))).sum()
        let refLoss = try npy("loss_wplus.npy").item
        XCTAssertLessThanOrEqual(abs(loss.item - refLoss), 2e-5 * abs(refLoss), "loss \(loss.item) vs \(refLoss)")
        loss.backward()
        assertClose(try XCTUnwrap(wplus.grad), try npy("grad_wplus.npy"), "grad_wplus")
        let gradFiles: [(String, String)] = [
            ("grad_conv1_conv_weight.npy", "conv1.conv.weight"),
            ("grad_convs_7_conv_weight.npy", "convs.7.conv.weight"),
            ("grad_convs_0_conv_modulation_weight.npy", "convs.0.conv.modulation.weight"),
            ("grad_convs_1_noise_weight.npy", "convs.1.noise.weight"),
            ("grad_to_rgbs_3_bias.npy", "to_rgbs.3.bias"),
            ("grad_input_input.npy", "input.input"),
        ]
        for (file, name) in gradFiles {
            let grad = try XCTUnwrap(g.parameters[name]?.grad, "no gradient for \(name)")
            assertClose(grad, try npy(file), name)
        }
        // Every synthesis parameter received a gradient; the mapping is not used by a W+ forward.
        for name in g.parameterNames {
            if name.hasPrefix("style.") { XCTAssertNil(g.parameters[name]?.grad, name) } else { XCTAssertNotNil(g.parameters[name]?.grad, "no gradient for \(name)") }
        }
    }

    func testStateDictKeepsNamesOrderAndValues() throws {
        let file = try loadFile(path("generator.pt"))
        let original = try file.stateDict("g_ema")
        let g = try StyleGAN2Generator(stateDict: original, source: "generator.pt")
        let saved = g.stateDict()
        XCTAssertEqual(saved.map { $0.0 }, original.map { $0.name })
        for ((name, a), b) in zip(saved, original) {
            XCTAssertEqual(a.shape, b.array.shape, name)
            XCTAssertEqual(a.floats(), b.array.floats(), name)
        }
        XCTAssertEqual(g.parameterNames.count, original.count - 4 /* blur kernels */ - 4 /* upsample kernels */ - 9 /* noises */)
    }

    func testLegacyCheckpointLoadsTheSameWeights() throws {
        // The legacy reader is implemented: any error here is a failure, never a skip.
        let legacy = try StyleGAN2Generator(checkpoint: try loadFile(path("generator_legacy.pt")))
        let zipped = try generator()
        XCTAssertEqual(legacy.config, zipped.config)
        let a = legacy.stateDict(), b = zipped.stateDict()
        XCTAssertEqual(a.map { $0.0 }, b.map { $0.0 })
        for (x, y) in zip(a, b) { XCTAssertEqual(x.1.floats(), y.1.floats(), x.0) }
    }
}
