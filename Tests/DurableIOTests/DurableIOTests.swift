import XCTest
@testable import DurableIO
#if canImport(Glibc)
import Glibc
#endif

final class DurableIOTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "durable-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func read(_ path: String) -> String? { FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }
    func names(_ folder: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() }

    func testWriteNeverReplacesUnlessAskedAndLeavesNoTemporary() throws {
        let path = dir + "/out.txt"
        try AtomicFile.write(Array("first".utf8), to: path, replacing: false)
        XCTAssertThrowsError(try AtomicFile.write(Array("second".utf8), to: path, replacing: false)) { error in
            XCTAssertEqual((error as? FileSystemError)?.code, EEXIST)
        }
        XCTAssertEqual(read(path), "first")
        try AtomicFile.write(Array("third".utf8), to: path, replacing: true)
        XCTAssertEqual(read(path), "third")
        XCTAssertEqual(names(dir), ["out.txt"])
    }

    func testCommitOfATemporaryRefusesAnExistingNameAtTheSystemCall() throws {
        // The early access() check is not what protects: a file appearing after it must survive too.
        let final = dir + "/x.png", temp = AtomicFile.temporaryPath(for: final)
        try Data("ours".utf8).write(to: URL(fileURLWithPath: temp))
        try Data("theirs".utf8).write(to: URL(fileURLWithPath: final))
        XCTAssertThrowsError(try AtomicFile.commit(temporary: temp, to: final, replacing: false)) { error in
            XCTAssertEqual((error as? FileSystemError)?.code, EEXIST)
            XCTAssertEqual((error as? FileSystemError)?.path, final)
        }
        XCTAssertEqual(read(final), "theirs")
        XCTAssertEqual(read(temp), "ours", "the temporary stays for the caller to retry under another name")
    }

    /// Issue 22 item 1: two movers into one folder with the same names and different content lose nothing.
    func testConcurrentMoversIntoOneFolderKeepEveryFile() throws {
        let done = dir + "/done"
        try FileManager.default.createDirectory(atPath: done, withIntermediateDirectories: true)
        let count = 40
        for side in ["in1", "in2"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(side)", withIntermediateDirectories: true)
            for i in 0..<count { try Data("\(side)-\(i)".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(side)/p\(i).png")) }
        }
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            let side = worker == 0 ? "in1" : "in2"
            for i in 0..<count {
                _ = try? SafeMove.move("\(dir)/\(side)/p\(i).png", intoFolder: done, collisionTag: side)
            }
        }
        let moved = names(done)
        XCTAssertEqual(moved.count, 2 * count)
        let contents = Set(moved.compactMap { read(done + "/" + $0) })
        XCTAssertEqual(contents.count, 2 * count, "every original's bytes are somewhere in done/")
        XCTAssertEqual(names(dir + "/in1") + names(dir + "/in2"), [])
    }

    func testCollisionGetsTaggedNamesInOrder() throws {
        let done = dir + "/done"
        try FileManager.default.createDirectory(atPath: done, withIntermediateDirectories: true)
        for i in 0..<3 {
            try Data("v\(i)".utf8).write(to: URL(fileURLWithPath: dir + "/a.jpg"))
            try SafeMove.move(dir + "/a.jpg", intoFolder: done, collisionTag: "abcd1234")
        }
        XCTAssertEqual(names(done), ["a-abcd1234-2.jpg", "a-abcd1234.jpg", "a.jpg"])
        XCTAssertEqual(read(done + "/a.jpg"), "v0")
        XCTAssertEqual(read(done + "/a-abcd1234-2.jpg"), "v2")
    }

    /// Across filesystems (/dev/shm is a tmpfs here): the copy is verified, then the source removed.
    func testCrossFilesystemMoveCopiesVerifiesAndRemovesTheSource() throws {
        let other = "/dev/shm/durable-\(UUID().uuidString)"
        guard (try? FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)) != nil,
              stDev(other) != stDev(dir) else {
            throw XCTSkip("needs a second filesystem at /dev/shm (absent on this machine)")
        }
        defer { try? FileManager.default.removeItem(atPath: other) }
        let bytes = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try bytes.write(to: URL(fileURLWithPath: dir + "/big.png"))
        try Data("taken".utf8).write(to: URL(fileURLWithPath: other + "/big.png"))
        let moved = try SafeMove.move(dir + "/big.png", intoFolder: other, collisionTag: "feedbeef")
        XCTAssertEqual(moved, other + "/big-feedbeef.png")
        XCTAssertEqual(FileManager.default.contents(atPath: moved), bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/big.png"))
        XCTAssertEqual(names(other), ["big-feedbeef.png", "big.png"], "no temporary left behind")
    }

    /// Issue 22 item 2: a source that changes after it was copied (still being written) is never unlinked.
    func testSourceChangedAfterCopyIsKeptAndTheCopyRemoved() throws {
        let other = "/dev/shm/durable-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: other) }
        let source = dir + "/half.png"
        try Data("first half".utf8).write(to: URL(fileURLWithPath: source))
        let copy = try SafeMove.copyVerified(source, for: other + "/half.png")
        try AtomicFile.rename(copy.temp, to: other + "/half.png", replacing: false)
        // The writer appends the rest.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: source))
        handle.seekToEndOfFile(); handle.write(Data(" and the rest".utf8)); try handle.close()
        XCTAssertThrowsError(try SafeMove.removeSource(source, ifStill: copy.source, copiedTo: other + "/half.png")) { error in
            XCTAssertTrue("\(error)".contains("changed after being copied"), "\(error)")
        }
        XCTAssertEqual(read(source), "first half and the rest")
        XCTAssertEqual(names(other), [], "the stale copy is removed")
    }

    /// Issue 22 item 6: a write error (EFBIG under RLIMIT_FSIZE, the stand-in for a full disk) is thrown with the
    /// final name and errno, and no temporary is left.
    func testWriteErrorNamesTheFileAndErrnoAndRemovesTheTemporary() throws {
        let path = dir + "/codes.npy"
        var old = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var small = old
        small.rlim_cur = 4096
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small), 0)
        var thrown: Error?
        do { try AtomicFile.write([UInt8](repeating: 7, count: 100_000), to: path, replacing: false) } catch { thrown = error }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        signal(SIGXFSZ, oldHandler)
        let error = try XCTUnwrap(thrown as? FileSystemError)
        XCTAssertEqual(error.code, EFBIG)
        XCTAssertEqual(error.path, path)
        XCTAssertTrue(error.isEnvironmental)
        XCTAssertTrue(error.description.contains("File too large"), error.description)
        XCTAssertEqual(names(dir), [])
    }

    func stDev(_ path: String) -> UInt64 {
        var st = stat()
        stat(path, &st)
        return UInt64(st.st_dev)
    }
}
