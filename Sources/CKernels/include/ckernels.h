#ifndef NADA_CKERNELS_H
#define NADA_CKERNELS_H

// C code the tensor engine needs where Swift cannot say it: the process's allocator policy.

/// Asks glibc to serve large blocks from the heap instead of fresh mmaps (see memory_policy.c).
/// Returns 1 when the policy was applied, 0 when it was left alone (not glibc, or the user set
/// MALLOC_MMAP_THRESHOLD_ themselves).
int nada_keep_large_blocks_in_heap(void);

#endif
