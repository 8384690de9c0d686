import Engine
import XCTest
@testable import Training

/// StyleGAN-NADA's CLIPLoss against the reference pack (../shared/reference/clip/nada_loss, copied to
/// fixtures/nada_loss): tiny CLIP at 48 px, antialiased bicubic preprocessing from 64×64 inputs.
/// Checked: the text direction over the 79 templates, normalised image features, the directional and
/// global losses (with "a sketch" and the bare class) and their gradients w.r.t. the target images.
final class NADALossParityTests: XCTestCase {
    func testDirectionalLossAndGradient() throws {
        let clip = try TrainingFixtures.tinyCLIP()
        let loss = NADALoss(model: clip, weights: .init(direction: 1))
        let src = try TrainingFixtures.tensor("nada_loss/src.npy"), tgt = try TrainingFixtures.tensor("nada_loss/tgt.npy")
        assertClose(try loss.textDirection(source: "photo", target: "sketch"), try TrainingFixtures.tensor("nada_loss/text_direction.npy"), "text direction")
        assertClose(Autograd.noGrad { loss.imageFeatures(src) }, try TrainingFixtures.tensor("nada_loss/src_features_norm.npy"), "src features")
        assertClose(Autograd.noGrad { loss.imageFeatures(tgt) }, try TrainingFixtures.tensor("nada_loss/tgt_features_norm.npy"), "tgt features")
        tgt.requiresGrad = true
        let value = try loss(src: src, source: "photo", tgt: tgt, target: "sketch")
        value.backward()
        let ref = try TrainingFixtures.tensor("nada_loss/directional_loss.npy").item
        XCTAssertEqual(value.item, ref, accuracy: 2e-5 * abs(ref))
        assertClose(tgt.grad!, try TrainingFixtures.tensor("nada_loss/directional_grad_tgt.npy"), "directional gradient")
    }

    func testGlobalLossAndGradient() throws {
        let clip = try TrainingFixtures.tinyCLIP()
        let loss = NADALoss(model: clip, weights: .init(direction: 0, global: 1))
        let tgt = try TrainingFixtures.tensor("nada_loss/tgt.npy")
        tgt.requiresGrad = true
        let value = try loss.global(tgt, text: "a sketch")
        value.backward()
        let ref = try TrainingFixtures.tensor("nada_loss/global_loss.npy").item
        XCTAssertEqual(value.item, ref, accuracy: 2e-5 * abs(ref))
        assertClose(tgt.grad!, try TrainingFixtures.tensor("nada_loss/global_grad_tgt.npy"), "global gradient")
        let bare = try Autograd.noGrad { try loss.global(tgt, text: "sketch") }
        let refBare = try TrainingFixtures.tensor("nada_loss/global_loss_bare_class.npy").item
        XCTAssertEqual(bare.item, refBare, accuracy: 2e-5 * abs(refBare))
    }

    func testIdenticalImagesTakeTheReferenceFallback() throws {
        let clip = try TrainingFixtures.tinyCLIP()
        let loss = NADALoss(model: clip, weights: .init(direction: 1))
        let src = try TrainingFixtures.tensor("nada_loss/src.npy")
        let value = try Autograd.noGrad { try loss.directional(src: src, source: "photo", tgt: src.copy(), target: "sketch") }
        XCTAssertTrue(value.item.isFinite, "the +1e-6 retry must give a finite loss, got \(value.item)")
    }
}
