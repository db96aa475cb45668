// The record type the named-pipe tests exchange with static_pipe_peer.

#ifndef BUFFERED_PIPE_TESTS_STATIC_PEER_RECORD_H_
#define BUFFERED_PIPE_TESTS_STATIC_PEER_RECORD_H_

#include <cstdint>

namespace buffered_pipe::testing {

struct PeerRecord {
  std::int64_t sequence;
  std::int64_t answered_by;  // pid of the peer that answered; 0 in a request
  char text[48];
};
static_assert(sizeof(PeerRecord) == 64);

}  // namespace buffered_pipe::testing

#endif  // BUFFERED_PIPE_TESTS_STATIC_PEER_RECORD_H_
