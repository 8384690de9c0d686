import Foundation

/// A value computed on a thread of its own while the caller goes on; `value()` waits for it.
///
/// For start-up work that is single-threaded and independent: `edit` hashes its encoder (1.2 GB, for the
/// provenance) and loads dlib's detector and landmark model while it loads the encoder and generators. Run one
/// after another, those steps were 36 % of the CPU samples of a one-photo `nada-edit` at 1024 on two cores
/// (perf record, `nada-bench edit --keep` then the command alone): hashing 13 %, dlib's models 15 %, the
/// checkpoints' zip CRCs and parsing the rest.
public final class BackgroundTask<Value>: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    /// Written once, by the worker, before `finished` is signalled; read only after waiting for it.
    private var result: Result<Value, Error>?

    public init(_ body: @escaping () throws -> Value) {
        let thread = Thread { [self] in
            result = Result(catching: body)
            finished.signal()
        }
        thread.name = "nada-edit.background"
        thread.start()
    }

    private init(result: Result<Value, Error>) {
        self.result = result
        finished.signal()
    }

    /// A task that is already done, for callers that have the value at hand.
    public static func finished(_ value: Value) -> BackgroundTask { BackgroundTask(result: .success(value)) }

    /// The body's value, or its error rethrown; waits until the body has returned (every call gets the same).
    public func value() throws -> Value {
        finished.wait()
        defer { finished.signal() }   // leave it signalled for the next caller
        return try result!.get()
    }
}
