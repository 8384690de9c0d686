import Dispatch
import Foundation
import XCTest
@testable import Pipeline

/// `runConcurrently` (the batch editor's `--jobs`) must leave libdispatch's pool to the engine's parallel loops: with
/// one job blocked (as a job waiting for the editor's compute lock is) the other job's `concurrentPerform` must still
/// get a second thread. When the jobs themselves ran in `concurrentPerform` on a 2-core machine, the inner loop ran
/// on the calling thread alone and `--jobs 2` was 1.55× slower than `--jobs 1` (`nada-bench edit`).
final class JobThreadsTests: XCTestCase {
    func testAJobsParallelLoopGetsTwoThreadsWhileTheOtherJobIsBlocked() throws {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2 else {
            throw XCTSkip("needs 2 cores: libdispatch's pool is as wide as the machine, so one core has no second thread to give")
        }
        let otherJobBlocked = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let results = runConcurrently(2, jobs: 2) { index -> Bool in
            if index == 1 {
                otherJobBlocked.signal()
                release.wait()   // parked, as on the compute lock
                return true
            }
            otherJobBlocked.wait()
            defer { release.signal() }
            // Each iteration waits (bounded) until both have started: both see 2 only if they ran at the same time.
            let barrier = TwoPartyBarrier()
            DispatchQueue.concurrentPerform(iterations: 2) { _ in barrier.arriveAndWait(seconds: 5) }
            return barrier.bothSawEachOther
        }
        XCTAssertEqual(results, [true, true], "the first job's 2-iteration concurrentPerform ran on one thread while the other job was parked")
    }

    func testResultsComeBackInIndexOrderWhateverTheJobCount() {
        for jobs in [1, 2, 3, 8] {
            XCTAssertEqual(runConcurrently(7, jobs: jobs) { $0 * $0 }, (0..<7).map { $0 * $0 }, "jobs \(jobs)")
        }
        XCTAssertEqual(runConcurrently(0, jobs: 2) { $0 }, [])
    }
}

/// Two parties arrive; each waits up to a deadline for the other. Counts the parties that saw both arrived.
private final class TwoPartyBarrier: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0, sawBoth = 0
    func arriveAndWait(seconds: Double) {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: seconds)
        while arrived < 2, condition.wait(until: deadline) {}
        if arrived >= 2 { sawBoth += 1 }
    }
    var bothSawEachOther: Bool { condition.lock(); defer { condition.unlock() }; return sawBoth == 2 }
}
