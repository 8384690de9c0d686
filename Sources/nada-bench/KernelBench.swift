import Engine

/// `nada-bench kernels`: the engine's hot kernels at StyleGAN2 sizes, each rated against sgemm.
/// FLOPs: GEMM 2mnk; conv 2·N·O·Ho·Wo·(C/groups)·kh·kw forward, twice that backward (dx and dW);
/// upfirdn2d 2·(outputs)·(kernel taps that meet nonzero samples: kh·kw/up²).
func runKernelBench(_ options: BenchOptions) {
    var rng = SeededRandom(seed: 1)
    let repeats = options.repeats

    // sgemm 2048³
    let n = 2048
    let a = Tensor.randn([n, n], using: &rng), b = Tensor.randn([n, n], using: &rng), c = Tensor.zeros([n, n])
    let gemmSeconds = timeBest(repeats: repeats) {
        sgemm(m: n, n: n, k: n, a: a.pointer, b: b.pointer, c: c.pointer)
    }
    let gemmFlops = 2 * Double(n * n * n)
    let sgemmRate = gemmFlops / gemmSeconds * 1e-9
    report("sgemm 2048x2048x2048", seconds: gemmSeconds, flops: gemmFlops, sgemmRate: sgemmRate)

    // conv2d 3x3 512->512, 64x64, batch 2, padding 1
    let x = Tensor.randn([2, 512, 64, 64], using: &rng)
    let w = Tensor.randn([512, 512, 3, 3], using: &rng)
    let convFlops = 2 * Double(2 * 512 * 64 * 64 * 512 * 9)
    let fwd = timeBest(repeats: repeats) { _ = Autograd.noGrad { x.conv2d(weight: w, padding: 1) } }
    report("conv2d 3x3 512->512 64x64 b2 forward", seconds: fwd, flops: convFlops, sgemmRate: sgemmRate)

    x.requiresGrad = true; w.requiresGrad = true
    let seed = Tensor.randn([2, 512, 64, 64], using: &rng)
    let bwd = timeBest(repeats: repeats) {
        // Each backward needs a recorded forward: time both and subtract the forward time.
        let y = x.conv2d(weight: w, padding: 1)
        y.backward(seed)
        x.grad = nil; w.grad = nil
    } - fwd
    report("conv2d 3x3 512->512 64x64 b2 backward", seconds: bwd, flops: 2 * convFlops, sgemmRate: sgemmRate)
    x.requiresGrad = false; w.requiresGrad = false

    // conv_transpose2d 3x3 stride 2, 512->512, 32x32 -> 65x65, batch 2 (StyleGAN2's upsampling conv at 64x64)
    let xt = Tensor.randn([2, 512, 32, 32], using: &rng)
    let wt = Tensor.randn([512, 512, 3, 3], using: &rng)
    let convTFlops = 2 * Double(2 * 512 * 32 * 32 * 512 * 9)
    let tf = timeBest(repeats: repeats) { _ = Autograd.noGrad { xt.convTranspose2d(weight: wt, stride: 2) } }
    report("conv_transpose2d 3x3 s2 512->512 32x32 b2 fwd", seconds: tf, flops: convTFlops, sgemmRate: sgemmRate)
    xt.requiresGrad = true; wt.requiresGrad = true
    let tseed = Tensor.randn([2, 512, 65, 65], using: &rng)
    let tb = timeBest(repeats: repeats) {
        xt.convTranspose2d(weight: wt, stride: 2).backward(tseed)
        xt.grad = nil; wt.grad = nil
    } - tf
    report("conv_transpose2d 3x3 s2 512->512 32x32 b2 bwd", seconds: tb, flops: 2 * convTFlops, sgemmRate: sgemmRate)
    xt.requiresGrad = false; wt.requiresGrad = false

    // upfirdn2d: StyleGAN2 Upsample (kernel outer([1,3,3,1])/16, up 2, pad (2, 1)) at 256x256x128
    let k1: [Float] = [1, 3, 3, 1]
    let kernel = Tensor(shape: [4, 4], values: (0..<16).map { k1[$0 / 4] * k1[$0 % 4] / 16 })
    let u = Tensor.randn([1, 128, 256, 256], using: &rng)
    let upFlops = 2 * Double(128 * 512 * 512) * 16 / 4
    let up = timeBest(repeats: repeats) { _ = Autograd.noGrad { u.upfirdn2d(kernel: kernel, up: 2, pad: (2, 1, 2, 1)) } }
    report("upfirdn2d up2 [1,3,3,1] 256x256x128 forward", seconds: up, flops: upFlops, sgemmRate: sgemmRate)
    u.requiresGrad = true
    let useed = Tensor.randn([1, 128, 512, 512], using: &rng)
    let upBwd = timeBest(repeats: repeats) {
        let y = u.upfirdn2d(kernel: kernel, up: 2, pad: (2, 1, 2, 1))
        y.backward(useed)
        u.grad = nil
    } - up
    report("upfirdn2d up2 [1,3,3,1] 256x256x128 backward", seconds: upBwd, flops: upFlops, sgemmRate: sgemmRate)
}
