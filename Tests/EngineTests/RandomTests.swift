import XCTest
@testable import Engine

/// `Tensor.randn` fills chunks in parallel from jumped-ahead generators; it must give exactly the values (and leave
/// the generator exactly where) `nextNormal()` called once per value would, for any size and thread count.
final class RandomTests: XCTestCase {
    func testRandnEqualsSequentialDrawsForAnyThreadCount() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        for threads in [1, 2, 3] {
            Threads.set(threads)
            for count in [0, 1, 7, (1 << 15) - 1, 1 << 15, 3 * (1 << 15) + 5] {
                var sequential = SeededRandom(seed: 42 + UInt64(count))
                let expected = (0..<count).map { _ in sequential.nextNormal() }
                var rng = SeededRandom(seed: 42 + UInt64(count))
                let t = Tensor.randn([count], using: &rng)
                XCTAssertEqual(t.array, expected, "\(count) values on \(threads) threads")
                XCTAssertEqual(rng.state, sequential.state, "the generator continues where the draws left it")
                XCTAssertEqual(rng.nextNormal(), sequential.nextNormal())
            }
        }
    }

    func testSkippingMatchesDrawing() {
        var drawn = SeededRandom(seed: 7)
        let start = drawn
        for _ in 0..<1001 { _ = drawn.next() }
        XCTAssertEqual(start.skipping(1001).state, drawn.state)
    }
}
