// The seed's Static_Pipe example in C++: a forked process sends
// "Hello, world!" padded to 32 bytes (the pipe's record size), a thread of
// this process receives and prints it; both start behind a barrier shared by
// the three of them.
//
//   bazel run //examples:static_pipe

#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <thread>

#include "buffered_pipe/buffered_pipe.h"
#include "examples/process_barrier.h"

namespace {

void Foo(ProcessBarrier& barrier, buffered_pipe::StaticPipeEnd& pipe_send) {
  // No register() needed: fork() registered this process already.
  barrier.Wait();
  std::string record = "Hello, world!";
  record.resize(32, ' ');  // every record of this pipe is exactly 32 bytes
  if (absl::Status status = pipe_send.send_bytes(record); !status.ok()) {
    std::cerr << "send failed: " << status << "\n";
  }
}

void Bar(ProcessBarrier& barrier, buffered_pipe::StaticPipeEnd& pipe_recv) {
  barrier.Wait();
  absl::StatusOr<std::string> record = pipe_recv.recv_bytes();
  if (!record.ok()) {
    std::cerr << "recv failed: " << record.status() << "\n";
    return;
  }
  // The seed prints the padded record; print the text without the padding.
  record->erase(record->find_last_not_of(' ') + 1);
  std::cout << *record << std::endl;
}

}  // namespace

int main() {
  ProcessBarrier barrier(3);  // multiprocessing.Barrier(3)
  if (!barrier.ok()) return 1;
  absl::StatusOr<std::pair<buffered_pipe::StaticPipeEnd, buffered_pipe::StaticPipeEnd>> pipe =
      buffered_pipe::StaticPipe({.object_size = 32, .object_count = 16, .duplex = false});
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
