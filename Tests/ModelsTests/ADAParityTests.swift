import XCTest
import Engine
import Formats
@testable import Models

/// Parity of converted StyleGAN2-ADA generators with NVlabs' own network (fixtures/nvlabs/ada, made with
/// stylegan2-ada-pytorch: 64×64, z/w dim 16, 2 mapping layers, channels 32/32/32/16/8, conv_clamp 256,
/// noise_mode 'const', force_fp32). Tolerance from the pack: max|ours − ref| ≤ 2e-5·max(1, max|ref|).
/// Run in release: `swift test -c release --filter ADAParityTests`.
final class ADAParityTests: XCTestCase {
    func npy(_ name: String) throws -> Tensor { try Fixtures.tensor("nvlabs/ada/" + name) }

    func generator(_ network: String = "G_ema") throws -> StyleGAN2Generator {
        try StyleGAN2Generator(nvlabs: try loadFile(Fixtures.path("nvlabs/ada/network-snapshot.pkl")), network: network)
    }

    func assertClose(_ ours: Tensor, _ ref: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.shape, ref.shape, "\(what): shape", file: file, line: line)
        guard ours.shape == ref.shape else { return }
        var maxRef: Float = 0, maxDiff: Float = 0
        for i in 0..<ref.count {
            maxRef = max(maxRef, abs(ref.pointer[i]))
            maxDiff = max(maxDiff, abs(ours.pointer[i] - ref.pointer[i]))
        }
        XCTAssertLessThanOrEqual(maxDiff, 2e-5 * max(1, maxRef), "\(what): max|Δ| \(maxDiff) (max|ref| \(maxRef))", file: file, line: line)
    }

    func testConversionReadsTheArchitecture() throws {
        let g = try generator()
        XCTAssertEqual(g.config.size, 64)
        XCTAssertEqual(g.config.styleDim, 16)
        XCTAssertEqual(g.config.nMLP, 2)
        XCTAssertEqual(g.config.channels, [32, 32, 32, 16, 8])
        XCTAssertEqual(g.config.nLatent, 10)
        XCTAssertEqual(g.config.lrMLP, 0.01, accuracy: 1e-9)
        XCTAssertEqual(g.convClamp, 256)
        XCTAssertEqual(g.latentAverage?.shape, [1, 16])
        // Every noise map is the stored noise_const (random in the pack, so not zero).
        for i in 0..<g.config.numLayers {
            let n = try XCTUnwrap(g.buffers["noises.noise_\(i)"], "noises.noise_\(i)")
            XCTAssertTrue(n.array.contains { $0 != 0 }, "noises.noise_\(i) is all zero")
        }
    }

    func testMappingMatchesNVlabs() throws {
        let g = try generator()
        let w = try Autograd.noGrad { try g.mapping(try npy("z.npy")) }
        let ws = try npy("ws.npy")
        // NVlabs broadcasts w to num_ws rows; row 0 of each sample is w itself.
        let row0 = ws.slice(axis: 1, 0..<1).reshaped([2, 16])
        assertClose(w, row0, "ws")
    }

    func testImageFromWsMatchesNVlabs() throws {
        let g = try generator()
        for form in [ModulationForm.activations, .grouped, .automatic] {
            g.modulationForm = form
            let image = try Autograd.noGrad { try g.forward(wPlus: try npy("ws.npy"), noise: .stored) }
            assertClose(image, try npy("image.npy"), "image (\(form))")
        }
    }

    func testTruncationTowardsWAvgMatchesNVlabs() throws {
        let g = try generator()
        let avg = try XCTUnwrap(g.latentAverage)
        let image = try Autograd.noGrad {
            try g.forward([try npy("z.npy")], inputIsLatent: false, truncation: 0.7, truncationLatent: avg, noise: .stored)
        }
        assertClose(image, try npy("image_trunc07.npy"), "image_trunc07")
        let w = try Autograd.noGrad { try g.mapping(try npy("z.npy")) }
        let truncated = Autograd.noGrad { avg + 0.7 * (w - avg) }
        assertClose(truncated, try npy("ws_trunc07.npy").slice(axis: 1, 0..<1).reshaped([2, 16]), "ws_trunc07")
    }

    func testGradientWithRespectToWsMatchesNVlabs() throws {
        let g = try generator()
        g.setRequiresGrad(true)
        let ws = try npy("ws.npy")
        ws.requiresGrad = true
        let image = try g.forward(wPlus: ws, noise: .stored)
        let loss = (image * (try npy("R.npy"))).sum()
        let ref = try npy("loss.npy").item
        XCTAssertLessThanOrEqual(abs(loss.item - ref), 2e-5 * abs(ref), "loss \(loss.item) vs \(ref)")
        loss.backward()
        assertClose(try XCTUnwrap(ws.grad), try npy("grad_ws.npy"), "grad_ws")
    }

    /// conv_clamp is part of the function: with a clamp that bites, the output changes and stays within
    /// the bounds the NVlabs network enforces (a regression test that the option is applied at all).
    func testConvClampBitesWhenSmall() throws {
        let g = try generator()
        let ws = try npy("ws.npy")
        let free = try Autograd.noGrad { try g.forward(wPlus: ws, noise: .stored) }
        g.convClamp = 0.5
        let clamped = try Autograd.noGrad { try g.forward(wPlus: ws, noise: .stored) }
        XCTAssertNotEqual(free.array, clamped.array)
        // The image is a sum of 5 ToRGB outputs, each clamped to ±0.5, upsampled by a filter whose
        // non-negative weights sum to 1 per output pixel: |image| ≤ 5·0.5. Unclamped it exceeds that.
        let bound = 0.5 * Float(g.config.logSize - 1) + 1e-5
        XCTAssertLessThanOrEqual(clamped.array.map(abs).max() ?? 0, bound)
        XCTAssertGreaterThan(free.array.map(abs).max() ?? 0, bound)
    }

    func testGCanBeChosenInsteadOfGEma() throws {
        let gEma = try generator("G_ema"), g = try generator("G")
        XCTAssertEqual(g.config, gEma.config)
        XCTAssertThrowsError(try generator("D")) { XCTAssertTrue("\($0)".contains("not a StyleGAN2-ADA Generator"), "\($0)") }
        XCTAssertThrowsError(try generator("G_missing")) { XCTAssertTrue("\($0)".contains("G_ema (Generator)"), "\($0)") }
    }

    /// `models convert` output: a rosinality checkpoint with latent_avg and nvlabs_options that loads back
    /// to the same function.
    func testConvertedCheckpointRoundTrips() throws {
        let g = try generator()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ada-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("g.pt").path
        var extra: [(String, PyValue)] = [("latent_avg", .tensor(ArrayData(shape: [16], floats: g.latentAverage!.array)))]
        if let o = g.nvlabsOptionsEntry { extra.append(o) }
        try writeGeneratorCheckpoint(gEma: g.stateDict().map { ($0.0, $0.1) }, extra: extra, to: out)
        let back = try StyleGAN2Generator(checkpoint: try loadFile(out))
        XCTAssertEqual(back.convClamp, 256)
        XCTAssertEqual(back.latentAverage?.array, g.latentAverage?.array)
        let image = try Autograd.noGrad { try back.forward(wPlus: try npy("ws.npy"), noise: .stored) }
        assertClose(image, try npy("image.npy"), "image after convert")
    }
}
