// The C++ side of the binding-overhead measurement of
// benchmarks/python/compare.py: one thread sends and receives 128-byte
// messages on one pipe (1 MiB ring, no peer, never waits), the loop the
// Python benchmark runs through the module. Prints the best of five runs in
// nanoseconds per message.
//
//   binding_baseline COUNT

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "buffered_pipe/buffered_pipe.h"

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 100000;
  auto pipe = buffered_pipe::Pipe({.buffer_size = 1 << 20});
  if (!pipe.ok()) {
    std::cerr << pipe.status() << "\n";
    return 1;
  }
  auto& [receiver, sender] = *pipe;
  const std::string payload(128, 'x');
  std::string message;
  double best = 1e18;
  for (int run = 0; run < 5; ++run) {
    const auto began = std::chrono::steady_clock::now();
    for (long i = 0; i < count; ++i) {
      if (!sender.send_bytes(payload).ok() || !receiver.recv_bytes_into(message).ok()) return 1;
    }
    const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - began;
    best = std::min(best, elapsed.count() / static_cast<double>(count));
  }
  std::cout << best << " ns per message\n";
  return 0;
}
