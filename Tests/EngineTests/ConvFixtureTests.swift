import XCTest
@testable import Engine

/// conv2d / convTranspose2d / upfirdn2d against PyTorch values (tools/make_conv_fixtures.py writes
/// fixtures/engine/conv/). Each case checks the output and the gradients of sum(out · gout).
/// Tolerance as for the reference packs: 2e-5 · max(1, max|ref|).
final class ConvFixtureTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/engine/conv")

    /// Reads a little-endian float32, C-order .npy file (the only kind the fixture script writes).
    func load(_ name: String) throws -> Tensor {
        let url = Self.root.appendingPathComponent(name + ".npy")
        let data = try Data(contentsOf: url)
        let bytes = [UInt8](data)
        guard bytes.count > 10, bytes[0] == 0x93, String(decoding: bytes[1..<6], as: UTF8.self) == "NUMPY" else {
            throw ShapeError("\(url.path): not a .npy file")
        }
        let headerLength: Int, headerStart: Int
        if bytes[6] == 1 { headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10 } else {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; headerStart = 12
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard header.contains("'<f4'"), header.contains("'fortran_order': False"),
              let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw ShapeError("\(url.path): expected a C-order float32 array, header \(header)")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let offset = headerStart + headerLength
        let count = shape.reduce(1, *)
        guard bytes.count - offset == count * 4 else { throw ShapeError("\(url.path): \(bytes.count - offset) data bytes for shape \(shape)") }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { src in
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<(offset + count * 4)]))
        } }
        return Tensor(shape: shape, values: values)
    }

    func assertClose(_ ours: Tensor?, _ ref: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let ours else { return XCTFail("\(what): missing", file: file, line: line) }
        XCTAssertEqual(ours.shape, ref.shape, what, file: file, line: line)
        guard ours.shape == ref.shape else { return }
        let scale = max(1, ref.array.map { Swift.abs($0) }.max() ?? 0)
        let err = zip(ours.array, ref.array).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(err, 2e-5 * scale, "\(what): max |ours - torch| = \(err)", file: file, line: line)
    }

    /// Loads x, w, b (those present), runs `op`, and compares output and gradients.
    func check(_ name: String, inputs: [String], _ op: ([Tensor]) -> Tensor) throws {
        let xs = try inputs.map { try load("\(name)_\($0)") }
        for t in xs { t.requiresGrad = true }
        let out = op(xs)
        assertClose(out, try load("\(name)_out"), "\(name) output")
        out.backward(try load("\(name)_gout"))
        for (t, n) in zip(xs, inputs) { assertClose(t.grad, try load("\(name)_g\(n)"), "\(name) grad \(n)") }
    }

    func testConv2dMatchesTorch() throws {
        try check("conv2d_g2s2p1", inputs: ["x", "w", "b"]) { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 2, padding: 1, groups: 2) }
        try check("conv2d_3x3", inputs: ["x", "w", "b"]) { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: 1) }
        try check("conv2d_1x1", inputs: ["x", "w", "b"]) { $0[0].conv2d(weight: $0[1], bias: $0[2]) }
    }

    /// 3×3 stride-1 convs that take the Winograd path, against PyTorch (whose CPU conv is direct).
    func testWinogradConv2dMatchesTorch() throws {
        XCTAssertTrue(ConvPlan.machine.usesWinograd(input: [2, 64, 18, 19], weight: [48, 64, 3, 3], stride: 1, padding: 1, groups: 1))
        XCTAssertTrue(ConvPlan.machine.usesWinograd(input: [1, 32, 17, 16], weight: [32, 16, 3, 3], stride: 1, padding: 1, groups: 2))
        XCTAssertTrue(ConvPlan.machine.usesWinograd(input: [1, 8, 13, 14], weight: [16, 8, 3, 3], stride: 1, padding: 2, groups: 1))
        try check("conv2d_winograd", inputs: ["x", "w", "b"]) { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: 1) }
        try check("conv2d_winograd_g2", inputs: ["x", "w", "b"]) { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: 1, groups: 2) }
        try check("conv2d_winograd_p2", inputs: ["x", "w", "b"]) { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: 2) }
    }

    func testConvTranspose2dMatchesTorch() throws {
        try check("convT_s2", inputs: ["x", "w", "b"]) { $0[0].convTranspose2d(weight: $0[1], bias: $0[2], stride: 2) }
        try check("convT_g2s2p1", inputs: ["x", "w", "b"]) {
            $0[0].convTranspose2d(weight: $0[1], bias: $0[2], stride: 2, padding: 1, groups: 2)
        }
    }

    func testUpFirDn2dMatchesTorch() throws {
        let cases: [(String, Int, Int, (Int, Int, Int, Int))] = [
            ("upfirdn_up2", 2, 1, (2, 1, 2, 1)), ("upfirdn_blur", 1, 1, (1, 1, 1, 1)),
            ("upfirdn_mixed", 2, 2, (1, -1, 0, 2)), ("upfirdn_down2", 1, 2, (2, 2, 1, 2)),
        ]
        for (name, up, down, pad) in cases {
            let k = try load("\(name)_k")
            try check(name, inputs: ["x"]) { $0[0].upfirdn2d(kernel: k, up: up, down: down, pad: pad) }
        }
    }

    /// StyleGAN2's Upsample in 1-D terms (spec): out[2j] = (x[j−1] + 3x[j])/4, out[2j+1] = (3x[j] + x[j+1])/4.
    /// A one-row input sees only the kernel's middle rows vertically, a factor 3/4 on both output rows.
    func testUpsampleHandChecked() {
        let x = Tensor(shape: [1, 1, 1, 3], values: [1, 2, 4])
        let k1: [Float] = [1, 3, 3, 1]
        let k = Tensor(shape: [4, 4], values: (0..<16).map { k1[$0 / 4] * k1[$0 % 4] / 16 })
        let y = x.upfirdn2d(kernel: k, up: 2, down: 1, pad: (2, 1, 2, 1))
        XCTAssertEqual(y.shape, [1, 1, 2, 6])
        let row: [Float] = [0.75, 1.25, 1.75, 2.5, 3.5, 3.0]
        for (a, b) in zip(y.array, (row + row).map { $0 * 0.75 }) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }
}
