// The seed's Generic_Pipe example in C++: a forked process sends
// "Hello, world!", a thread of this process receives and prints it; both
// start behind a barrier shared by the three of them.
//
//   bazel run //examples:generic_pipe

#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "buffered_pipe/buffered_pipe.h"
#include "examples/process_barrier.h"

namespace {

void Foo(ProcessBarrier& barrier, buffered_pipe::PipeEnd& pipe_send) {
  // No register() needed: fork() registered this process already.
  barrier.Wait();
  if (absl::Status status = pipe_send.send_bytes("Hello, world!"); !status.ok()) {
    std::cerr << "send failed: " << status << "\n";
  }
}

void Bar(ProcessBarrier& barrier, buffered_pipe::PipeEnd& pipe_recv) {
  barrier.Wait();
  absl::StatusOr<std::string> message = pipe_recv.recv_bytes();
  if (!message.ok()) {
    std::cerr << "recv failed: " << message.status() << "\n";
    return;
  }
  std::cout << *message << std::endl;
}

}  // namespace

int main() {
  ProcessBarrier barrier(3);  // multiprocessing.Barrier(3)
  if (!barrier.ok()) return 1;
  absl::StatusOr<std::pair<buffered_pipe::PipeEnd, buffered_pipe::PipeEnd>> pipe =
      buffered_pipe::Pipe({.buffer_size = 2048, .duplex = false});
  if (!pipe.ok()) {
    std::cerr << pipe.status() << "\n";
    return 1;
  }
  auto& [pipe_recv, pipe_send] = *pipe;

  const pid_t process = fork();  // P = multiprocessing.Process(target=foo)
  if (process == 0) {
    Foo(barrier, pipe_send);
    _exit(0);
  }
  // T = threading.Thread(target=bar)
  std::thread thread(Bar, std::ref(barrier), std::ref(pipe_recv));
  barrier.Wait();
  int status = 0;
  waitpid(process, &status, 0);
  thread.join();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
