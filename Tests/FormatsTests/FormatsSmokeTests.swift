import XCTest
@testable import Formats

final class FormatsSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
