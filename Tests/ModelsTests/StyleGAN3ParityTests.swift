import XCTest
import Engine
import Formats
@testable import Models

/// Parity of StyleGAN3-T and -R generators read from NVlabs pickles with NVlabs' own network
/// (fixtures/nvlabs/sg3t, sg3r: 64×64, z/w dim 16, 2 mapping layers, 6 layers, conv_clamp 256,
/// force_fp32). Tolerance from the pack: max|ours − ref| ≤ 2e-5·max(1, max|ref|).
final class StyleGAN3ParityTests: XCTestCase {
    func npy(_ pack: String, _ name: String) throws -> Tensor { try Fixtures.tensor("nvlabs/\(pack)/" + name) }

    func generator(_ pack: String) throws -> StyleGAN3Generator {
        try StyleGAN3Generator(nvlabs: try loadFile(Fixtures.path("nvlabs/\(pack)/network-snapshot.pkl")))
    }

    func assertClose(_ ours: Tensor, _ ref: Tensor, _ what: String, tolerance: Float = 2e-5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.shape, ref.shape, "\(what): shape", file: file, line: line)
        guard ours.shape == ref.shape else { return }
        var maxRef: Float = 0, maxDiff: Float = 0
        for i in 0..<ref.count {
            maxRef = max(maxRef, abs(ref.pointer[i]))
            maxDiff = max(maxDiff, abs(ours.pointer[i] - ref.pointer[i]))
        }
        XCTAssertLessThanOrEqual(maxDiff, tolerance * max(1, maxRef), "\(what): max|Δ| \(maxDiff) (max|ref| \(maxRef))", file: file, line: line)
    }

    func checkPack(_ pack: String, family: String) throws {
        let g = try generator(pack)
        XCTAssertEqual(g.family, family)
        XCTAssertEqual(g.numWs, 8)
        let z = try npy(pack, "z.npy")
        let w = try Autograd.noGrad { try g.mapping(z) }
        let ws = try npy(pack, "ws.npy")
        assertClose(w, ws.slice(axis: 1, 0..<1).reshaped([2, 16]), "\(pack) ws")
        let image = try Autograd.noGrad { try g.synthesis(ws: ws) }
        assertClose(image, try npy(pack, "image.npy"), "\(pack) image")
        let avg = try XCTUnwrap(g.latentAverage)
        let wsTrunc = try npy(pack, "ws_trunc07.npy")
        assertClose(Autograd.noGrad { avg + 0.7 * (w - avg) }, wsTrunc.slice(axis: 1, 0..<1).reshaped([2, 16]), "\(pack) ws_trunc07")
        assertClose(try Autograd.noGrad { try g.synthesis(ws: wsTrunc) }, try npy(pack, "image_trunc07.npy"), "\(pack) image_trunc07")

        ws.requiresGrad = true
        let loss = (try g.synthesis(ws: ws) * (try npy(pack, "R.npy"))).sum()
        let ref = try npy(pack, "loss.npy").item
        XCTAssertLessThanOrEqual(abs(loss.item - ref), 2e-5 * max(1, abs(ref)), "\(pack) loss \(loss.item) vs \(ref)")
        loss.backward()
        // The gradient gets the pack's ceiling (1e-4 of the largest value), not its usual 2e-5: sg3t's grad_ws has two
        // outcomes a rounding apart, 2.2e-6 and 8.4e-5 of max|ref|. Scaling every fused Winograd conv output by 1 ± 1e-7
        // (a scratch hook, about one ulp) moves it from one to the other with either kernel copy, and so did rewriting
        // √2·lrelu as leakyReLU (same value, other rounding). So the result turns on a branch, most likely a value
        // within an ulp of a kink (leaky ReLU at 0, or the clamp) whose slope the rounding picks. The kernels are not
        // the cause: on every conv call of this test both copies are within 7.2e-6 of a float64 Winograd sum of the
        // same inputs (session 11, issue 17's note).
        assertClose(try XCTUnwrap(ws.grad), try npy(pack, "grad_ws.npy"), "\(pack) grad_ws", tolerance: 1e-4)
    }

    func testStyleGAN3TMatchesNVlabs() throws { try checkPack("sg3t", family: "StyleGAN3-T") }
    func testStyleGAN3RMatchesNVlabs() throws { try checkPack("sg3r", family: "StyleGAN3-R") }

    func testADAPickleIsRefused() throws {
        XCTAssertThrowsError(try StyleGAN3Generator(nvlabs: try loadFile(Fixtures.path("nvlabs/ada/network-snapshot.pkl")))) {
            XCTAssertTrue("\($0)".contains("not a StyleGAN3 Generator"), "\($0)")
        }
    }
}
