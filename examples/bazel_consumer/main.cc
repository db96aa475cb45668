// A downstream program built against @buffered_pipe//:buffered_pipe from a
// separate Bazel workspace (see WORKSPACE here): a forked child sends a
// message through a pipe, this process receives and prints it.
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
  auto& [receiver, sender] = *pipe;
  const pid_t child = fork();
  if (child == 0) {
    _exit(sender.send_bytes("bazel_consumer: hello through @buffered_pipe").ok() ? 0 : 1);
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
  // The child exited, so its copy of the sending end is closed too.
  const bool end_of_stream = buffered_pipe::IsEndOfStream(receiver.recv_bytes().status());
  return end_of_stream && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
