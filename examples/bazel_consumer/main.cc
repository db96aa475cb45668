// A downstream program built against @buffered_pipe//:buffered_pipe, with
// the same dependency macro as buffered_pipe's own WORKSPACE (the absl label
// below resolves through it). Placeholder use of the umbrella header until
// the real API lands.
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "buffered_pipe/buffered_pipe.h"

int main() {
  const std::string line = absl::StrFormat("bazel_consumer: buffered_pipe layout version %d",
                                           buffered_pipe::kLayoutVersionPlaceholder);
  std::puts(line.c_str());
  return 0;
}
