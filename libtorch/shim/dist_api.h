/* dist_api.h - ytrain's C API over libtorch's c10d (dist_api.cpp), compiled
 * into libgotch_tch.so by build_shim.sh and used by internal/dist.
 *
 * One group per process: a TCPStore (server on rank 0) for the rendezvous and
 * a ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA, when the libtorch has
 * it). Tensors are gotch's handles (torch::Tensor *). Nothing throws across
 * this boundary: a function that fails returns non-zero (or NULL) and sets
 * *err to a malloc'd message the caller frees. All ranks must call the
 * collectives in the same order, from one thread at a time.
 */
#ifndef YTRAIN_DIST_API_H
#define YTRAIN_DIST_API_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct atd_group atd_group;

/* "gloo" or "gloo,nccl": the backends this shim was built with. */
const char *atd_backends(void);

/* atd_new joins the group: backend "gloo" or "nccl"; store_host:store_port
 * is the TCPStore (rank 0 serves it); timeout_ms bounds the rendezvous and
 * every collective. gloo_iface (a network interface) or else gloo_host (an
 * address of this machine) picks gloo's transport; both empty: gloo's
 * default (this host's name, else loopback). */
atd_group *atd_new(const char *backend, const char *store_host, int store_port,
                   int rank, int size, int64_t timeout_ms,
                   const char *gloo_iface, const char *gloo_host, char **err);

/* Sums each tensor over the ranks, in place. The tensors are taken in
 * buckets of about bucket_bytes (0: all at once), and a bucket's tensors are
 * packed into one buffer per dtype and device: one collective each. */
int atd_allreduce_sum(atd_group *g, void **tensors, int n, int64_t bucket_bytes, char **err);

/* Sums each parameter's gradient over the ranks, in place, bucketed as
 * above. A parameter without a gradient (no backward reached it on this
 * rank) gets a zero one first. */
int atd_allreduce_grads(atd_group *g, void **params, int n, int64_t bucket_bytes, char **err);

/* Copies each tensor of rank root over the others' (bucketed as above). */
int atd_broadcast(atd_group *g, void **tensors, int n, int root, int64_t bucket_bytes, char **err);

/* out (size × in's elements, contiguous) gets every rank's in, rank order. */
int atd_allgather(atd_group *g, void *out, void *in, char **err);

/* in has size × out's elements: out gets the sum over ranks of this rank's
 * slice of in (rank r's slice is elements [r·n, (r+1)·n)). */
int atd_reduce_scatter_sum(atd_group *g, void *out, void *in, char **err);

int atd_barrier(atd_group *g, char **err);

/* out.copy_(in) with in viewed in out's shape, outside autograd: what the
 * gathers are in a world of one, where there is no group. */
int atd_copy_into(void *out, void *in, char **err);

/* After a failed collective: each rank that gets here answers in the store;
 * returns (malloc'd, comma-separated) the ranks that had not answered
 * within wait_ms, "" if all did, or NULL with *err if the store itself is
 * gone (rank 0 hosts it). Rank 0 returns only when every rank that
 * answered has read the roll, or after another wait_ms. */
char *atd_roll_call(atd_group *g, int64_t wait_ms, char **err);

/* Leaves the group and frees it; safe on NULL and after errors. */
void atd_free(atd_group *g);

#ifdef __cplusplus
}
#endif

#endif
