import ArgumentParser

/// The `nada-edit` command: thin glue over the libraries. Each subcommand lives in its own file.
public struct NadaEdit: ParsableCommand {
    public static let version = "0.1.0"
    public static let configuration = CommandConfiguration(
        commandName: "nada-edit",
        abstract: "StyleGAN-NADA on the CPU: train generator domains from text and edit photos with them.",
        version: version,
        subcommands: [Edit.self, Train.self, Invert.self, Generate.self, Watch.self, Demo.self, Embed.self, Tokenize.self,
                      Models.self, Domains.self, Directions.self, VideoCommand.self, Provenance.self,
                      Status.self, Queue.self],
        defaultSubcommand: Edit.self
    )
    public init() {}
}
