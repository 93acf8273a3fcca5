// ops_api.cpp - libtorch ops ytrain needs that gotch's generated C API
// lacks, compiled into libgotch_tch.so by build_shim.sh (never stubbed) and
// used by internal/torch. Tensors are gotch's handles (torch::Tensor *).
// Nothing throws across this boundary: a function that fails returns NULL
// and sets *err to a malloc'd message the caller frees.

#include <cstdlib>
#include <cstring>
#include <exception>

#include <ATen/ATen.h>
#include <torch/version.h>

static char *atx_dup(const char *s) {
  char *p = static_cast<char *>(std::malloc(std::strlen(s) + 1));
  if (p) std::strcpy(p, s);
  return p;
}

extern "C" {

// atx_sdpa_gqa is scaled-dot-product attention of q (B, nH, T, hd) over k
// and v (B, nKV, S, hd), nH a multiple of nKV, without repeating k and v per
// query head (enable_gqa, libtorch >= 2.5); mask (B, 1, T, S) bool or NULL,
// causal for a query block aligned with its keys.
void *atx_sdpa_gqa(void *q, void *k, void *v, void *mask, int causal, char **err) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
  try {
    c10::optional<at::Tensor> m;
    if (mask) m = *static_cast<at::Tensor *>(mask);
    at::Tensor y = at::scaled_dot_product_attention(
        *static_cast<at::Tensor *>(q), *static_cast<at::Tensor *>(k), *static_cast<at::Tensor *>(v),
        m, 0.0, causal != 0, c10::nullopt, /*enable_gqa=*/true);
    return new at::Tensor(std::move(y));
  } catch (const std::exception &e) {
    *err = atx_dup(e.what());
    return nullptr;
  }
#else
  (void)q; (void)k; (void)v; (void)mask; (void)causal;
  *err = atx_dup("stubbed: grouped-query SDPA needs libtorch 2.5 or later");
  return nullptr;
#endif
}

}  // extern "C"
