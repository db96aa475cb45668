// A downstream program built against an installed buffered_pipe, outside
// this tree: with CMake (find_package, CMakeLists.txt here) and with
// pkg-config (`c++ main.cc $(pkg-config --cflags --libs buffered_pipe)`).
// A forked child sends a message, this process receives and prints it, then
// sees end of stream once the child has exited.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "buffered_pipe/buffered_pipe.h"

int main() {
  auto pipe = buffered_pipe::Pipe({.buffer_size = 4096});
  if (!pipe.ok()) {
    std::fprintf(stderr, "%s\n", pipe.status().ToString().c_str());
    return 1;
  }
  buffered_pipe::PipeEnd& receiver = pipe->first;
  buffered_pipe::PipeEnd& sender = pipe->second;
  const pid_t child = fork();
  if (child == 0) {
    _exit(sender.send_bytes(std::string("consumer: hello through buffered_pipe ") +
                            buffered_pipe::kVersion)
                  .ok()
              ? 0
              : 1);
  }
  (void)sender.close();  // the child's copy stays open until it exits
  absl::StatusOr<std::string> message = receiver.recv_bytes();
  int status = 0;
  waitpid(child, &status, 0);
  if (!message.ok()) {
    std::fprintf(stderr, "%s\n", message.status().ToString().c_str());
    return 1;
  }
  std::puts(message->c_str());
  const bool end_of_stream = buffered_pipe::IsEndOfStream(receiver.recv_bytes().status());
  return end_of_stream && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
