import Foundation
#if canImport(Glibc)
import Glibc

/// Names arriving in one folder, via Linux inotify: `IN_CLOSE_WRITE` (a writer closed the file) and
/// `IN_MOVED_TO` (renamed in, as careful uploaders and sync tools do).
final class InotifyWatch {
    enum Event: Equatable {
        case arrived(String)
        /// The kernel queue overflowed and events were lost: rescan the folder.
        case overflow
        /// The watched folder was deleted or moved away.
        case folderGone
    }

    // Values from <sys/inotify.h>, spelled out because Glibc's module does not export all of them.
    private static let inCloseWrite: UInt32 = 0x0000_0008
    private static let inMovedTo: UInt32 = 0x0000_0080
    private static let inDeleteSelf: UInt32 = 0x0000_0400
    private static let inMoveSelf: UInt32 = 0x0000_0800
    private static let inQueueOverflow: UInt32 = 0x0000_4000
    private static let inIgnored: UInt32 = 0x0000_8000
    private static let inIsDir: UInt32 = 0x4000_0000
    private static let inNonBlock: Int32 = 0o4000        // = O_NONBLOCK
    private static let inCloseOnExec: Int32 = 0o2000000  // = O_CLOEXEC

    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(directory: String) throws {
        fd = inotify_init1(InotifyWatch.inNonBlock | InotifyWatch.inCloseOnExec)
        guard fd >= 0 else { throw PipelineError.io(path: directory, problem: "inotify_init1 failed: \(FileOps.errnoText())") }
        let mask = InotifyWatch.inCloseWrite | InotifyWatch.inMovedTo | InotifyWatch.inDeleteSelf | InotifyWatch.inMoveSelf
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            let problem = FileOps.errnoText()
            close(fd)
            throw PipelineError.io(path: directory, problem: "cannot watch with inotify: \(problem)")
        }
    }

    deinit { close(fd) }

    /// Waits up to `timeout` for events.
    func wait(timeout: TimeInterval) -> [Event] {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(max(0, timeout * 1000)))
        guard ready > 0 else { return [] }
        var events = [Event]()
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
                while offset + 16 <= n {
                    let mask = raw.load(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.load(fromByteOffset: offset + 12, as: UInt32.self))
                    if mask & InotifyWatch.inQueueOverflow != 0 { events.append(.overflow) }
                    if mask & (InotifyWatch.inDeleteSelf | InotifyWatch.inMoveSelf | InotifyWatch.inIgnored) != 0 { events.append(.folderGone) }
                    if length > 0, mask & InotifyWatch.inIsDir == 0, mask & (InotifyWatch.inCloseWrite | InotifyWatch.inMovedTo) != 0 {
                        let nameBytes = UnsafeRawBufferPointer(rebasing: raw[(offset + 16)..<(offset + 16 + length)])
                        let end = nameBytes.firstIndex(of: 0) ?? length
                        events.append(.arrived(String(decoding: nameBytes[0..<end], as: UTF8.self)))
                    }
                    offset += 16 + length
                }
            }
        }
        return events
    }
}
#endif
