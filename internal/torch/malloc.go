package torch

// #include <malloc.h>
// static int tune_malloc(void) {
//   /* the largest mmap threshold glibc accepts on 64-bit, and no trimming below 1 GB */
//   return mallopt(M_MMAP_THRESHOLD, 32 << 20) && mallopt(M_TRIM_THRESHOLD, 1 << 30);
// }
import "C"

// libtorch allocates every activation with malloc; glibc serves the large
// ones (attention scores, logits) with fresh mmaps and gives them back at
// free, so each step page-faults its whole working set anew: score spent
// more time in the kernel than computing (bench/score.sh: 2041 → 2673
// tokens/s with these settings). Keeping freed memory in the heap instead
// is what PyTorch's caching does on a GPU.
func init() { C.tune_malloc() }
