// The C++ half of examples/python/worker_pool.py: a producer that opens the
// named pipe "NAME" (created by the Python side) and sends COUNT tasks, one
// text message "task <i> <number>" each, then closes its end (the workers
// see end of stream once the pipe is drained).
//
//   cpp_producer NAME COUNT

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "buffered_pipe/buffered_pipe.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: cpp_producer NAME COUNT\n";
    return 2;
  }
  absl::StatusOr<buffered_pipe::PipeEnd> tasks =
      buffered_pipe::OpenNamedPipe(argv[1], buffered_pipe::kSendingSide);
  if (!tasks.ok()) {
    std::cerr << "cpp_producer: " << tasks.status() << "\n";
    return 1;
  }
  const int count = std::atoi(argv[2]);
  for (int i = 0; i < count; ++i) {
    const std::string task = "task " + std::to_string(i) + " " + std::to_string(i * 7 + 3);
    if (absl::Status status = tasks->send_bytes(task); !status.ok()) {
      std::cerr << "cpp_producer: " << status << "\n";
      return 1;
    }
  }
  std::cout << "cpp_producer: sent " << count << " tasks\n";
  return 0;
}
