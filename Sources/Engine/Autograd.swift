/// Reverse-mode automatic differentiation.
///
/// Each recorded op stores a `GradNode`: its inputs and a closure mapping the output's gradient to one
/// gradient per input. `backward()` walks the graph in reverse topological order, sums gradients that
/// meet at a tensor, hands leaves their `.grad`, and drops nodes as it goes so activations are freed.
/// Nothing is recorded inside `Autograd.noGrad` or when no input needs a gradient.
///
/// Whether ops record is per thread: `noGrad` on one thread (inference) does not stop another thread
/// from recording its graph (training), so the two may run at once without a lock. Ops do their
/// arithmetic on worker threads (`parallelFor`) but create tensors and record on the calling thread.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class GradNode {
    let inputs: [Tensor]
    let backward: (Tensor) -> [Tensor?]
    init(inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.inputs = inputs
        self.backward = backward
    }
}

public enum Autograd {
    /// The calling thread's recording state: no value (every thread's start) records, a non-nil value
    /// does not. A pthread key rather than Foundation's thread dictionary: it is read on every op, and
    /// `pthread_getspecific` is a few nanoseconds (measured in `AutogradThreadTests`).
    private static let notRecordingKey: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "Autograd: pthread_key_create failed (\(status)): out of thread-local keys")
        return key
    }()

    /// Whether ops on the calling thread record their gradients (false inside `noGrad`).
    public static var isRecording: Bool {
        @inline(__always) get { pthread_getspecific(notRecordingKey) == nil }
    }

    private static func setRecording(_ on: Bool) {
        pthread_setspecific(notRecordingKey, on ? nil : UnsafeRawPointer(bitPattern: 1))
    }

    /// Evaluates `body` without recording on the calling thread: no graph, no kept activations. Other
    /// threads keep recording.
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R {
        let saved = isRecording
        if saved { setRecording(false) }
        defer { if saved { setRecording(true) } }
        return try body()
    }

    /// Gradients of `output` (a scalar unless `seed` is given) w.r.t. `inputs`, without touching `.grad`.
    public static func gradients(of output: Tensor, wrt inputs: [Tensor], seed: Tensor? = nil) -> [Tensor?] {
        let saved = inputs.map { ($0.requiresGrad, $0.grad) }
        for t in inputs { t.requiresGrad = true; t.grad = nil }
        output.backward(seed)
        let result = inputs.map { $0.grad }
        for (t, s) in zip(inputs, saved) { t.requiresGrad = s.0; t.grad = s.1 }
        return result
    }
}

extension Tensor {
    /// Records `node` on `out` when recording is on and some input needs a gradient.
    @inline(__always)
    func recorded(_ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        if Autograd.isRecording, inputs.contains(where: { $0.needsGrad }) {
            node = GradNode(inputs: inputs, backward: backward)
        }
        return self
    }

    /// Back-propagates from this tensor. `seed` defaults to 1 for a one-element tensor.
    /// Gradients accumulate into `.grad` of every leaf with `requiresGrad`.
    public func backward(_ seed: Tensor? = nil) {
        let start: Tensor
        if let seed {
            precondition(seed.shape == shape, "backward: seed shape \(seed.shape) differs from output shape \(shape)")
            start = seed
        } else {
            precondition(count == 1, "backward: output of shape \(shape) is not a scalar; pass a seed gradient")
            start = Tensor(shape: shape, repeating: 1)
        }
        if !needsGrad { return }

        // Reverse topological order by iterative DFS (graphs can be thousands of ops deep).
        var order: [Tensor?] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if visited.contains(ObjectIdentifier(t)) { continue }
            visited.insert(ObjectIdentifier(t))
            stack.append((t, true))
            if let node = t.node {
                for input in node.inputs where input.needsGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }

        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
        Autograd.noGrad {
            // Each tensor is released from `order` once handled, so activations are freed as backward
            // passes them rather than when it ends.
            for index in order.indices.reversed() {
                guard let t = order[index] else { continue }
                order[index] = nil
                guard let g = pending.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                if let node = t.node {
                    let grads = node.backward(g)
                    precondition(grads.count == node.inputs.count, "internal: backward returned \(grads.count) gradients for \(node.inputs.count) inputs")
                    for (input, grad) in zip(node.inputs, grads) {
                        guard let grad, input.needsGrad else { continue }
                        precondition(grad.shape == input.shape, "internal: gradient shape \(grad.shape) for input of shape \(input.shape)")
                        let key = ObjectIdentifier(input)
                        if let existing = pending[key] { pending[key] = existing.adding(grad) } else { pending[key] = grad }
                    }
                    t.node = nil // frees the activations the closure captured
                }
                if t.requiresGrad {
                    // A leaf owns its gradient buffer: op gradients may be shared between inputs.
                    t.grad = t.grad.map { $0.adding(g) } ?? g.copy()
                }
            }
        }
    }

    /// Plain elementwise sum of same-shape tensors, not recorded (used inside backward).
    func adding(_ other: Tensor) -> Tensor {
        precondition(shape == other.shape, "internal: adding \(shape) and \(other.shape)")
        let out = Tensor.empty(shape)
        let a = pointer, b = other.pointer, o = out.pointer
        parallelFor(count, minChunk: 1 << 15) { r in for i in r { o[i] = a[i] + b[i] } }
        return out
    }
}
