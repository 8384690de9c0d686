import Formats
import Models

/// `nada-edit models inspect`: the container as Formats reads it, with the models recognised in it by their
/// own loaders' shape inference.
public enum ModelInspection {
    public static func describe(path: String, maxTensors: Int = Int.max) throws -> String {
        let file = try loadFile(path)
        return Formats.describe(file, maxTensors: maxTensors, architectures: ModelArchitecture.describe(file))
    }
}
