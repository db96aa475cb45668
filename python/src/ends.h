// Registration of the Python end classes and the pipe constructors.

#ifndef BUFFERED_PIPE_PYTHON_ENDS_H_
#define BUFFERED_PIPE_PYTHON_ENDS_H_

#include <pybind11/pybind11.h>

namespace buffered_pipe::python {

// _core.GenericEnd, _core.generic_pipe(buffer_size, duplex)
void AddGenericEnd(pybind11::module_& module);
// _core.StaticEnd, _core.static_pipe(object_size, object_count, duplex)
void AddStaticEnd(pybind11::module_& module);
// _core.create_named_pipe / open_named_pipe / remove_named_pipe, and the
// static forms.
void AddNamedPipes(pybind11::module_& module);

}  // namespace buffered_pipe::python

#endif  // BUFFERED_PIPE_PYTHON_ENDS_H_
