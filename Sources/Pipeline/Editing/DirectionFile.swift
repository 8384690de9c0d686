import Foundation
import Formats
import Models

/// What a direction file holds, read safely through `Formats` (nothing in the file is executed).
///
/// - an InterFaceGAN boundary: a bare tensor (`torch.save(tensor)` or `.npy`) of shape [D], [1, D] (one
///   direction for every W+ row), or [N, D] / [1, N, D] (one per row, like e4e's `pose.pt`);
/// - a GANSpace PCA as e4e ships it: a dict with `comp` [K, D] or [K, 1, D], `std` [K] and `mean` [D] or [1, D];
/// - SeFa components as `directions factorize` writes them: [K, D] rows; used as `FILE=AMOUNT` they are
///   ambiguous, so a [K, D] file with K ≠ 1 and K ≠ n_latent is refused when applied (`sefa:K` is the way).
public enum DirectionFile {
    case direction(LatentDirection)
    case pca(GANSpacePCA)

    public static func load(_ path: String) throws -> DirectionFile {
        guard FileOps.isRegularFile(path) else { throw PipelineError.io(path: path, problem: "direction file not found") }
        let file: LoadedFile
        do { file = try loadFile(path) } catch { throw PipelineError.io(path: path, problem: "cannot read as a direction: \(error)") }
        if file.root["comp"] != nil || file.root["std"] != nil {
            return .pca(try pca(file))
        }
        let tensors = file.tensors
        guard tensors.count == 1, let array = tensors.first?.array else {
            throw PipelineError.io(path: path, problem: "holds \(tensors.count) tensors; a direction file holds one tensor (an InterFaceGAN boundary) or a GANSpace PCA dict with comp, std and mean")
        }
        guard array.dtype.isFloatingPoint else {
            throw PipelineError.io(path: path, problem: "the direction has dtype \(array.dtype.rawValue); expected floating point")
        }
        var shape = array.shape
        while shape.count > 1 && shape[0] == 1 { shape.removeFirst() }
        guard shape.count <= 2, let dim = shape.last, dim > 0 else {
            throw PipelineError.io(path: path, problem: "the direction has shape \(array.shape); expected [D], [1, D], [N, D] or [1, N, D]")
        }
        do {
            return .direction(try LatentDirection(values: array.floats(), rowCount: shape.count == 2 ? shape[0] : 1, styleDim: dim))
        } catch { throw PipelineError.io(path: path, problem: "\(error)") }
    }

    static func pca(_ file: LoadedFile) throws -> GANSpacePCA {
        func array(_ key: String) throws -> ArrayData {
            guard let a = file.root[key]?.tensor, a.dtype.isFloatingPoint else {
                throw PipelineError.io(path: file.path, problem: "a GANSpace PCA needs a floating-point tensor '\(key)' (e4e's ffhq_pca.pt has comp, std and mean)")
            }
            return a
        }
        let comp = try array("comp"), std = try array("std"), mean = try array("mean")
        let d = mean.shape.last ?? 0
        guard mean.count == d, d > 0 else { throw PipelineError.io(path: file.path, problem: "GANSpace 'mean' has shape \(mean.shape); expected [D] or [1, D]") }
        let k = std.count
        guard std.shape.filter({ $0 != 1 }).count <= 1 else { throw PipelineError.io(path: file.path, problem: "GANSpace 'std' has shape \(std.shape); expected [K]") }
        guard comp.count == k * d, comp.shape.first == k, comp.shape.last == d else {
            throw PipelineError.io(path: file.path, problem: "GANSpace 'comp' has shape \(comp.shape); expected [\(k), \(d)] or [\(k), 1, \(d)] to match std [\(k)] and mean [\(d)]")
        }
        do { return try GANSpacePCA(components: comp.floats(), std: std.floats(), mean: mean.floats()) }
        catch { throw PipelineError.io(path: file.path, problem: "\(error)") }
    }
}
