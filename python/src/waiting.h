// Blocking calls from Python: wait with the GIL released, and let Ctrl-C in.
//
// A call that may block (send, recv, poll, wait_for_peer) first tries once
// without waiting while it holds the GIL (the fast path: no GIL hand-off
// when the pipe is ready); if it would block, it waits in slices of at most
// kSlice with the GIL released, and between slices takes the GIL back and
// runs Python's signal handlers (PyErr_CheckSignals): a KeyboardInterrupt
// raised there ends the call at once. Cutting a wait into slices is safe for
// the library's calls: a receive that times out in the middle of a streamed
// message keeps its place (pipe.h), and a send that times out has sent
// nothing.

#ifndef BUFFERED_PIPE_PYTHON_WAITING_H_
#define BUFFERED_PIPE_PYTHON_WAITING_H_

#include <pybind11/pybind11.h>

#include <algorithm>
#include <chrono>

#include "absl/status/status.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/status.h"

namespace buffered_pipe::python {

// Longest wait with the GIL released before signal handlers run. Several
// times the library's 50 ms poll interval: a blocked call looks for dead
// peers only at a poll, and a slice no longer than one interval would end
// before its first poll (a dead sender would then never be noticed).
inline constexpr std::chrono::milliseconds kSlice{200};

// None: no deadline; a number of seconds (0 or less: do not wait).
Deadline DeadlineOfTimeout(const pybind11::object& timeout);

// Runs pending signal handlers; throws pybind11::error_already_set if one
// raised (KeyboardInterrupt).
void RunSignalHandlers();

// Calls `attempt(Deadline)` until it does not time out or `deadline` has
// passed, as described above. `try_first`: make the first attempt a
// non-blocking one with the GIL held. A call that would block at a
// non-blocking `deadline` returns DeadlineExceeded, so that every timeout is
// TimeoutError in Python.
template <typename Attempt>
absl::Status WaitInterruptibly(const Deadline& deadline, bool try_first, Attempt&& attempt) {
  if (try_first || deadline.is_non_blocking()) {
    absl::Status status = attempt(Deadline::NonBlocking());
    if (!IsWouldBlock(status)) return status;
    if (deadline.is_non_blocking()) return absl::DeadlineExceededError("timed out");
  }
  for (;;) {
    const Deadline slice_end = Deadline::After(kSlice);
    const bool last = !deadline.is_infinite() &&
                      deadline.monotonic_nanoseconds() <= slice_end.monotonic_nanoseconds();
    absl::Status status;
    {
      pybind11::gil_scoped_release release;
      status = attempt(last ? deadline : slice_end);
    }
    if (IsWouldBlock(status)) status = absl::DeadlineExceededError("timed out");
    if (!IsTimeout(status) || last) return status;
    RunSignalHandlers();
  }
}

}  // namespace buffered_pipe::python

#endif  // BUFFERED_PIPE_PYTHON_WAITING_H_
