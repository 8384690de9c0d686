#include "ckernels.h"
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// By default glibc serves every block above its mmap threshold (at most 32 MB) with a fresh mmap and
// returns it with munmap when freed. A StyleGAN2 pass at 1024 allocates hundreds of such activations,
// so every one of them is page-faulted in and zeroed by the kernel again: ~8 % of a forward pass.
// With the threshold at 1 GB, freed activations stay in the heap and the next ones reuse their pages;
// glibc still returns the top of the heap to the system (M_TRIM_THRESHOLD is unchanged).
int nada_keep_large_blocks_in_heap(void) {
#if defined(__GLIBC__)
    if (getenv("MALLOC_MMAP_THRESHOLD_") != NULL) return 0;
    return mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1;
#else
    return 0;
#endif
}
