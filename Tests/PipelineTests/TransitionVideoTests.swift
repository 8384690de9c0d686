import Engine
import Foundation
import Formats
import Imaging
import Models
@testable import NadaEditCLI
@testable import Pipeline
import XCTest

/// `nada-edit video` (issue 15): a path through domains while edits ramp, from a photo or a seed, as an H.264
/// yuv420p MP4 (checked with FFmpeg's own ffprobe and ffmpeg) or numbered PNG frames. The tests share the tiny
/// store that `DirectionsPipelineTests` builds (sketch and pixar over one base, other over another).
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

    func makeVideo(_ store: ModelStore, _ domains: [String], edits: [String] = [], encoder: Bool = true,
                   configure: (inout TransitionVideoSettings) -> Void = { _ in }) throws -> TransitionVideo {
        var settings = TransitionVideoSettings()
        settings.toolVersion = "test"
        configure(&settings)
        return try TransitionVideo(path: try DomainPath.parse(domains), registry: DomainRegistry(store: store),
                                   edits: try edits.map { try EditSpec.parse($0, allowRamp: true) }, editResolver: LatentEditResolver(store: store),
                                   encoderPath: encoder ? try store.resolve(name: "e4e")! : nil,
                                   aligner: try PhotoAligner(mode: .center, landmarkModel: nil), settings: settings)
    }

    /// codec, pixel format, size, frames counted by decoding, rate.
    func probe(_ path: String) throws -> [String: Any] {
        let json = try JSONSerialization.jsonObject(with: try run(try tool("ffprobe"), [
            "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,pix_fmt,width,height,nb_read_frames,avg_frame_rate",
            "-show_entries", "format=format_name", "-of", "json", path])) as! [String: Any]
        var stream = (json["streams"] as! [[String: Any]])[0]
        stream["format_name"] = (json["format"] as! [String: Any])["format_name"]
        return stream
    }

    /// Mean absolute luma difference between decoded frame `frame` (rgb24, `side`×`side`) and `image`. yuv420p
    /// keeps luma at full resolution (x264 at crf 0 keeps it exactly) and halves chroma, which these tiny abstract
    /// images are full of: compare luma, BT.601 as swscale converts.
    func lumaDistance(_ raw: [UInt8], frame: Int, side: Int, _ image: [UInt8]) -> Double {
        func luma(_ p: ArraySlice<UInt8>) -> [Double] {
            stride(from: p.startIndex, to: p.endIndex, by: 3).map { 0.299 * Double(p[$0]) + 0.587 * Double(p[$0 + 1]) + 0.114 * Double(p[$0 + 2]) }
        }
        let n = side * side * 3
        let decoded = luma(raw[(frame * n)..<((frame + 1) * n)]), expected = luma(image[...])
        return zip(decoded, expected).reduce(0.0) { $0 + abs($1.0 - $1.1) } / Double(expected.count)
    }

    func render(_ g: StyleGAN2Generator, _ codes: Tensor) throws -> [UInt8] {
        try ImageTensors.image(from: try Autograd.noGrad { try g.forward(wPlus: codes, noise: .stored) }).pixels
    }

    func testTransitionVideoIsH264YUV420PFromReconstructionToEdit() throws {
        let ffmpeg = try tool("ffmpeg")
        let (store, base, domains) = try makeStore()
        let video = try makeVideo(store, ["sketch"]) { $0.frames = 5; $0.fps = 5; $0.crf = 0 }
        let path = dir + "/video/face.mp4"
        let photo = DirectionsPipelineTests.fixture("encoders/input_face.png")
        XCTAssertEqual(try video.write(from: .photo(photo), to: path, overwrite: false), 5)

        let stream = try probe(path)
        XCTAssertEqual(stream["codec_name"] as? String, "h264")
        XCTAssertEqual(stream["pix_fmt"] as? String, "yuv420p")
        XCTAssertEqual(stream["width"] as? Int, 64)
        XCTAssertEqual(stream["height"] as? Int, 64)
        XCTAssertEqual(stream["nb_read_frames"] as? String, "5")
        XCTAssertEqual(stream["avg_frame_rate"] as? String, "5/1")
        XCTAssertTrue((stream["format_name"] as! String).contains("mp4"))

        // Provenance in the MP4's metadata: the summary as comment, every field in description.
        let tags = ((try JSONSerialization.jsonObject(with: try run(try tool("ffprobe"), ["-v", "error", "-show_entries", "format_tags", "-of", "json", path]))
            as! [String: Any])["format"] as! [String: Any])["tags"] as! [String: String]
        XCTAssertTrue(tags["comment"]?.contains("photo -> sketch") ?? false, "\(tags)")
        let description = try XCTUnwrap(tags["description"])
        let photoSHA = FileDigest.sha256Hex(of: try Data(contentsOf: URL(fileURLWithPath: photo)))
        XCTAssertTrue(description.contains("input sha256: \(photoSHA)"), description)
        XCTAssertTrue(description.contains("nada-edit"), description)

        // Decoded frames: the first is the base generator's reconstruction, the last the domain's edit.
        let raw = [UInt8](try run(ffmpeg, ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]))
        XCTAssertEqual(raw.count, 5 * 64 * 64 * 3)
        let codes = try invertedCodes()
        let reconstruction = try render(base, codes), edit = try render(domains["sketch"]!, codes)
        func distance(_ frame: Int, _ image: [UInt8]) -> Double { lumaDistance(raw, frame: frame, side: 64, image) }
        XCTAssertLessThan(distance(0, reconstruction), 3, "frame 0 is the reconstruction")
        XCTAssertLessThan(distance(4, edit), 3, "the last frame is the edit")
        XCTAssertGreaterThan(distance(0, edit), 3 * distance(0, reconstruction), "and the two differ")
        XCTAssertGreaterThan(distance(4, reconstruction), 3 * distance(4, edit))

        // An existing video is kept unless overwrite; no temporary file is left behind.
        XCTAssertThrowsError(try video.write(from: .photo(photo), to: path, overwrite: false)) {
            XCTAssertTrue("\($0)".contains("use --overwrite"), "\($0)")
        }
        let boomerang = try makeVideo(store, ["sketch"]) { $0.frames = 5; $0.fps = 5; $0.boomerang = true }
        XCTAssertEqual(try boomerang.write(from: .photo(photo), to: path, overwrite: true), 8)
        XCTAssertEqual(try probe(path)["nb_read_frames"] as? String, "8")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/video"), ["face.mp4"])
    }

    func testThreeWaypointPathIsH264WithTheAskedFramesAndRateAndEndsAtItsWaypoints() throws {
        let ffmpeg = try tool("ffmpeg")
        let (store, base, domains) = try makeStore()
        let photo = DirectionsPipelineTests.fixture("encoders/input_face.png")
        let path = dir + "/path.mp4"
        // 7 frames over 2 segments: t = 0, 1/6, …, 1; frame 3 (t = 1/2) is the middle waypoint exactly.
        var command = try VideoCommand.parseAsRoot([photo, "--models", store.root, "--domain", "photo", "--domain", "sketch", "--domain", "pixar",
                                                    "--align", "center", "--frames", "7", "--fps", "12", "--crf", "0", "--output", path])
        try command.run()

        let stream = try probe(path)
        XCTAssertEqual(stream["codec_name"] as? String, "h264")
        XCTAssertEqual(stream["pix_fmt"] as? String, "yuv420p")
        XCTAssertEqual(stream["nb_read_frames"] as? String, "7")
        XCTAssertEqual(stream["avg_frame_rate"] as? String, "12/1")
        let raw = [UInt8](try run(ffmpeg, ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]))
        XCTAssertEqual(raw.count, 7 * 64 * 64 * 3)
        let codes = try invertedCodes()
        let expected = [0: try render(base, codes), 3: try render(domains["sketch"]!, codes), 6: try render(domains["pixar"]!, codes)]
        for (frame, image) in expected {
            let own = lumaDistance(raw, frame: frame, side: 64, image)
            XCTAssertLessThan(own, 3, "frame \(frame) is its waypoint's render")
            for (other, otherImage) in expected where other != frame {
                XCTAssertGreaterThan(lumaDistance(raw, frame: frame, side: 64, otherImage), 3 * own, "frame \(frame) is not waypoint frame \(other)")
            }
        }
    }

    func testFramesFolderHasExactlyNPNGsWithProvenanceAndNeverReplacesFrames() throws {
        let (store, base, domains) = try makeStore()
        let photo = DirectionsPipelineTests.fixture("encoders/input_face.png")
        let folder = dir + "/frames"
        let video = try makeVideo(store, ["photo", "sketch", "pixar"]) { $0.frames = 11 }
        XCTAssertEqual(try video.write(from: .photo(photo), to: folder, overwrite: false), 11)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        XCTAssertEqual(names, (1...11).map { String(format: "frame-%02d.png", $0) })

        // PNG is lossless: the ends are exactly the base generator's and pixar's renders of the inverted code.
        let codes = try invertedCodes()
        XCTAssertEqual(try loadImage(path: folder + "/frame-01.png").pixels, try render(base, codes))
        XCTAssertEqual(try loadImage(path: folder + "/frame-06.png").pixels, try render(domains["sketch"]!, codes))
        XCTAssertEqual(try loadImage(path: folder + "/frame-11.png").pixels, try render(domains["pixar"]!, codes))
        // A frame between waypoints is the blend of the weights there (t = 0.3: 60% of the way from base to sketch).
        let between = try base.blended([(domains["sketch"]!, 0.6), (domains["pixar"]!, 0)])
        XCTAssertEqual(try loadImage(path: folder + "/frame-04.png").pixels, try render(between, codes))

        for name in names {
            let provenance = try XCTUnwrap(try readProvenance(path: folder + "/" + name).provenance, name)
            XCTAssertEqual(provenance.inputSHA256, FileDigest.sha256Hex(of: try Data(contentsOf: URL(fileURLWithPath: photo))))
            XCTAssertEqual(provenance.domain, "photo -> sketch -> pixar")
            XCTAssertTrue(provenance.extra["frame"]?.hasPrefix("\(Int(name.dropFirst(6).prefix(2))!) of 11") ?? false, "\(provenance.extra)")
            XCTAssertNotNil(provenance.modelSHA256["generator pixar"])
        }

        // Existing frames are never replaced without overwrite, and the refusal comes before any frame changes.
        let before = try Data(contentsOf: URL(fileURLWithPath: folder + "/frame-01.png"))
        let other = try makeVideo(store, ["pixar"]) { $0.frames = 11 }
        XCTAssertThrowsError(try other.write(from: .photo(photo), to: folder, overwrite: false)) {
            XCTAssertTrue("\($0)".contains("frame-01.png") && "\($0)".contains("--overwrite"), "\($0)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/frame-01.png")), before)
        XCTAssertEqual(try other.write(from: .photo(photo), to: folder, overwrite: true), 11)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).count, 11, "no temporary files left")
        XCTAssertEqual(try loadImage(path: folder + "/frame-11.png").pixels, try render(domains["pixar"]!, codes))
    }

    func testSeedNeedsNoEncoderAndStartsAtGeneratesSample() throws {
        let (store, base, domains) = try makeStore()
        // No encoder in the store any more: a seed must not need one.
        unlink(try store.resolve(name: "e4e")!)
        let folder = dir + "/seed"
        var command = try VideoCommand.parseAsRoot(["--seed", "7", "--models", store.root, "--domain", "sketch", "--frames", "3",
                                                    "--compare", "--output", folder])
        try command.run()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), ["frame-1.png", "frame-2.png", "frame-3.png"])

        // The same code `generate --count 1 --seed 7` renders with the base generator.
        let basePath = try DomainRegistry(store: store).resolve("sketch").baseGeneratorPath
        var generation = ImageGeneration(generatorPath: basePath, output: dir + "/generated.png")
        generation.count = 1; generation.seed = 7
        _ = try generation.run(store: store)
        let generated = try loadImage(path: dir + "/generated.png")
        var rng = SeededRandom(seed: 7)
        let w = try Autograd.noGrad { try base.mapping(Tensor.randn([1, base.config.styleDim], using: &rng)) }
        let codes = w.reshaped([1, 1, base.config.styleDim]).expanded(to: [1, base.config.nLatent, base.config.styleDim]).copy()
        XCTAssertEqual(try render(base, codes), generated.pixels, "the sampled code is generate's")

        // --compare with a seed: the unedited base render on the left of every frame, the frame on the right.
        func halves(_ name: String) throws -> (left: [UInt8], right: [UInt8]) {
            let image = try loadImage(path: folder + "/" + name)
            XCTAssertEqual(image.width, 128); XCTAssertEqual(image.height, 64)
            var left: [UInt8] = [], right: [UInt8] = []
            for y in 0..<64 {
                left += image.pixels[(y * 128 * 3)..<((y * 128 + 64) * 3)]
                right += image.pixels[((y * 128 + 64) * 3)..<((y + 1) * 128 * 3)]
            }
            return (left, right)
        }
        let first = try halves("frame-1.png"), last = try halves("frame-3.png")
        XCTAssertEqual(first.left, generated.pixels)
        XCTAssertEqual(last.left, generated.pixels)
        XCTAssertEqual(first.right, generated.pixels)
        XCTAssertEqual(last.right, try render(domains["sketch"]!, codes))
        let provenance = try XCTUnwrap(try readProvenance(path: folder + "/frame-1.png").provenance)
        XCTAssertEqual(provenance.extra["seed"], "7")
        XCTAssertNil(provenance.modelSHA256["encoder"])
    }

    func testCompareDoublesTheWidthOfTheMP4() throws {
        let (store, _, _) = try makeStore()
        let photo = DirectionsPipelineTests.fixture("encoders/input_face.png")
        let path = dir + "/compare.mp4"
        let video = try makeVideo(store, ["sketch"]) { $0.frames = 3; $0.compare = true }
        XCTAssertEqual(try video.write(from: .photo(photo), to: path, overwrite: false), 3)
        let stream = try probe(path)
        XCTAssertEqual(stream["width"] as? Int, 128)
        XCTAssertEqual(stream["height"] as? Int, 64)
        XCTAssertEqual(stream["nb_read_frames"] as? String, "3")
    }

    func testEditRampStartsAtAAndEndsAtB() throws {
        let (store, base, domains) = try makeStore()
        let direction = (0..<12).map { Float($0 % 5) - 2 }
        try writeNpy(ArrayData(shape: [12], floats: direction), to: dir + "/dir.npy")
        try store.add(file: dir + "/dir.npy", kind: .directions, name: "tilt")
        let photo = DirectionsPipelineTests.fixture("encoders/input_face.png")
        let folder = dir + "/ramp"
        let video = try makeVideo(store, ["sketch"], edits: ["tilt=-2:+3@1:4"]) { $0.frames = 3 }
        XCTAssertEqual(try video.write(from: .photo(photo), to: folder, overwrite: false), 3)

        func shifted(_ amount: Float) throws -> Tensor {
            let codes = try invertedCodes()
            let d = codes.shape[2]
            for row in 1..<4 { for j in 0..<d { codes.pointer[row * d + j] += amount * direction[j] } }
            return codes
        }
        // Frame 0: what `edit --strength 0 --edit tilt=-2@1:4` renders (the base generator on codes edited by -2).
        var settings = DomainEditor.Settings(); settings.toolVersion = "test"; settings.strength = 0
        let editor = try DomainEditor(encoderPath: try store.resolve(name: "e4e")!, domains: [try DomainRegistry(store: store).resolve("sketch")],
                                      edits: [try EditSpec.parse("tilt=-2@1:4")], editResolver: LatentEditResolver(store: store),
                                      settings: settings, aligner: try PhotoAligner(mode: .center, landmarkModel: nil))
        let summary = try BatchRunner(options: BatchOptions(outputDirectory: dir + "/edited", domains: ["sketch"]), processor: editor).run(inputs: [try photos()])
        XCTAssertEqual(summary.processed.count, 1, "\(summary.failed)")
        let edited = try loadImage(path: dir + "/edited/face.sketch.png").pixels
        XCTAssertEqual(edited, try render(base, try shifted(-2)))
        XCTAssertEqual(try loadImage(path: folder + "/frame-1.png").pixels, edited, "frame 0 is amount A")
        XCTAssertEqual(try loadImage(path: folder + "/frame-2.png").pixels, try render(try base.blended([(domains["sketch"]!, 0.5)]), try shifted(0.5)))
        XCTAssertEqual(try loadImage(path: folder + "/frame-3.png").pixels, try render(domains["sketch"]!, try shifted(3)), "the last frame is amount B")
        let record = try XCTUnwrap(try readProvenance(path: folder + "/frame-1.png").provenance?.extra["edit.1"])
        XCTAssertTrue(record.contains("ramped -2.0 to 3.0"), record)
    }

    func testBadVideoSpecsFailBeforeAnyWork() throws {
        let (store, _, _) = try makeStore()
        let photo = DirectionsPipelineTests.fixture("encoders/input_face.png")
        let out = dir + "/bad.mp4"
        for (domains, problem) in [(["photo", "sketch", "nosuch"], "nosuch"), (["sketch", "other"], "different base generators"),
                                   (["photo", "photo"], "has no domain")] {
            XCTAssertThrowsError(try { var c = try VideoCommand.parseAsRoot([photo, "--models", store.root, "--output", out] + domains.flatMap { ["--domain", $0] }); try c.run() }(), "\(domains)") {
                XCTAssertTrue("\($0)".contains(problem) || VideoCommand.message(for: $0).contains(problem), "\(domains): \($0)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
        // A ramp is for `video` only: edit, watch and generate refuse it while parsing.
        for arguments in [["edit", photo, "--domain", "sketch", "--edit", "age=-3:+3"], ["watch", dir, "--domain", "sketch", "--output", dir + "/o", "--edit", "age=-3:+3"],
                          ["generate", "--generator", "g.pt", "--count", "1", "--output", "x.png", "--edit", "age=-3:+3"]] {
            XCTAssertThrowsError(try NadaEdit.parseAsRoot(arguments), "\(arguments)") {
                XCTAssertTrue(NadaEdit.message(for: $0).contains("only for `nada-edit video`"), NadaEdit.message(for: $0))
            }
        }
    }

    func testDomainPathWaypointsAndWeights() throws {
        let path = try DomainPath.parse(["photo", "sketch", "pixar=0.6,sketch=0.4"])
        XCTAssertEqual(path.waypoints.map(\.label), ["photo", "sketch", "pixar60_sketch40"])
        XCTAssertEqual(path.domainNames, ["sketch", "pixar"])
        XCTAssertEqual(path.weights(at: 0), [0, 0])
        XCTAssertEqual(path.weights(at: 0.25), [0.5, 0])
        XCTAssertEqual(path.weights(at: 0.5), [1, 0])
        XCTAssertEqual(path.weights(at: 0.75), [0.7, 0.3])
        XCTAssertEqual(path.weights(at: 1), [0.4, 0.6])
        // Today's forms: one domain is photo -> it (at --strength), NAME=W values are one blend.
        XCTAssertEqual(try DomainPath.parse(["sketch"], strength: 0.5).waypoints.map(\.weights), [[], [DomainBlend.Member(name: "sketch", weight: 0.5)]])
        XCTAssertEqual(try DomainPath.parse(["sketch=0.5", "pixar=0.5"]).waypoints.map(\.label), ["photo", "sketch50_pixar50"])
        // A domain installed as `photo` is reached as photo=1.
        XCTAssertEqual(try DomainPath.parse(["photo=1"]).domainNames, ["photo"])
        XCTAssertThrowsError(try DomainPath.parse(["photo", "a=0.7,b=0.7"])) { XCTAssertTrue("\($0)".contains("sum to"), "\($0)") }
        XCTAssertThrowsError(try DomainPath.parse(["photo", "a=0.5,b=0.5"], strength: 0.5)) { XCTAssertTrue("\($0)".contains("--strength"), "\($0)") }

        let ramp = try EditSpec.parse("age=-3:+3@0:8", allowRamp: true)
        XCTAssertEqual(ramp.ramp, EditSpec.AmountRamp(from: -3, to: 3)); XCTAssertEqual(ramp.amount, 3); XCTAssertEqual(ramp.rows, LatentRows(start: 0, end: 8))
        XCTAssertEqual(ramp.ramp?.amount(at: 0.5), 0)
        XCTAssertThrowsError(try EditSpec.parse("age=-3:+3")) { XCTAssertTrue("\($0)".contains("only for `nada-edit video`"), "\($0)") }
        XCTAssertThrowsError(try EditSpec.parse("age=a:3", allowRamp: true)) { XCTAssertTrue("\($0)".contains("two finite numbers"), "\($0)") }
    }

    func testVideoCommandChecksItsArgumentsBeforeWork() throws {
        for (arguments, problem) in [(["photo.png", "--domain", "a", "--output", "v.mov"], "FILE.mp4 or a folder"),
                                     (["photo.png", "--domain", "a", "--size", "65", "--output", "v.mp4"], "must be even"),
                                     (["photo.png", "--domain", "a", "--frames", "1", "--output", "v.mp4"], "--frames"),
                                     (["photo.png", "--domain", "a=0.5", "--domain", "b=0.6", "--output", "v.mp4"], "sum to"),
                                     (["--domain", "a", "--output", "v.mp4"], "give a PHOTO, or --seed"),
                                     (["photo.png", "--seed", "3", "--domain", "a", "--output", "v.mp4"], "not both"),
                                     (["photo.png", "--domain", "a", "--truncation", "0.7", "--output", "v.mp4"], "--truncation applies"),
                                     (["photo.png", "--domain", "a", "--edit", "age=x:1", "--output", "v.mp4"], "two finite numbers")] {
            XCTAssertThrowsError(try VideoCommand.parseAsRoot(arguments), "\(arguments)") {
                XCTAssertTrue(VideoCommand.message(for: $0).contains(problem), VideoCommand.message(for: $0))
            }
        }
        XCTAssertNoThrow(try VideoCommand.parseAsRoot(["photo.png", "--domain", "a=0.5", "--domain", "b=0.5", "--output", "v.mp4", "--edit", "age=2"]))
        XCTAssertNoThrow(try VideoCommand.parseAsRoot(["--seed", "1", "--domain", "photo", "--domain", "a", "--domain", "b", "--edit", "age=-3:+3",
                                                       "--size", "65", "--output", "frames"]))
    }
}
