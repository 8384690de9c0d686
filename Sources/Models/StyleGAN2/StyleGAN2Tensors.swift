import Engine

/// What the blocks read at forward time: the generator's parameters and buffers by exact state-dict name.
///
/// Blocks hold names, never tensors, so the trainer can swap, copy or interpolate entries in the
/// generator's dictionary and the next forward uses them.
struct StyleGAN2Tensors {
    let parameters: [String: Tensor]
    let buffers: [String: Tensor]

    @inline(__always)
    func parameter(_ name: String) -> Tensor {
        guard let t = parameters[name] else { preconditionFailure("StyleGAN2: parameter '\(name)' is missing") }
        return t
    }

    func buffer(_ name: String) -> Tensor? { buffers[name] }
}
