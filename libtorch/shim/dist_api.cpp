// dist_api.cpp - ytrain's c10d wrapper (see dist_api.h), compiled into
// libgotch_tch.so by build_shim.sh against libtorch 1.13 (Debian) or 2.x
// (pip). Built with -DUSE_C10D_GLOO always, -DUSE_C10D_NCCL when the
// libtorch has CUDA and nccl.h is found, and -I gloo-decl (gloo's headers
// ship with neither).

#include "dist_api.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/version.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace {

// Since 2.0 the collectives live on c10d::Backend (ProcessGroup dispatches
// to one per device type); in 1.13 ProcessGroupGloo/NCCL are ProcessGroups.
// Both have the same collective methods, and one backend is all we need.
#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

char *dup(const std::string &s) { return strdup(s.c_str()); }

// c10::Error's what() carries a C++ backtrace; the message is what a user needs.
std::string message(const std::exception &e) {
  if (auto ce = dynamic_cast<const c10::Error *>(&e)) return ce->what_without_backtrace();
  return e.what();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

} // namespace

struct atd_group {
  std::string backend;
  int rank = 0, size = 1;
  std::chrono::milliseconds timeout{0};
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Collectives> pg; // reset after a failure: that closes gloo's sockets
  std::string broken;                 // the failure that reset pg
  bool reduceScatterUnsupported = false;
  int rollCalls = 0;
};

namespace {

// run calls f and turns an exception into *err and a return of 1. A failed
// collective leaves c10d's group unusable (peers may be mid-operation), so it
// is dropped: for gloo that closes its connections, which makes the other
// ranks' pending collectives fail at once instead of at their timeout.
template <typename F> int run(atd_group *g, const char *what, char **err, F f) {
  *err = nullptr;
  if (g == nullptr) {
    *err = dup(std::string(what) + ": no process group");
    return 1;
  }
  if (!g->pg) {
    *err = dup(std::string(what) + ": the process group failed earlier: " + g->broken);
    return 1;
  }
  try {
    at::NoGradGuard no_grad; // parameters are leaves that require grad: copy_ into them must not record
    f();
    return 0;
  } catch (const std::exception &e) {
    g->broken = std::string(what) + ": " + message(e);
  } catch (...) {
    g->broken = std::string(what) + ": unknown C++ exception";
  }
  *err = dup(g->broken);
  try {
    g->pg.reset();
  } catch (...) {
  }
  return 1;
}

void wait(atd_group *g, const c10::intrusive_ptr<c10d::Work> &w) {
  // gloo enforces the group's timeout inside every operation (and a timed-out
  // Work::wait would leave gloo's thread writing into our tensors); NCCL's
  // wait only blocks the CPU when given a timeout.
  if (g->backend == "nccl") {
    w->wait(g->timeout);
  } else {
    w->wait();
  }
}

at::Tensor &tensorAt(void *p, const char *what) {
  if (p == nullptr) throw std::invalid_argument(std::string(what) + " is a null tensor");
  auto t = static_cast<at::Tensor *>(p);
  if (!t->defined()) throw std::invalid_argument(std::string(what) + " is an undefined tensor");
  return *t;
}

// Packs tensors that share a dtype and device into one flat buffer each, so
// a list of tensors (e.g. every gradient) costs one collective per buffer.
// c10d's own list arguments mean "one tensor per local device", not this.
struct Packed {
  at::Tensor flat;
  std::vector<at::Tensor> parts;
};

std::vector<at::Tensor> tensorsAt(void **tensors, int n) {
  std::vector<at::Tensor> ts;
  for (int i = 0; i < n; i++) ts.push_back(tensorAt(tensors[i], "tensor"));
  return ts;
}

// buckets splits tensors, in order, into runs of about capBytes (0: one run),
// so that packing never copies more than that at once.
std::vector<std::vector<at::Tensor>> buckets(const std::vector<at::Tensor> &ts, int64_t capBytes) {
  std::vector<std::vector<at::Tensor>> out(1);
  int64_t bytes = 0;
  for (auto &t : ts) {
    int64_t b = t.numel() * static_cast<int64_t>(t.element_size());
    if (capBytes > 0 && !out.back().empty() && bytes + b > capBytes) {
      out.emplace_back();
      bytes = 0;
    }
    out.back().push_back(t);
    bytes += b;
  }
  return out;
}

std::vector<Packed> pack(const std::vector<at::Tensor> &ts) {
  std::map<std::pair<int, std::string>, size_t> index;
  std::vector<Packed> packs;
  for (const at::Tensor &t : ts) {
    auto key = std::make_pair(static_cast<int>(t.scalar_type()), t.device().str());
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, packs.size()).first;
      packs.emplace_back();
    }
    packs[it->second].parts.push_back(t);
  }
  for (auto &p : packs) {
    if (p.parts.size() == 1 && p.parts[0].is_contiguous()) {
      p.flat = p.parts[0]; // in place, no copy
      continue;
    }
    std::vector<at::Tensor> flats;
    for (auto &t : p.parts) flats.push_back(t.reshape({-1}));
    p.flat = at::cat(flats);
  }
  return packs;
}

