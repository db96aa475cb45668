// A downstream program built against @buffered_pipe//:buffered_pipe, with
// the same dependency macro as buffered_pipe's own WORKSPACE (the absl label
// below resolves through it).
//
// For now it only proves that the umbrella header is reachable as
// "buffered_pipe/buffered_pipe.h" from another workspace and that the program
// links and runs; the owner of framework/ will make it use the real API
// (it names no library symbol yet, so it does not break while the API moves).
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "buffered_pipe/buffered_pipe.h"

int main() {
  const std::string line =
      absl::StrFormat("bazel_consumer: built against @buffered_pipe//:buffered_pipe (%s)",
                      "buffered_pipe/buffered_pipe.h");
  std::puts(line.c_str());
  return 0;
}
