import Engine
import Foundation
import Imaging
import Models
@testable import NadaEditCLI
@testable import Pipeline
import XCTest

/// `nada-edit video` (issue 15, stretch): an H.264 yuv420p MP4 checked with FFmpeg's own ffprobe and ffmpeg. The
/// tests share the tiny store that `DirectionsPipelineTests` builds.
extension DirectionsPipelineTests {

    /// A tool on PATH, or a skip naming it (the video is still written; only the check needs the tool).
    func tool(_ name: String) throws -> String {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw XCTSkip("\(name) not found on PATH: install Debian's ffmpeg to check the written video")
    }

    func run(_ tool: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(tool) \(arguments)")
        return data
    }

    func testTransitionVideoIsH264YUV420PFromReconstructionToEdit() throws {
        let ffprobe = try tool("ffprobe"), ffmpeg = try tool("ffmpeg")
        let (store, base, domains) = try makeStore()
                var settings = DomainEditor.Settings(); settings.toolVersion = "test"
        let editor = try DomainEditor(encoderPath: try store.resolve(name: "e4e")!, domains: [try DomainRegistry(store: store).resolve("sketch")],
                                      settings: settings, aligner: try PhotoAligner(mode: .center, landmarkModel: nil))
        var video = TransitionVideoSettings()
        video.frames = 5; video.fps = 5; video.crf = 0
        let path = dir + "/video/face.mp4"
        let photo = DirectionsPipelineTests.fixture("encoders/input_face.png")
        XCTAssertEqual(try editor.writeTransitionVideo(photo: photo, output: "sketch", settings: video, to: path, overwrite: false), 5)

        let probe = try JSONSerialization.jsonObject(with: try run(ffprobe, [
            "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,pix_fmt,width,height,nb_read_frames,avg_frame_rate",
            "-show_entries", "format=format_name", "-of", "json", path])) as! [String: Any]
        let stream = (probe["streams"] as! [[String: Any]])[0]
        XCTAssertEqual(stream["codec_name"] as? String, "h264")
        XCTAssertEqual(stream["pix_fmt"] as? String, "yuv420p")
        XCTAssertEqual(stream["width"] as? Int, 64)
        XCTAssertEqual(stream["height"] as? Int, 64)
        XCTAssertEqual(stream["nb_read_frames"] as? String, "5")
        XCTAssertEqual(stream["avg_frame_rate"] as? String, "5/1")
        XCTAssertTrue(((probe["format"] as! [String: Any])["format_name"] as! String).contains("mp4"))

        // Provenance in the MP4's metadata: the summary as comment, every field in description.
        let tags = ((try JSONSerialization.jsonObject(with: try run(ffprobe, ["-v", "error", "-show_entries", "format_tags", "-of", "json", path]))
            as! [String: Any])["format"] as! [String: Any])["tags"] as! [String: String]
        XCTAssertTrue(tags["comment"]?.contains("sketch") ?? false, "\(tags)")
        let description = try XCTUnwrap(tags["description"])
        let photoSHA = FileDigest.sha256Hex(of: try Data(contentsOf: URL(fileURLWithPath: photo)))
        XCTAssertTrue(description.contains("input sha256: \(photoSHA)"), description)
        XCTAssertTrue(description.contains("nada-edit"), description)

        // Decoded frames: the first is the base generator's reconstruction, the last the domain's edit.
        let raw = [UInt8](try run(ffmpeg, ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]))
        XCTAssertEqual(raw.count, 5 * 64 * 64 * 3)
        let codes = try invertedCodes()
        func render(_ g: StyleGAN2Generator) throws -> [UInt8] {
            try ImageTensors.image(from: try Autograd.noGrad { try g.forward(wPlus: codes, noise: .stored) }).pixels
        }
        let reconstruction = try render(base), edit = try render(domains["sketch"]!)
        // yuv420p keeps luma at full resolution (x264 at crf 0 keeps it exactly) and halves chroma, which these
        // tiny abstract images are full of: compare luma, BT.601 as swscale converts.
        func luma(_ p: ArraySlice<UInt8>) -> [Double] {
            stride(from: p.startIndex, to: p.endIndex, by: 3).map { 0.299 * Double(p[$0]) + 0.587 * Double(p[$0 + 1]) + 0.114 * Double(p[$0 + 2]) }
        }
        func distance(_ frame: Int, _ image: [UInt8]) -> Double {
            let decoded = luma(raw[(frame * 64 * 64 * 3)..<((frame + 1) * 64 * 64 * 3)]), expected = luma(image[...])
            return zip(decoded, expected).reduce(0.0) { $0 + abs($1.0 - $1.1) } / Double(expected.count)
        }
        XCTAssertLessThan(distance(0, reconstruction), 3, "frame 0 is the reconstruction")
        XCTAssertLessThan(distance(4, edit), 3, "the last frame is the edit")
        XCTAssertGreaterThan(distance(0, edit), 3 * distance(0, reconstruction), "and the two differ")
        XCTAssertGreaterThan(distance(4, reconstruction), 3 * distance(4, edit))

        // An existing video is kept unless overwrite; no temporary file is left behind.
        XCTAssertThrowsError(try editor.writeTransitionVideo(photo: photo, output: "sketch", settings: video, to: path, overwrite: false)) {
            XCTAssertTrue("\($0)".contains("use --overwrite"), "\($0)")
        }
        video.boomerang = true
        XCTAssertEqual(try editor.writeTransitionVideo(photo: photo, output: "sketch", settings: video, to: path, overwrite: true), 8)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/video"), ["face.mp4"])
    }
}

extension DirectionsPipelineTests {
    func testVideoCommandChecksItsArgumentsBeforeWork() throws {
        for (arguments, problem) in [(["--domain", "a", "--domain", "b"], "give one --domain"),
                                     (["--domain", "a", "--output", "v.mov"], "must end in .mp4"),
                                     (["--domain", "a", "--size", "65"], "must be even"),
                                     (["--domain", "a", "--frames", "1"], "--frames"),
                                     (["--domain", "a=0.5", "--domain", "b=0.6"], "sum to")] {
            var full = ["photo.png", "--output", "v.mp4"] + arguments
            if arguments.contains("--output") { full = ["photo.png"] + arguments }
            XCTAssertThrowsError(try VideoCommand.parseAsRoot(full), "\(arguments)") {
                XCTAssertTrue(VideoCommand.message(for: $0).contains(problem), VideoCommand.message(for: $0))
            }
        }
        XCTAssertNoThrow(try VideoCommand.parseAsRoot(["photo.png", "--domain", "a=0.5", "--domain", "b=0.5", "--output", "v.mp4", "--edit", "age=2"]))
    }
}
