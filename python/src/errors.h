// Python exceptions for the library's absl::Status codes.
//
//   code                  exception
//   --------------------  ------------------------------------------------
//   OUT_OF_RANGE          EOFError          (end of stream: every sender closed)
//   FAILED_PRECONDITION   BrokenPipeError   (every receiver closed)
//   CANCELLED             OSError           ("handle is closed", as Connection)
//   DEADLINE_EXCEEDED     TimeoutError
//   UNAVAILABLE           BlockingIOError
//   INVALID_ARGUMENT      ValueError
//   RESOURCE_EXHAUSTED    MemoryError       (shared memory, process slots)
//   DATA_LOSS             buffered_pipe.DataLossError (an OSError)
//   NOT_FOUND             FileNotFoundError
//   ALREADY_EXISTS        FileExistsError
//   PERMISSION_DENIED     PermissionError
//   anything else         OSError
//
// Every exception carries the status message.

#ifndef BUFFERED_PIPE_PYTHON_ERRORS_H_
#define BUFFERED_PIPE_PYTHON_ERRORS_H_

#include <pybind11/pybind11.h>

#include "absl/status/status.h"

namespace buffered_pipe::python {

// Creates buffered_pipe._core.DataLossError in `module`.
void AddExceptions(pybind11::module_& module);

// Raises the exception of a failed `status` (the GIL must be held).
[[noreturn]] void Raise(const absl::Status& status);

inline void RaiseIfError(const absl::Status& status) {
  if (!status.ok()) Raise(status);
}

}  // namespace buffered_pipe::python

#endif  // BUFFERED_PIPE_PYTHON_ERRORS_H_