void unpack(std::vector<Packed> &packs) {
  for (auto &p : packs) {
    if (p.parts.size() == 1 && p.flat.is_same(p.parts[0])) continue;
    int64_t off = 0;
    for (auto &t : p.parts) {
      int64_t n = t.numel();
      t.copy_(p.flat.narrow(0, off, n).view(t.sizes()));
      off += n;
    }
  }
}

// chunks returns size views of flat's equal slices, each shaped like shape.
std::vector<at::Tensor> chunks(const at::Tensor &flat, int size, at::IntArrayRef shape, int64_t n) {
  std::vector<at::Tensor> out;
  at::Tensor f = flat.view({-1});
  for (int r = 0; r < size; r++) out.push_back(f.narrow(0, r * n, n).view(shape));
  return out;
}

void checkGather(const at::Tensor &big, const at::Tensor &small, int size, const char *bigName) {
  if (!big.is_contiguous()) throw std::invalid_argument(std::string(bigName) + " must be contiguous");
  if (big.scalar_type() != small.scalar_type())
    throw std::invalid_argument(std::string(bigName) + " and the other tensor must share a dtype");
  if (big.numel() != small.numel() * size)
    throw std::invalid_argument(std::string(bigName) + " has " + std::to_string(big.numel()) +
                                " elements, want " + std::to_string(size) + " × " +
                                std::to_string(small.numel()));
}

c10::intrusive_ptr<Collectives> newGloo(atd_group *g, const std::string &iface, const std::string &host) {
  auto opts = c10d::ProcessGroupGloo::Options::create(g->timeout);
  if (!iface.empty()) {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface));
  } else if (!host.empty()) {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
  } else {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  opts->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, g->rank, g->size, opts);
}

c10::intrusive_ptr<Collectives> newNCCL(atd_group *g) {
#ifdef USE_C10D_NCCL
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = g->timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(g->store, g->rank, g->size, opts);
#else
  (void)g;
  throw std::invalid_argument("backend nccl: this libgotch_tch.so was built against a libtorch without "
                              "NCCL (libtorch " TORCH_VERSION "); rebuild the shim against a CUDA libtorch");
#endif
}

} // namespace

