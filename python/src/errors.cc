#include "errors.h"

#include <string>

namespace buffered_pipe::python {
namespace {

PyObject* data_loss_error = nullptr;

PyObject* ExceptionOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOutOfRange: return PyExc_EOFError;
    case absl::StatusCode::kFailedPrecondition: return PyExc_BrokenPipeError;
    case absl::StatusCode::kDeadlineExceeded: return PyExc_TimeoutError;
    case absl::StatusCode::kUnavailable: return PyExc_BlockingIOError;
    case absl::StatusCode::kInvalidArgument: return PyExc_ValueError;
    case absl::StatusCode::kResourceExhausted: return PyExc_MemoryError;
    case absl::StatusCode::kDataLoss: return data_loss_error;
    case absl::StatusCode::kNotFound: return PyExc_FileNotFoundError;
    case absl::StatusCode::kAlreadyExists: return PyExc_FileExistsError;
    case absl::StatusCode::kPermissionDenied: return PyExc_PermissionError;
    default: return PyExc_OSError;
  }
}

}  // namespace

void AddExceptions(pybind11::module_& module) {
  data_loss_error = PyErr_NewExceptionWithDoc(
      "buffered_pipe.DataLossError",
      "The pipe's shared memory is corrupted (another process wrote garbage into it).",
      PyExc_OSError, nullptr);
  if (data_loss_error == nullptr) throw pybind11::error_already_set();
  module.add_object("DataLossError", pybind11::handle(data_loss_error));
}

void Raise(const absl::Status& status) {
  std::string message(status.message());
  if (status.code() == absl::StatusCode::kCancelled) message = "handle is closed: " + message;
  PyErr_SetString(ExceptionOf(status.code()), message.c_str());
  throw pybind11::error_already_set();
}

}  // namespace buffered_pipe::python
