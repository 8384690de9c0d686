import Engine
print("nada-bench: kernels are added with the engine benchmarks")
