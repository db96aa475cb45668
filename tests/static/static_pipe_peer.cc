// An unrelated process for the named static pipe tests: it opens the pipe
// by name (it shares nothing with the test but the name) and answers every
// record with the record transformed.
//
//   static_pipe_peer <name>
//
// Opens side kSecond of a duplex typed pipe of PeerRecord, receives records
// until end of stream and sends back each one with `sequence` negated and
// `answered_by` set to its pid. Exit status: 0 after end of stream, 2 if the
// pipe cannot be opened, 3 on any other error.

#include <unistd.h>

#include <cstdio>
#include <string>

#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "tests/static/peer_record.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <pipe name>\n", argv[0]);
    return 2;
  }
  using buffered_pipe::testing::PeerRecord;
  absl::StatusOr<buffered_pipe::TypedStaticPipeEnd<PeerRecord>> end =
      buffered_pipe::OpenNamedTypedStaticPipe<PeerRecord>(argv[1], buffered_pipe::Side::kSecond);
  if (!end.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(end.status().message()).c_str());
    return 2;
  }
  for (;;) {
    absl::StatusOr<buffered_pipe::IncomingSlot<PeerRecord>> incoming = end->begin_recv();
    if (buffered_pipe::IsEndOfStream(incoming.status())) return 0;
    if (!incoming.ok()) {
      std::fprintf(stderr, "recv: %s\n", std::string(incoming.status().message()).c_str());
      return 3;
    }
    PeerRecord answer = **incoming;
    incoming->release();
    answer.sequence = -answer.sequence;
    answer.answered_by = static_cast<std::int64_t>(getpid());
    if (absl::Status status = end->send(answer); !status.ok()) {
      std::fprintf(stderr, "send: %s\n", std::string(status.message()).c_str());
      return 3;
    }
  }
}
