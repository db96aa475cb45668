// Errors of buffered_pipe and how to tell them apart.
//
// Every fallible call returns absl::Status or absl::StatusOr<T>; nothing
// throws. Each condition a caller may want to act on has its own status code,
// and a predicate that names it:
//
//   code                 predicate         meaning
//   -------------------  ----------------  -------------------------------------------
//   OUT_OF_RANGE         IsEndOfStream     every sending end is closed (in every
//                                          process) and the pipe is drained
//   FAILED_PRECONDITION  IsBrokenPipe      every receiving end is closed: nobody will
//                                          ever read what would be sent
//   CANCELLED            IsClosed          this end was closed (before or during the call)
//   UNAVAILABLE          IsWouldBlock      a try_ call would have had to wait
//   DEADLINE_EXCEEDED    IsTimeout         the deadline passed first
//   INVALID_ARGUMENT                       bad option, wrong size, empty (moved-from)
//                                          end, wrong direction
//   RESOURCE_EXHAUSTED                     out of shared memory, too many processes
//   DATA_LOSS                              the shared memory is corrupted
//   NOT_FOUND, ALREADY_EXISTS,             opening and creating named pipes
//   PERMISSION_DENIED
//
// A call that fails sends or receives nothing: no message is half-sent, and a
// message is only taken out of the pipe by a call that returns it.

#ifndef BUFFERED_PIPE_STATUS_H_
#define BUFFERED_PIPE_STATUS_H_

#include "absl/status/status.h"

namespace buffered_pipe {

inline bool IsEndOfStream(const absl::Status& status) { return absl::IsOutOfRange(status); }
inline bool IsBrokenPipe(const absl::Status& status) {
  return absl::IsFailedPrecondition(status);
}
inline bool IsClosed(const absl::Status& status) { return absl::IsCancelled(status); }
inline bool IsWouldBlock(const absl::Status& status) { return absl::IsUnavailable(status); }
inline bool IsTimeout(const absl::Status& status) { return absl::IsDeadlineExceeded(status); }

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_STATUS_H_
