// A request/response service between two processes over a duplex pipe, with
// typed messages: cereal structs of strings and vectors.
//
//   bazel run //examples:typed_service
//
// The parent is the client, a forked child the server. The client sends
// requests (one of them larger than the pipe's buffer, so it streams) and
// waits for each response with a timeout; the server answers until it sees
// end of stream, i.e. until the client has closed its end.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "buffered_pipe/buffered_pipe.h"

namespace {

struct Request {
  std::uint64_t id = 0;
  std::string operation;  // "sum", "mean" or "join"
  std::vector<double> operands;
  std::vector<std::string> words;

  // cereal serializes the fields in this order: that is the message format.
  template <class Archive>
  void serialize(Archive& archive) {
    archive(id, operation, operands, words);
  }
};

struct Response {
  std::uint64_t id = 0;
  bool ok = false;
  double number = 0;
  std::string text;
  std::string error;

  template <class Archive>
  void serialize(Archive& archive) {
    archive(id, ok, number, text, error);
  }
};

Response Handle(const Request& request) {
  Response response;
  response.id = request.id;
  response.ok = true;
  if (request.operation == "sum") {
    response.number = std::accumulate(request.operands.begin(), request.operands.end(), 0.0);
  } else if (request.operation == "mean" && !request.operands.empty()) {
    response.number = std::accumulate(request.operands.begin(), request.operands.end(), 0.0) /
                      static_cast<double>(request.operands.size());
  } else if (request.operation == "join") {
    for (const std::string& word : request.words) {
      response.text += (response.text.empty() ? "" : " ") + word;
    }
  } else {
    response.ok = false;
    response.error = "cannot " + request.operation + " " +
                     std::to_string(request.operands.size()) + " operands";
  }
  return response;
}

// The server: answers requests until the client closes its end.
int Serve(buffered_pipe::ResponderEnd<Request, Response>& responder) {
  for (;;) {
    absl::StatusOr<Request> request = responder.recv();
    if (buffered_pipe::IsEndOfStream(request.status())) return 0;  // the client is done
    if (absl::IsDataLoss(request.status())) {
      // Not a valid Request (corrupted, or another program's message): it has
      // been consumed; the next one is unaffected.
      std::cerr << "server: dropped a bad request: " << request.status() << "\n";
      continue;
    }
    if (!request.ok()) {
      std::cerr << "server: " << request.status() << "\n";
      return 1;
    }
    if (absl::Status sent = responder.send(Handle(*request)); !sent.ok()) {
      // IsBrokenPipe: the client closed its end before reading the answer.
      std::cerr << "server: cannot answer " << request->id << ": " << sent << "\n";
      return buffered_pipe::IsBrokenPipe(sent) ? 0 : 1;
    }
  }
}

// The client: one request, one response, with a timeout.
bool Ask(buffered_pipe::RequesterEnd<Request, Response>& requester, const Request& request) {
  if (absl::Status sent = requester.send(request); !sent.ok()) {
    std::cerr << "client: cannot send " << request.id << ": " << sent << "\n";
    return false;
  }
  absl::StatusOr<Response> response = requester.recv_for(std::chrono::seconds(5));
  if (!response.ok()) {
    // IsTimeout: the server is slow or stuck; IsEndOfStream: it exited.
    std::cerr << "client: no response to " << request.id << ": " << response.status() << "\n";
    return false;
  }
  std::cout << "request " << response->id << " (" << request.operation << "): ";
  if (!response->ok) {
    std::cout << "error: " << response->error << "\n";
  } else if (!response->text.empty()) {
    std::cout << "\"" << response->text << "\"\n";
  } else {
    std::cout << response->number << "\n";
  }
  return response->id == request.id;
}

}  // namespace

int main() {
  // (requester end, responder end). 4 KiB per direction: the large request
  // below streams through it in pieces while the server decodes it.
  auto pipe = buffered_pipe::TypedDuplexPipe<Request, Response>({.buffer_size = 4096});
  if (!pipe.ok()) {
    std::cerr << pipe.status() << "\n";
    return 1;
  }
  auto& requester = pipe->first;
  auto& responder = pipe->second;

  const pid_t server = fork();
  if (server < 0) return 1;
  if (server == 0) {
    (void)requester.close();  // the child keeps only the server's end
    _exit(Serve(responder));
  }
  (void)responder.close();  // the parent keeps only the client's end

  std::vector<double> many(100000);
  std::iota(many.begin(), many.end(), 1.0);  // 800 KB of operands
  bool ok = true;
  ok &= Ask(requester, Request{1, "sum", {1.5, 2.5, 3}, {}});
  ok &= Ask(requester, Request{2, "mean", many, {}});
  ok &= Ask(requester, Request{3, "join", {}, {"typed", "messages", "over", "shared", "memory"}});
  ok &= Ask(requester, Request{4, "divide", {1, 0}, {}});  // answered with an error

  (void)requester.close();  // end of stream: the server returns
  int status = 0;
  waitpid(server, &status, 0);
  const bool server_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!server_ok) std::cerr << "the server failed\n";
  return ok && server_ok ? 0 : 1;
}
