#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C / SIGTERM during long work: the first signal asks the work to stop at the next safe point
/// (training saves a resumable checkpoint); a second one exits at once.
enum Interrupt {
    nonisolated(unsafe) static var requested: Int32 = 0

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            if Interrupt.requested != 0 { _exit(130) }
            Interrupt.requested = 1
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    static var isRequested: Bool { requested != 0 }
}