extern "C" {

const char *atd_backends(void) {
#ifdef USE_C10D_NCCL
  return "gloo,nccl";
#else
  return "gloo";
#endif
}

atd_group *atd_new(const char *backend, const char *store_host, int store_port, int rank, int size,
                   int64_t timeout_ms, const char *gloo_iface, const char *gloo_host, char **err) {
  *err = nullptr;
  auto g = std::make_unique<atd_group>();
  try {
    g->backend = lower(backend ? backend : "");
    g->rank = rank;
    g->size = size;
    g->timeout = std::chrono::milliseconds(timeout_ms);
    if (size < 1 || rank < 0 || rank >= size)
      throw std::invalid_argument("rank " + std::to_string(rank) + " of world size " + std::to_string(size));
    if (store_port <= 0 || store_port > 65535)
      throw std::invalid_argument("store port " + std::to_string(store_port));
    if (timeout_ms <= 0) throw std::invalid_argument("timeout must be positive");
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(store_port);
    so.isServer = rank == 0;
    so.numWorkers = static_cast<std::size_t>(size);
    so.waitWorkers = true;
    so.timeout = g->timeout;
    try {
      g->store = c10::make_intrusive<c10d::TCPStore>(std::string(store_host ? store_host : ""), so);
    } catch (const std::exception &e) {
      throw std::runtime_error("TCPStore at " + std::string(store_host ? store_host : "") + ":" +
                               std::to_string(store_port) + (rank == 0 ? " (serving)" : "") + ": " +
                               message(e));
    }
    if (g->backend == "gloo") {
      g->pg = newGloo(g.get(), gloo_iface ? gloo_iface : "", gloo_host ? gloo_host : "");
    } else if (g->backend == "nccl") {
      g->pg = newNCCL(g.get());
    } else {
      throw std::invalid_argument("unknown backend \"" + g->backend + "\" (want gloo or nccl)");
    }
    return g.release();
  } catch (const std::exception &e) {
    *err = dup(message(e));
  } catch (...) {
    *err = dup("unknown C++ exception");
  }
  return nullptr;
}

void allreduce(atd_group *g, const std::vector<at::Tensor> &ts, int64_t bucketBytes) {
  for (auto &bucket : buckets(ts, bucketBytes)) {
    auto packs = pack(bucket);
    for (auto &p : packs) {
      std::vector<at::Tensor> one{p.flat};
      c10d::AllreduceOptions o;
      o.reduceOp = c10d::ReduceOp::SUM;
      wait(g, g->pg->allreduce(one, o));
    }
    unpack(packs);
  }
}

int atd_allreduce_sum(atd_group *g, void **tensors, int n, int64_t bucket_bytes, char **err) {
  return run(g, "all-reduce", err, [&] { allreduce(g, tensorsAt(tensors, n), bucket_bytes); });
}

int atd_allreduce_grads(atd_group *g, void **params, int n, int64_t bucket_bytes, char **err) {
  return run(g, "gradient all-reduce", err, [&] {
    std::vector<at::Tensor> grads;
    for (at::Tensor &p : tensorsAt(params, n)) {
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p); // no backward reached it here
      grads.push_back(p.grad());
    }
    allreduce(g, grads, bucket_bytes);
  });
}

int atd_broadcast(atd_group *g, void **tensors, int n, int root, int64_t bucket_bytes, char **err) {
  return run(g, "broadcast", err, [&] {
    if (root < 0 || root >= g->size) throw std::invalid_argument("root rank " + std::to_string(root));
    for (auto &bucket : buckets(tensorsAt(tensors, n), bucket_bytes)) {
      auto packs = pack(bucket);
      for (auto &p : packs) {
        std::vector<at::Tensor> one{p.flat};
        c10d::BroadcastOptions o;
        o.rootRank = root;
        wait(g, g->pg->broadcast(one, o));
      }
      unpack(packs);
    }
  });
}

int atd_allgather(atd_group *g, void *out, void *in, char **err) {
  return run(g, "all-gather", err, [&] {
    at::Tensor &o = tensorAt(out, "all-gather output");
    at::Tensor i = tensorAt(in, "all-gather input").contiguous();
    checkGather(o, i, g->size, "all-gather output");
    std::vector<std::vector<at::Tensor>> outs{chunks(o, g->size, i.sizes(), i.numel())};
    std::vector<at::Tensor> ins{i};
    wait(g, g->pg->allgather(outs, ins));
  });
}

