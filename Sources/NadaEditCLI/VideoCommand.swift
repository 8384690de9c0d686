import ArgumentParser
import Foundation
import Pipeline

/// `nada-edit video PHOTO --domain NAME --output FILE.mp4`: the photo turning from its reconstruction into its edit.
public struct VideoCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "video",
        abstract: "Write an H.264 MP4 of a photo turning from its reconstruction into its edit by a domain or blend.",
        discussion: """
        Frame k of N (t = k/(N-1)) renders the generator base + t·(domain - base) on the codes w + t·(w_edited - w), \
        so the first frame is the base generator's reconstruction and the last is what `edit` writes with the same \
        --domain, --strength and --edit options. yuv420p, through FFmpeg's libraries (libx264). The largest face is \
        used; --faces, --compare and --quality do not apply.
        """
    )

    @OptionGroup public var common: CommonOptions
    @OptionGroup public var editor: EditorOptions

    @Option(name: .customLong("domain"), help: ArgumentHelp("The domain (one), or NAME=W values for one blend (see `edit --help`).", valueName: "NAME[=W]"))
    public var domains: [String] = []

    @Argument(help: ArgumentHelp("The photo (JPEG or PNG).", valueName: "PHOTO"))
    public var photo: String

    @Option(name: .long, help: ArgumentHelp("The video file to write (.mp4).", valueName: "FILE.mp4"))
    public var output: String

    @Option(name: .long, help: ArgumentHelp("Frames from the reconstruction to the edit, both included.", valueName: "N"))
    public var frames: Int = 48

    @Option(name: .long, help: ArgumentHelp("Frames per second.", valueName: "N"))
    public var fps: Int = 24

    @Option(name: .long, help: ArgumentHelp("x264 constant rate factor, 0-51 (lower is better; 18 is visually lossless).", valueName: "N"))
    public var crf: Int = 18

    @Flag(name: .long, help: "Play the transition back again so the video loops without a jump.")
    public var boomerang = false

    @Flag(name: .long, help: "Replace an existing output file.")
    public var overwrite = false

    public init() {}

    public func validate() throws {
        let selection = try EditorOptions.domainSelection(domains)
        if selection.outputNames.count != 1 { throw ValidationError("give one --domain NAME, or NAME=W values for one blend") }
        if !output.lowercased().hasSuffix(".mp4") { throw ValidationError("--output must end in .mp4, got \(output)") }
        if frames < 2 || frames > 10_000 { throw ValidationError("--frames must be between 2 and 10000") }
        if fps < 1 || fps > 240 { throw ValidationError("--fps must be between 1 and 240") }
        if crf < 0 || crf > 51 { throw ValidationError("--crf must be between 0 and 51") }
        if let size = editor.size, size % 2 != 0 { throw ValidationError("--size must be even for a video (yuv420p), got \(size)") }
    }

    public func run() throws {
        common.applyThreads()
        let processor = try editor.makeEditor(store: common.store, domains: domains)
        var settings = TransitionVideoSettings()
        settings.frames = frames; settings.fps = fps; settings.crf = crf; settings.boomerang = boomerang
        let name = try EditorOptions.domainSelection(domains).outputNames[0]
        let count = try processor.writeTransitionVideo(photo: photo, output: name, settings: settings, to: output, overwrite: overwrite) { done, total in
            if done == total || done % 10 == 0 { printError("frame \(done)/\(total)") }
        }
        print("wrote \(count) frames (\(name)) to \(output)")
    }
}
