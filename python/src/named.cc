// Named pipes from Python: /dev/shm/<name>, opened by C++ processes too.

#include <pybind11/pybind11.h>

#include <string>

#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "end.h"
#include "ends.h"

namespace buffered_pipe::python {
namespace {

NamedPipeOptions NamedOptions(mode_t mode, bool remove_when_unused) {
  NamedPipeOptions named;
  named.mode = mode;
  named.remove_when_unused = remove_when_unused;
  return named;
}

template <typename End, typename Pair>
py::tuple PairObject(Pair pair, const std::string& name) {
  RaiseIfError(pair.status());
  return py::make_tuple(EndObject<End>{std::move(pair->first), 0, name, {}, 0},
                        EndObject<End>{std::move(pair->second), 1, name, {}, 0});
}

template <typename End, typename Opened>
EndObject<End> EndOf(Opened opened, const std::string& name, int side) {
  RaiseIfError(opened.status());
  return EndObject<End>{std::move(*opened), side, name, {}, 0};
}

Side SideOf(int side) {
  if (side != 0 && side != 1) throw py::value_error("side is 0 (receiving) or 1 (sending)");
  return static_cast<Side>(side);
}

}  // namespace

void AddNamedPipes(py::module_& module) {
  module.def(
      "create_named_pipe",
      [](const std::string& name, std::uint64_t buffer_size, bool duplex, mode_t mode,
         bool remove_when_unused) {
        return PairObject<PipeEnd>(
            CreateNamedPipe(name, {.buffer_size = buffer_size, .duplex = duplex},
                            NamedOptions(mode, remove_when_unused)),
            name);
      },
      py::arg("name"), py::arg("buffer_size"), py::arg("duplex"), py::arg("mode"),
      py::arg("remove_when_unused"));
  module.def(
      "open_named_pipe",
      [](const std::string& name, int side) {
        return EndOf<PipeEnd>(OpenNamedPipe(name, SideOf(side)), name, side);
      },
      py::arg("name"), py::arg("side"));
  module.def(
      "create_named_static_pipe",
      [](const std::string& name, std::uint64_t object_size, std::uint64_t object_count,
         bool duplex, mode_t mode, bool remove_when_unused) {
        return PairObject<StaticPipeEnd>(
            CreateNamedStaticPipe(
                name,
                {.object_size = object_size, .object_count = object_count, .duplex = duplex},
                NamedOptions(mode, remove_when_unused)),
            name);
      },
      py::arg("name"), py::arg("object_size"), py::arg("object_count"), py::arg("duplex"),
      py::arg("mode"), py::arg("remove_when_unused"));
  module.def(
      "open_named_static_pipe",
      [](const std::string& name, int side) {
        return EndOf<StaticPipeEnd>(OpenNamedStaticPipe(name, SideOf(side)), name, side);
      },
      py::arg("name"), py::arg("side"));
  module.def(
      "remove_named_pipe",
      [](const std::string& name) { RaiseIfError(RemoveNamedPipe(name)); }, py::arg("name"));
}

}  // namespace buffered_pipe::python
