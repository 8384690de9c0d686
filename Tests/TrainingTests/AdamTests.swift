import XCTest
import Engine
@testable import Training

/// Adam against a PyTorch trajectory (tools/gen_adam_fixture.py): effective NADA hyperparameters,
/// a large first gradient, and a parameter that has no gradient in step 3 (skipped, step count frozen).
final class AdamTests: XCTestCase {
    func testMatchesPyTorchTrajectory() throws {
        let data = try TrainingFixtures.json("training/adam_trajectory.json")
        let initial = data["init"] as! [String: [Double]]
        let steps = data["grads"] as! [[String: Any]]
        let final = data["final"] as! [String: [Double]]
        let a = Tensor(shape: [7], values: initial["a"]!.map(Float.init))
        let b = Tensor(shape: [3], values: initial["b"]!.map(Float.init))
        let adam = Adam(.stylegan())
        XCTAssertEqual(adam.hyper.lr, 0.0016, accuracy: 1e-12)
        XCTAssertEqual(adam.hyper.beta2, 0.9919919678228657, accuracy: 1e-15)
        for step in steps {
            a.grad = Tensor(shape: [7], values: (step["a"] as! [Double]).map(Float.init))
            b.grad = (step["b"] as? [Double]).map { Tensor(shape: [3], values: $0.map(Float.init)) }
            adam.step([("a", a), ("b", b)])
        }
        for (t, name) in [(a, "a"), (b, "b")] {
            for (x, y) in zip(t.array, final[name]!) { XCTAssertEqual(Double(x), y, accuracy: 1e-7, name) }
        }
        XCTAssertEqual(adam.states["a"]?.step, 4)
        XCTAssertEqual(adam.states["b"]?.step, 3)
    }
}
