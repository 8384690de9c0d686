import Engine
import Formats
@testable import Models
import XCTest

/// e4e, pSp and ReStyle-e4e against the reference pack (fixtures/encoders, copied from
/// ../shared/reference/encoders): codes, the c3 tap, reconstructions through the bundled decoder with
/// stored noise, face_pool, and ReStyle's average image and iterations. Tolerance: the pack's 2e-5·max(1, max|ref|).
final class EncoderParityTests: XCTestCase {
    func load(_ name: String) throws -> Inverter {
        let ckpt = try EncoderCheckpoint(file: try loadFile(ModelFixtures.path("encoders/\(name).pt")))
        return try Inverter(encoder: ckpt)
    }

    func testE4E() throws {
        let inv = try load("e4e")
        XCTAssertEqual(inv.encoder.kind, .e4e)
        XCTAssertEqual(inv.encoder.encoder.backbone.stageEnds.suffix(3), [6, 20, 23])
        let x = try ModelFixtures.tensor("encoders/inputs.npy")
        let c3 = Autograd.noGrad { inv.encoder.encoder.backbone(x).output }
        assertClose(c3, try ModelFixtures.tensor("encoders/e4e_c3.npy"), "e4e c3")
        let result = try inv.invert(x, reconstruct: true)
        assertClose(result.codes, try ModelFixtures.tensor("encoders/e4e_codes.npy"), "e4e codes")
        assertClose(result.reconstructions[0], try ModelFixtures.tensor("encoders/e4e_recon_native.npy"), "e4e reconstruction")
    }

    func testPSP() throws {
        let inv = try load("psp")
        XCTAssertEqual(inv.encoder.kind, .pSp)
        let x = try ModelFixtures.tensor("encoders/inputs.npy")
        let result = try inv.invert(x, reconstruct: true)
        assertClose(result.codes, try ModelFixtures.tensor("encoders/psp_codes.npy"), "pSp codes")
        assertClose(result.reconstructions[0], try ModelFixtures.tensor("encoders/psp_recon_native.npy"), "pSp reconstruction")
    }

    func testReStyleIterations() throws {
        let inv = try load("restyle_e4e")
        XCTAssertEqual(inv.encoder.kind, .restyleE4E)
        assertClose(try inv.averageImage(), try ModelFixtures.tensor("encoders/restyle_avg_image.npy"), "ReStyle average image")
        let x = try ModelFixtures.tensor("encoders/inputs.npy")
        let result = try inv.invert(x, iterations: 3, reconstruct: true)
        assertClose(result.codesPerIteration[0], try ModelFixtures.tensor("encoders/restyle_e4e_codes_iter1.npy"), "ReStyle codes 1")
        assertClose(result.codesPerIteration[2], try ModelFixtures.tensor("encoders/restyle_e4e_codes_iter3.npy"), "ReStyle codes 3")
        assertClose(result.reconstructions[0], try ModelFixtures.tensor("encoders/restyle_e4e_yhat_iter1.npy"), "ReStyle image 1")
        assertClose(result.reconstructions[2], try ModelFixtures.tensor("encoders/restyle_e4e_yhat_iter3.npy"), "ReStyle image 3")
    }

    func testFacePoolMatchesAdaptiveAveragePooling() throws {
        let x = Tensor.zeros([1, 1, 1024, 1024])
        for i in 0..<1024 { for j in 0..<1024 { x.pointer[i * 1024 + j] = Float((31 * i + 17 * j) % 97) } }
        assertClose(Inverter.facePool(x), try ModelFixtures.tensor("encoders/face_pool_check.npy"), tolerance: 1e-6, "face_pool")
    }

    func testWrongEncoderTypeIsAClearError() throws {
        let file = try loadFile(ModelFixtures.path("encoders/e4e.pt"))
        let weights = Weights(try file.stateDict("state_dict"), source: file.path).scoped("encoder")
        XCTAssertThrowsError(try StyleEncoder(kind: .restyleE4E, weights: weights)) { error in
            XCTAssertTrue("\(error)".contains("does not match"), "\(error)")
        }
    }
}
