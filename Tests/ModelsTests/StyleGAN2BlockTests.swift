import XCTest
import Engine
import Formats
@testable import Models

/// Synthetic checks of the generator's pieces on tiny random models (no reference files needed).
final class StyleGAN2BlockTests: XCTestCase {
    /// size 16: channels 6 @4, 5 @8, 4 @16; style_dim 8, n_mlp 2.
    func tinyGenerator(seed: UInt64 = 7) throws -> StyleGAN2Generator {
        let config = try StyleGAN2Config(size: 16, styleDim: 8, nMLP: 2, channels: [6, 5, 4])
        let g = StyleGAN2Generator(config: config, seed: seed)
        // Fresh models have zero noise strengths and biases; give them values so every path matters.
        var rng = SeededRandom(seed: seed &+ 1)
        for name in g.parameterNames where name.hasSuffix("noise.weight") || name.hasSuffix("activate.bias") || name.hasSuffix("rgb1.bias") {
            let t = g.parameters[name]!
            t.withMutableValues { v in for i in v.indices { v[i] = 0.3 * rng.nextNormal() } }
        }
        return g
    }

    func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape)
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.pointer[i] - b.pointer[i])) }
        return m
    }

    func testLayoutMatchesRosinalityOrderAndCounts() throws {
        let config = try StyleGAN2Config(size: 1024, styleDim: 512, nMLP: 8, channels: [512, 512, 512, 512, 512, 256, 128, 64, 32])
        let layout = config.layout()
        XCTAssertEqual(layout.count, 171) // spec §2.1
        let params = layout.filter { $0.kind == .parameter }.reduce(0) { $0 + $1.shape.reduce(1, *) }
        XCTAssertEqual(params, 30_370_060)
        XCTAssertEqual(layout.filter { $0.kind != .parameter }.reduce(0) { $0 + $1.shape.reduce(1, *) }, 2_796_432)
        XCTAssertEqual(Array(layout.map { $0.name }.prefix(3)), ["style.1.weight", "style.1.bias", "style.2.weight"])
        XCTAssertEqual(config.nLatent, 18)
        XCTAssertEqual(config.numLayers, 17)
        XCTAssertEqual((0..<17).map { config.noiseResolution($0) }.last, 1024)
    }

    func testInferenceRoundTripsThroughShapes() throws {
        let g = try tinyGenerator()
        let entries = g.stateDict().map { (name: $0.0, array: $0.1) }
        let h = try StyleGAN2Generator(stateDict: entries, source: "memory")
        XCTAssertEqual(h.config, g.config)
        XCTAssertEqual(h.entryNames, g.entryNames)
    }

    func testBadStateDictsThrowNamingTheEntry() throws {
        let entries = try tinyGenerator().stateDict().map { (name: $0.0, array: $0.1) }
        func message(_ e: [(name: String, array: ArrayData)]) -> String {
            do { _ = try StyleGAN2Generator(stateDict: e, source: "bad.pt"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(entries.filter { $0.name != "convs.1.noise.weight" }).contains("'convs.1.noise.weight'"))
        XCTAssertTrue(message(entries + [(name: "extra.weight", array: ArrayData(shape: [1], floats: [0]))]).contains("'extra.weight'"))
        let reshaped = entries.map { $0.name == "convs.1.activate.bias" ? (name: $0.name, array: ArrayData(shape: [3], floats: [0, 0, 0])) : $0 }
        XCTAssertTrue(message(reshaped).contains("'convs.1.activate.bias' has shape [3]"))
        XCTAssertTrue(message(entries.filter { !$0.name.hasPrefix("input.") }).contains("'input.input'"))
    }

    /// Modulating activations (shared-weight conv) equals rosinality's grouped per-sample-weight conv.
    func testActivationFormEqualsGroupedForm() throws {
        let g = try tinyGenerator()
        var rng = SeededRandom(seed: 3)
        let wplus = Tensor.randn([2, g.config.nLatent, 8], using: &rng)
        XCTAssertEqual(g.modulationForm, .automatic, "the default form")
        g.modulationForm = .activations
        let a = try Autograd.noGrad { try g.forward(wPlus: wplus, noise: .random(seed: 5)) }
        g.modulationForm = .grouped
        let b = try Autograd.noGrad { try g.forward(wPlus: wplus, noise: .random(seed: 5)) }
        var maxRef: Float = 0
        for i in 0..<b.count { maxRef = max(maxRef, abs(b.pointer[i])) }
        XCTAssertGreaterThan(maxRef, 0.1)
        XCTAssertLessThanOrEqual(maxAbsDiff(a, b), 2e-5 * max(1, maxRef))
    }

    /// `.automatic` modulates activations where the per-sample weights would be larger (config-f's
    /// 512-channel layers up to 32×32) and builds grouped weights above.
    func testAutomaticFormPicksPerLayer() {
        let plain = ModulatedConv2d(name: "c", inChannels: 512, outChannels: 512, kernelSize: 3, styleDim: 512)
        let up = ModulatedConv2d(name: "u", inChannels: 512, outChannels: 512, kernelSize: 3, styleDim: 512, upsample: true)
        XCTAssertEqual(plain.resolvedForm(inputHeight: 32, inputWidth: 32), .activations)
        XCTAssertEqual(plain.resolvedForm(inputHeight: 64, inputWidth: 64), .grouped)
        XCTAssertEqual(up.resolvedForm(inputHeight: 16, inputWidth: 16), .activations)
        XCTAssertEqual(up.resolvedForm(inputHeight: 32, inputWidth: 32), .grouped)
        let rgbScale = ModulatedConv2d(name: "r", inChannels: 32, outChannels: 32, kernelSize: 3, styleDim: 8)
        XCTAssertEqual(rgbScale.resolvedForm(inputHeight: 1024, inputWidth: 1024), .grouped)
    }

    /// Finite differences through a whole (8×8) generator: W+ codes, z through the mapping, and a
    /// parameter of every block kind. Leaky-ReLU kinks and float32 rounding limit central differences to
    /// about 1e-2 here; a wrong gradient path is off by O(1).
    func testGradientsMatchFiniteDifferences() throws {
        let config = try StyleGAN2Config(size: 8, styleDim: 6, nMLP: 2, channels: [5, 4])
        let g = StyleGAN2Generator(config: config, seed: 21)
        var rng = SeededRandom(seed: 11)
        for name in g.parameterNames where name.hasSuffix("noise.weight") || name.hasSuffix("activate.bias") {
            g.parameters[name]!.withMutableValues { v in for i in v.indices { v[i] = 0.3 * rng.nextNormal() } }
        }
        let wplus = Tensor.randn([2, config.nLatent, 6], using: &rng)
        let z = Tensor.randn([2, 6], using: &rng)
        let r = Tensor.randn([2, 3, 8, 8], using: &rng)
        let names = ["style.1.weight", "style.2.bias", "conv1.conv.weight", "convs.0.conv.weight", "convs.0.conv.modulation.weight",
                     "convs.0.conv.modulation.bias", "convs.1.noise.weight", "convs.1.activate.bias", "to_rgbs.0.conv.weight",
                     "to_rgb1.conv.modulation.weight", "to_rgbs.0.bias", "input.input"]
        let inputs = [wplus, z] + names.map { g.parameters[$0]! }
        for form in [ModulationForm.activations, .grouped, .automatic] {
            g.modulationForm = form
            let result = GradientCheck.check(inputs, step: 3e-3, maxElements: 8) {
                let codes = wplus + (try! g.mapping(z)).reshaped([2, 1, 6])
                return (try! g.forward(wPlus: codes, noise: .stored) * r).sum()
            }
            XCTAssertLessThan(result.maxError, 1e-2, "\(form): \(result)")
        }
    }

    /// W input equals the same w repeated as W+; mixing takes rows from each code; truncation 1 is a no-op.
    func testLatentHandling() throws {
        let g = try tinyGenerator()
        var rng = SeededRandom(seed: 2)
        let w1 = Tensor.randn([1, 8], using: &rng), w2 = Tensor.randn([1, 8], using: &rng)
        let n = g.config.nLatent
        try Autograd.noGrad {
            let fromW = try g.forward([w1], inputIsLatent: true)
            let fromWPlus = try g.forward(wPlus: w1.reshaped([1, 1, 8]).expanded(to: [1, n, 8]))
            XCTAssertEqual(maxAbsDiff(fromW, fromWPlus), 0)
            let mixed = try g.forward([w1, w2], inputIsLatent: true, injectIndex: 3)
            let rows = Tensor.concat([w1.reshaped([1, 1, 8]).expanded(to: [1, 3, 8]), w2.reshaped([1, 1, 8]).expanded(to: [1, n - 3, 8])], axis: 1)
            XCTAssertEqual(maxAbsDiff(mixed, try g.forward(wPlus: rows)), 0)
            let t = try g.forward([w1], inputIsLatent: true, truncation: 0.5, truncationLatent: w2)
            let pulled = try g.forward([w2 + (w1 - w2) * 0.5], inputIsLatent: true)
            XCTAssertLessThan(maxAbsDiff(t, pulled), 1e-5)
        }
        XCTAssertThrowsError(try g.forward(wPlus: Tensor.zeros([1, n - 1, 8]))) { e in
            XCTAssertTrue("\(e)".contains("[B, \(n), 8]"), "\(e)")
        }
        XCTAssertThrowsError(try g.forward([w1, w2], inputIsLatent: true))
        XCTAssertThrowsError(try g.forward([w1], inputIsLatent: true, truncation: 0.7))
    }

    func testNoiseModes() throws {
        let g = try tinyGenerator()
        let w = Tensor.ones([2, 8])
        try Autograd.noGrad {
            let a = try g.forward([w], inputIsLatent: true, noise: .random(seed: 9))
            let b = try g.forward([w], inputIsLatent: true, noise: .random(seed: 9))
            let c = try g.forward([w], inputIsLatent: true, noise: .random(seed: 10))
            XCTAssertEqual(maxAbsDiff(a, b), 0)
            XCTAssertGreaterThan(maxAbsDiff(a, c), 1e-4)
            // Random noise differs per sample, so identical codes give different images.
            XCTAssertGreaterThan(maxAbsDiff(a.slice(axis: 0, 0..<1), a.slice(axis: 0, 1..<2)), 1e-4)
            let stored = try g.noiseMaps(.stored, batch: 2)
            XCTAssertEqual(maxAbsDiff(try g.forward([w], inputIsLatent: true, noise: .explicit(stored)),
                                      try g.forward([w], inputIsLatent: true, noise: .stored)), 0)
        }
        XCTAssertThrowsError(try g.noiseMaps(.explicit([Tensor.zeros([1, 1, 4, 4])]), batch: 1))
    }

    /// Upsample = upfirdn2d(up 2, pad (2, 1), outer([1,3,3,1])/16): in 1-D out[2j] = (x[j−1] + 3x[j])/4,
    /// out[2j+1] = (3x[j] + x[j+1])/4 (spec §1.2). A row-constant input shows the 1-D filter per axis.
    func testUpsampleMatchesItsOneDimensionalForm() {
        let x = Tensor(shape: [1, 1, 3, 3], values: [1, 2, 4, 1, 2, 4, 1, 2, 4])
        let t = StyleGAN2Tensors(parameters: [:], buffers: [:])
        let y = Upsample(kernelName: "none")(x, t)
        XCTAssertEqual(y.shape, [1, 1, 6, 6])
        let row = [1, 2, 4].map { Float($0) }
        func at(_ j: Int) -> Float { j < 0 || j > 2 ? 0 : row[j] }
        let expectedRow = (0..<6).map { i -> Float in i % 2 == 0 ? (at(i / 2 - 1) + 3 * at(i / 2)) / 4 : (3 * at(i / 2) + at(i / 2 + 1)) / 4 }
        // Vertical: the constant column gets the same filter applied to [1, 1, 1].
        let col: [Float] = [1, 1, 1]
        func cat(_ j: Int) -> Float { j < 0 || j > 2 ? 0 : col[j] }
        let expectedCol = (0..<6).map { i -> Float in i % 2 == 0 ? (cat(i / 2 - 1) + 3 * cat(i / 2)) / 4 : (3 * cat(i / 2) + cat(i / 2 + 1)) / 4 }
        for i in 0..<6 { for j in 0..<6 {
            XCTAssertEqual(y.pointer[i * 6 + j], expectedCol[i] * expectedRow[j], accuracy: 1e-6, "(\(i), \(j))")
        } }
        XCTAssertEqual(makeKernel(blurTaps, gain: 4).array.reduce(0, +), 4, accuracy: 1e-6)
    }

    func testCopyIsDeepAndSetParameterChecksShape() throws {
        let g = try tinyGenerator()
        let h = g.copy()
        h.parameters["conv1.conv.weight"]!.withMutableValues { $0[0] += 1 }
        XCTAssertNotEqual(h.parameters["conv1.conv.weight"]!.pointer[0], g.parameters["conv1.conv.weight"]!.pointer[0])
        XCTAssertThrowsError(try g.setParameter("conv1.conv.weight", Tensor.zeros([1])))
        XCTAssertThrowsError(try g.setParameter("nope", Tensor.zeros([1])))
        try g.setParameter("to_rgb1.bias", Tensor.ones([1, 3, 1, 1]))
        XCTAssertEqual(g.stateDict().first { $0.0 == "to_rgb1.bias" }?.1.floats(), [1, 1, 1])
    }
}
