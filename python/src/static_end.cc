// _core.StaticEnd: an end of a Static_Pipe. Every message is exactly
// object_size bytes; send/recv are send_bytes/recv_bytes, as in the seed.

#include <pybind11/pybind11.h>

#include "buffered_pipe/internal/descriptor_access.h"
#include "buffered_pipe/static_pipe.h"
#include "end.h"
#include "ends.h"

namespace buffered_pipe::python {

using StaticEnd = EndObject<StaticPipeEnd>;

void AddStaticEnd(py::module_& module) {
  py::class_<StaticEnd> cls(module, "StaticEnd",
                            "One end of a Static_Pipe: records of exactly object_size bytes.");
  BindCommon(cls);
  py::object object_class = py::reinterpret_borrow<py::object>(cls);
  cls.attr("send") = object_class.attr("send_bytes");
  cls.attr("recv") = object_class.attr("recv_bytes");
  cls.def_property_readonly("object_size",
                            [](const StaticEnd& self) { return self.end.object_size(); })
      .def_property_readonly("object_count",
                             [](const StaticEnd& self) { return self.end.object_count(); })
      .def_static(
          "_open_descriptor",
          [](int descriptor, int side) {
            return OpenFromDescriptor<StaticPipeEnd>(descriptor, side, [](int owned, Side which) {
              return internal::DescriptorAccess::OpenStaticPipeEnd(owned, which);
            });
          },
          py::arg("descriptor"), py::arg("side"));

  module.def(
      "static_pipe",
      [](std::uint64_t object_size, std::uint64_t object_count, bool duplex,
         std::uint32_t max_processes) {
        auto pipe = internal::DescriptorAccess::StaticPipe({.object_size = object_size,
                                                            .object_count = object_count,
                                                            .duplex = duplex,
                                                            .max_processes = max_processes});
        RaiseIfError(pipe.status());
        return py::make_tuple(StaticEnd{std::move(pipe->first), 0, {}, {}, 0},
                              StaticEnd{std::move(pipe->second), 1, {}, {}, 0});
      },
      py::arg("object_size"), py::arg("object_count"), py::arg("duplex"),
      py::arg("max_processes") = kMaxProcesses);
}

}  // namespace buffered_pipe::python
