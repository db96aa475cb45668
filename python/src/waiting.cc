#include "waiting.h"

#include <cmath>

namespace buffered_pipe::python {

Deadline DeadlineOfTimeout(const pybind11::object& timeout) {
  if (timeout.is_none()) return Deadline::Infinite();
  const double seconds = timeout.cast<double>();
  if (std::isnan(seconds)) throw pybind11::value_error("timeout is NaN");
  if (seconds <= 0) return Deadline::NonBlocking();
  if (seconds > 1e9) return Deadline::Infinite();
  return Deadline::After(std::chrono::duration_cast<Deadline::Clock::duration>(
      std::chrono::duration<double>(seconds)));
}

void RunSignalHandlers() {
  if (PyErr_CheckSignals() != 0) throw pybind11::error_already_set();
}

}  // namespace buffered_pipe::python
