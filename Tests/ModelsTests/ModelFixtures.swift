@_exported import TestSupport

/// Models tests read their data through the shared test support.
typealias ModelFixtures = Fixtures
