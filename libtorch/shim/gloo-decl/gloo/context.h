// Declarations only; see ../README.
#pragma once
#include <chrono>

namespace gloo {
// ProcessGroupGloo.hpp (libtorch 2.x) has an inline setTimeout that calls
// Context::setTimeout; nothing in dist_api.cpp calls it.
class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};
} // namespace gloo
