// _core.GenericEnd: an end of a Generic_Pipe. send/recv pickle.

#include <pybind11/pybind11.h>

#include "buffered_pipe/internal/descriptor_access.h"
#include "buffered_pipe/pipe.h"
#include "end.h"
#include "ends.h"

namespace buffered_pipe::python {
namespace {

using GenericEnd = EndObject<PipeEnd>;

// pickle.dumps / pickle.loads, looked up once.
struct Pickle {
  py::object dumps;
  py::object loads;
  py::object protocol;
};
Pickle& GetPickle() {
  // Leaked on purpose: must outlive every end, and the interpreter's end.
  static Pickle* pickle = [] {
    py::module_ module = py::module_::import("pickle");
    return new Pickle{module.attr("dumps"), module.attr("loads"),
                      module.attr("HIGHEST_PROTOCOL")};
  }();
  return *pickle;
}

}  // namespace

void AddGenericEnd(py::module_& module) {
  py::class_<GenericEnd> cls(module, "GenericEnd",
                             "One end of a Generic_Pipe: messages of any length, bytes or "
                             "pickled objects.");
  BindCommon(cls);
  cls.def(
         "send",
         [](GenericEnd& self, const py::object& object) {
           Pickle& pickle = GetPickle();
           py::object data = pickle.dumps(object, pickle.protocol);
           BytesView view(data);
           SendBytes(self, std::string_view(view.data(), view.size()));
         },
         py::arg("obj"), "Sends a picklable object (pickle.dumps, highest protocol).")
      .def(
          "recv",
          [](GenericEnd& self, const py::object& timeout) {
            py::bytes data = ReceiveBytes(self, py::none(), timeout);
            return GetPickle().loads(data);
          },
          py::arg("timeout") = py::none(),
          "Receives one message and unpickles it; errors as recv_bytes.")
      .def_property_readonly("buffer_size",
                             [](const GenericEnd& self) { return self.end.buffer_size(); },
                             "Bytes of ring after rounding up (at least 64, a power of two).")
      .def_static(
          "_open_descriptor",
          [](int descriptor, int side) {
            return OpenFromDescriptor<PipeEnd>(descriptor, side, [](int owned, Side which) {
              return internal::DescriptorAccess::OpenPipeEnd(owned, which);
            });
          },
          py::arg("descriptor"), py::arg("side"));

  module.def(
      "generic_pipe",
      [](std::uint64_t buffer_size, bool duplex, std::uint32_t max_processes) {
        auto pipe = internal::DescriptorAccess::Pipe(
            {.buffer_size = buffer_size, .duplex = duplex, .max_processes = max_processes});
        RaiseIfError(pipe.status());
        return py::make_tuple(GenericEnd{std::move(pipe->first), 0, {}, {}, 0},
                              GenericEnd{std::move(pipe->second), 1, {}, {}, 0});
      },
      py::arg("buffer_size"), py::arg("duplex"), py::arg("max_processes") = kMaxProcesses);
}

}  // namespace buffered_pipe::python
