// The statuses and constants that the ring's files (ring*.cc) share. Internal
// to the ring: nothing outside framework/internal/ring*.cc includes it.

#ifndef BUFFERED_PIPE_INTERNAL_RING_STATUS_H_
#define BUFFERED_PIPE_INTERNAL_RING_STATUS_H_

#include <cstdint>

#include "absl/status/status.h"

namespace buffered_pipe::internal {

// Largest chunk a streamed message is cut into (see SendTransaction::NextChunk).
inline constexpr std::uint64_t kStreamChunkBytes = 64 * 1024;

inline absl::Status BrokenPipeError() {
  return absl::FailedPreconditionError("broken pipe: every receiving end is closed");
}
inline absl::Status EndOfStreamError() {
  return absl::OutOfRangeError("end of stream: every sending end is closed");
}
inline absl::Status ClosedError() { return absl::CancelledError("this end is closed"); }
inline absl::Status StreamAbortedError() {
  return absl::AbortedError("the sender abandoned the message while streaming it");
}

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_RING_STATUS_H_
