import Foundation
import XCTest
@testable import Formats

final class DescribeTests: XCTestCase {
    /// The container part; what the tensors make is the models' to say (`ModelsTests.ModelArchitectureTests`).
    func testContainerTopLevelAndTensorList() throws {
        let text = describe(try loadFile(try Fixtures.reference("stylegan2/generator.pt")), maxTensors: 3, architectures: ["from the caller"])
        XCTAssertTrue(text.contains("format: PyTorch zip checkpoint"))
        XCTAssertTrue(text.contains("top-level: g_ema (89 tensors)"))
        XCTAssertTrue(text.contains("architecture: from the caller"), text)
        XCTAssertFalse(text.contains("not recognised"), text)
        XCTAssertTrue(text.contains("  g_ema.style.1.weight"))
        XCTAssertTrue(text.contains("... 86 more"))
        let jit = describe(try loadFile(try Fixtures.reference("clip/model_jit.pt")), maxTensors: 0)
        XCTAssertTrue(jit.contains("format: TorchScript archive"))
        let hf = describe(try loadFile(try Fixtures.reference("clip/hf/model.safetensors")), maxTensors: 0)
        XCTAssertTrue(hf.contains("metadata format: pt"), hf)
    }

    func testUnknownAndArrays() throws {
        let npy = describe(try loadFile(Fixtures.path("c_f32.npy")))
        XCTAssertTrue(npy.contains("format: NumPy .npy"))
        XCTAssertTrue(npy.contains("not recognised"))
        XCTAssertTrue(npy.contains("float32  [2, 3, 4]"), npy)
    }
}
