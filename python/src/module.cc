// buffered_pipe._core: the C++ pipes for Python. The public API
// (Generic_Pipe, Static_Pipe, ...) is buffered_pipe/__init__.py.

#include <pybind11/pybind11.h>

#include "buffered_pipe/version.h"
#include "ends.h"
#include "errors.h"

PYBIND11_MODULE(_core, module) {
  module.doc() = "buffered_pipe C++ core (use the buffered_pipe package)";
  module.attr("__version__") = buffered_pipe::kVersion;
  buffered_pipe::python::AddExceptions(module);
  buffered_pipe::python::AddGenericEnd(module);
  buffered_pipe::python::AddStaticEnd(module);
  buffered_pipe::python::AddNamedPipes(module);
}