int atd_reduce_scatter_sum(atd_group *g, void *out, void *in, char **err) {
  return run(g, "reduce-scatter", err, [&] {
    at::Tensor &o = tensorAt(out, "reduce-scatter output");
    at::Tensor &i = tensorAt(in, "reduce-scatter input");
    checkGather(i.is_contiguous() ? i : i.contiguous(), o, g->size, "reduce-scatter input");
    int64_t n = o.numel();
    if (!g->reduceScatterUnsupported) {
      at::Tensor oc = o.is_contiguous() ? o : o.contiguous();
      std::vector<at::Tensor> outs{oc};
      std::vector<std::vector<at::Tensor>> ins{chunks(i.contiguous(), g->size, o.sizes(), n)};
      c10d::ReduceScatterOptions opts;
      opts.reduceOp = c10d::ReduceOp::SUM;
      c10::intrusive_ptr<c10d::Work> w;
      try {
        w = g->pg->reduce_scatter(outs, ins, opts);
      } catch (const std::exception &e) {
        // gloo in libtorch 1.13 has no reduce_scatter; it says so before any
        // communication, on every rank alike. Fall back to an all-reduce.
        if (message(e).find("does not support reduce_scatter") == std::string::npos) throw;
        g->reduceScatterUnsupported = true;
      }
      if (w) {
        wait(g, w);
        if (!oc.is_same(o)) o.copy_(oc);
        return;
      }
    }
    at::Tensor sum = i.reshape({-1}).clone();
    std::vector<at::Tensor> one{sum};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    wait(g, g->pg->allreduce(one, opts));
    o.copy_(sum.narrow(0, g->rank * n, n).view(o.sizes()));
  });
}

int atd_barrier(atd_group *g, char **err) {
  return run(g, "barrier", err, [&] {
    c10d::BarrierOptions o;
    o.timeout = g->timeout;
    wait(g, g->pg->barrier(o));
  });
}

int atd_copy_into(void *out, void *in, char **err) {
  *err = nullptr;
  try {
    at::NoGradGuard no_grad;
    at::Tensor &o = tensorAt(out, "output");
    at::Tensor &i = tensorAt(in, "input");
    if (o.numel() != i.numel())
      throw std::invalid_argument("output has " + std::to_string(o.numel()) + " elements, input " +
                                  std::to_string(i.numel()));
    if (!o.is_same(i)) o.copy_(i.reshape(o.sizes()));
    return 0;
  } catch (const std::exception &e) {
    *err = dup(message(e));
  } catch (...) {
    *err = dup("unknown C++ exception");
  }
  return 1;
}

char *atd_roll_call(atd_group *g, int64_t wait_ms, char **err) {
  *err = nullptr;
  if (g == nullptr || !g->store) {
    *err = dup("roll call: no store");
    return nullptr;
  }
  try {
    std::string prefix = "ytrain/roll-call/" + std::to_string(g->rollCalls++) + "/";
    g->store->set(prefix + std::to_string(g->rank), std::vector<uint8_t>{1});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    std::vector<int> missing;
    for (;;) {
      missing.clear();
      for (int r = 0; r < g->size; r++)
        if (!g->store->check({prefix + std::to_string(r)})) missing.push_back(r);
      if (missing.empty() || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // rank 0 serves the store: it stays until the others have read it
    g->store->set(prefix + "done/" + std::to_string(g->rank), std::vector<uint8_t>{1});
    if (g->rank == 0) {
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
      for (int r = 1; r < g->size && std::chrono::steady_clock::now() < until; r++) {
        if (std::find(missing.begin(), missing.end(), r) != missing.end()) continue;
        while (!g->store->check({prefix + "done/" + std::to_string(r)}) && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    std::string s;
    for (int r : missing) s += (s.empty() ? "" : ",") + std::to_string(r);
    return dup(s);
  } catch (const std::exception &e) {
    *err = dup("roll call: " + message(e));
  } catch (...) {
    *err = dup("roll call: unknown C++ exception");
  }
  return nullptr;
}

void atd_free(atd_group *g) {
  if (g == nullptr) return;
  try {
    g->pg.reset();
    g->store.reset();
  } catch (...) {
  }
  delete g;
}

} // extern "C"
