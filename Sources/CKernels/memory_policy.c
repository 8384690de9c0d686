#include "ckernels.h"
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// By default glibc serves every block above its mmap threshold (at most 32 MB) with a fresh mmap and
// returns it with munmap when freed. A StyleGAN2 pass at 1024 allocates hundreds of such activations,
// so every one of them is page-faulted in and zeroed by the kernel again: ~8 % of a forward pass.
// With the threshold at 1 GB, freed activations stay in the heap and the next ones reuse their pages;
// Likewise glibc gives the free top of the heap back to the system as soon as it exceeds 128 kB, so
// the next pass faults it in again (another ~5 %: 0.6 s of system time over six 1024 passes); up to
// 1 GB of free top stays mapped instead. Neither raises the high-water mark: the pages are reused.
// Each setting is left alone when the user set its glibc environment variable.
int nada_keep_large_blocks_in_heap(void) {
#if defined(__GLIBC__)
    int applied = 0;
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL) applied |= mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1;
    if (getenv("MALLOC_TRIM_THRESHOLD_") == NULL) applied |= mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
    return applied;
#else
    return 0;
#endif
}
