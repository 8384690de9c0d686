// One copy of the includer's kernels, with KFN(name) already defined for its instruction set: included
// by kernel_copies.h once per copy (no include guard on purpose). Not a public header.
#ifdef NADA_WINOGRAD_COMMON
#include "winograd_common_kernel.h"
#endif
#include NADA_KERNEL_BODY
#ifdef NADA_KERNEL_BODY2
#include NADA_KERNEL_BODY2
#endif
