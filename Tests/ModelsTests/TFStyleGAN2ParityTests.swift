import XCTest
import Engine
import Formats
@testable import Models

/// TensorFlow StyleGAN2 pickles against rosinality's `convert_weight.py` (fixtures/tf_stylegan2, made by
/// tools/make_tf_stylegan2_pack.py: 32×32, z/w dim 16, 2 mapping layers, channels 8/8/8/4). The conversion must give
/// exactly rosinality's tensors (transposes, flips and +1 are exact in float32), and the generator its images to
/// 2e-5 of the largest value. Run in release: `swift test -c release --filter TFStyleGAN2ParityTests`.
final class TFStyleGAN2ParityTests: XCTestCase {
    func npy(_ name: String) throws -> Tensor { try Fixtures.tensor("tf_stylegan2/" + name) }

    func generator(_ network: String = "Gs") throws -> StyleGAN2Generator {
        try StyleGAN2Generator(tensorflow: try loadFile(Fixtures.path("tf_stylegan2/stylegan2-tiny-config-f.pkl")), network: network)
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

    func testConversionEqualsRosinalitysConvertWeight() throws {
        let g = try generator()
        XCTAssertEqual(g.config.size, 32)
        XCTAssertEqual(g.config.styleDim, 16)
        XCTAssertEqual(g.config.nMLP, 2)
        XCTAssertEqual(g.config.channels, [8, 8, 8, 4])
        XCTAssertEqual(g.config.nLatent, 8)
        XCTAssertEqual(g.config.lrMLP, 0.01, accuracy: 1e-9)
        XCTAssertNil(g.convClamp)
        XCTAssertNil(g.nvlabsOptionsEntry, "rosinality's defaults: nothing beside g_ema")
        let reference = try loadFile(Fixtures.path("tf_stylegan2/converted.pt"))
        let theirs = try reference.stateDict("g_ema")
        let ours = Dictionary(uniqueKeysWithValues: g.stateDict().map { ($0.0, $0.1) })
        XCTAssertEqual(Set(ours.keys), Set(theirs.map(\.name)))
        for (name, array) in theirs {
            XCTAssertEqual(ours[name]?.shape, array.shape, name)
            XCTAssertTrue(ours[name]?.floats() == array.floats(), "\(name) differs from rosinality's conversion")
        }
        XCTAssertEqual(g.latentAverage?.array, try XCTUnwrap(reference.root["latent_avg"]?.tensor).floats())
    }

    func testImagesMatchRosinality() throws {
        let g = try generator()
        let w = try Autograd.noGrad { try g.mapping(try npy("z.npy")) }
        assertClose(w, try npy("w_from_z.npy"), "w_from_z")
        let image = try Autograd.noGrad { try g.forward(wPlus: try npy("wplus.npy"), noise: .stored) }
        assertClose(image, try npy("image_wplus.npy"), "image_wplus")
        let avg = try XCTUnwrap(g.latentAverage)
        let truncated = try Autograd.noGrad {
            try g.forward([try npy("z.npy")], inputIsLatent: false, truncation: 0.7, truncationLatent: avg, noise: .stored)
        }
        assertClose(truncated, try npy("image_z_trunc07.npy"), "image_z_trunc07")
    }

    func testNetworkChoiceAndRefusals() throws {
        let gs = try generator(), gEma = try generator("G_ema"), g = try generator("G")
        XCTAssertEqual(gs.parameters["style.1.weight"]?.array, gEma.parameters["style.1.weight"]?.array, "G_ema means Gs")
        XCTAssertNotEqual(gs.parameters["style.1.weight"]?.array, g.parameters["style.1.weight"]?.array, "G has its own weights")
        XCTAssertThrowsError(try generator("D")) { XCTAssertTrue("\($0)".contains("no 'mapping' and 'synthesis' components"), "\($0)") }
        XCTAssertThrowsError(try generator("G_missing")) { XCTAssertTrue("\($0)".contains("it holds: G, D, Gs"), "\($0)") }
    }
}
