// What the Python ends of both kinds of pipe have in common, written once
// for buffered_pipe::PipeEnd (generic_end.cc) and StaticPipeEnd
// (static_end.cc): bytes in and out, poll, close, the context manager,
// register(), and what pickling an end needs (its descriptor and side).
//
// The conventions are those of multiprocessing.Connection: send_bytes(buf,
// offset=0, size=None), recv_bytes(maxlength=None), recv_bytes_into(buf,
// offset=0), poll(timeout=0.0), close(), closed / readable / writable;
// plus a timeout= on every receive. Blocking follows waiting.h (GIL
// released, Ctrl-C honoured).
//
// poll() that finds a message takes it out of the pipe and keeps it in the
// end: the next receive on this end in this process returns it first (a
// child forked in between does not see it). With many receivers, poll()
// answers "is there a message for this end", never "is the pipe empty".

#ifndef BUFFERED_PIPE_PYTHON_END_H_
#define BUFFERED_PIPE_PYTHON_END_H_

#include <fcntl.h>
#include <pybind11/pybind11.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "buffered_pipe/internal/descriptor_access.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "errors.h"
#include "waiting.h"

namespace buffered_pipe::python {

namespace py = pybind11;

// One end as Python holds it.
template <typename End>
struct EndObject {
  End end;
  // Which side of its pipe (Side::kFirst / kSecond): for pickling.
  int side = 0;
  // The pipe's name if it is a named pipe (pickled by name), else empty.
  std::string name;
  // Messages poll() took, oldest first, and the process they belong to (see
  // above). More than one when threads poll the same end at once. Used with
  // the GIL held.
  std::deque<std::string> polled;
  pid_t polled_by = 0;
};

// The two kinds of end differ in how a whole message is received and how
// large one can be; everything else below is shared.
inline absl::Status ReceiveInto(PipeEnd& end, std::string& message, const Deadline& deadline) {
  return end.recv_bytes_into(message, deadline);
}
inline absl::Status ReceiveInto(StaticPipeEnd& end, std::string& message,
                                const Deadline& deadline) {
  message.resize(end.object_size());
  return end.recv_bytes_into(std::as_writable_bytes(std::span(message.data(), message.size())),
                             deadline);
}
// Largest message a receive may copy with the GIL held (fast path).
inline bool CopiesAreShort(const PipeEnd& end) { return end.buffer_size() <= (1u << 20); }
inline bool CopiesAreShort(const StaticPipeEnd& end) { return end.object_size() <= (1u << 16); }
// Whether a send of `size` bytes may be cut into timed slices: not a
// streamed message (it would start over each slice).
inline bool SendIsOneFrame(const PipeEnd& end, std::size_t size) {
  return size <= std::max<std::uint64_t>(64, end.buffer_size() / 2);
}
inline bool SendIsOneFrame(const StaticPipeEnd&, std::size_t) { return true; }

// A contiguous read-only view of a bytes-like object, released on scope exit.
class BytesView {
 public:
  explicit BytesView(const py::handle& object, int flags = PyBUF_SIMPLE) {
    if (PyObject_GetBuffer(object.ptr(), &view_, flags) != 0) throw py::error_already_set();
  }
  ~BytesView() { PyBuffer_Release(&view_); }
  BytesView(const BytesView&) = delete;
  BytesView& operator=(const BytesView&) = delete;
  char* data() const { return static_cast<char*>(view_.buf); }
  std::size_t size() const { return static_cast<std::size_t>(view_.len); }

 private:
  Py_buffer view_{};
};

template <typename End>
void SendBytes(EndObject<End>& self, std::string_view message) {
  const bool sliced = SendIsOneFrame(self.end, message.size());
  const bool short_copy = message.size() <= 4096;
  absl::Status status;
  if (sliced) {
    status = WaitInterruptibly(Deadline::Infinite(), short_copy, [&](const Deadline& deadline) {
      return self.end.send_bytes_until(message, deadline);
    });
  } else {
    // A streamed message is sent in one call: Ctrl-C is seen after it.
    py::gil_scoped_release release;
    status = self.end.send_bytes(message);
  }
  RaiseIfError(status);
}

// The next message for this end, into `message` (see poll() above).
template <typename End>
absl::Status Receive(EndObject<End>& self, std::string& message, const Deadline& deadline) {
  if (!self.polled.empty()) {
    if (self.polled_by == getpid()) {
      message = std::move(self.polled.front());
      self.polled.pop_front();
      return absl::OkStatus();
    }
    self.polled.clear();  // a forked child's copy: the parent receives them
  }
  return WaitInterruptibly(deadline, CopiesAreShort(self.end), [&](const Deadline& slice) {
    return ReceiveInto(self.end, message, slice);
  });
}

// Per-thread receive buffer: its capacity is reused from message to message.
inline std::string& ReceiveBuffer() {
  thread_local std::string buffer;
  return buffer;
}
inline void TrimReceiveBuffer(std::string& buffer) {
  if (buffer.capacity() > (std::size_t{16} << 20)) std::string().swap(buffer);
}

template <typename End>
py::bytes ReceiveBytes(EndObject<End>& self, const py::object& maxlength,
                       const py::object& timeout) {
  if (!maxlength.is_none() && maxlength.cast<long long>() < 0) {
    throw py::value_error("negative maxlength");
  }
  std::string& buffer = ReceiveBuffer();
  RaiseIfError(Receive(self, buffer, DeadlineOfTimeout(timeout)));
  if (!maxlength.is_none() && buffer.size() > maxlength.cast<std::size_t>()) {
    TrimReceiveBuffer(buffer);
    PyErr_SetString(PyExc_OSError, "bad message length");
    throw py::error_already_set();
  }
  py::bytes result(buffer.data(), buffer.size());
  TrimReceiveBuffer(buffer);
  return result;
}

// As Connection.recv_bytes_into: the message goes to `buffer` at `offset`;
// returns its length. A message that does not fit raises
// multiprocessing.BufferTooShort with the message as bytes in args[0].
template <typename End>
std::size_t ReceiveBytesInto(EndObject<End>& self, const py::object& target, long long offset,
                             const py::object& timeout) {
  BytesView view(target, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS);
  if (offset < 0 || static_cast<std::size_t>(offset) > view.size()) {
    throw py::value_error("offset out of bounds");
  }
  std::string& buffer = ReceiveBuffer();
  RaiseIfError(Receive(self, buffer, DeadlineOfTimeout(timeout)));
  const std::size_t room = view.size() - static_cast<std::size_t>(offset);
  if (buffer.size() > room) {
    py::bytes message(buffer.data(), buffer.size());
    TrimReceiveBuffer(buffer);
    py::object too_short = py::module_::import("multiprocessing").attr("BufferTooShort");
    PyErr_SetObject(too_short.ptr(), message.ptr());
    throw py::error_already_set();
  }
  std::memcpy(view.data() + offset, buffer.data(), buffer.size());
  const std::size_t size = buffer.size();
  TrimReceiveBuffer(buffer);
  return size;
}

template <typename End>
bool Poll(EndObject<End>& self, const py::object& timeout) {
  if (!self.polled.empty() && self.polled_by == getpid()) return true;
  std::string message;
  const absl::Status status = Receive(self, message, DeadlineOfTimeout(timeout));
  if (IsTimeout(status)) return false;
  // End of stream: True, so that the next recv raises EOFError (as Connection).
  if (IsEndOfStream(status)) return true;
  RaiseIfError(status);
  if (self.polled_by != getpid()) self.polled.clear();
  self.polled.push_back(std::move(message));
  self.polled_by = getpid();
  return true;
}

// A descriptor given to this process (by multiprocessing's DupFd): opens
// side `side` from a duplicate of it; the original stays the caller's.
template <typename End, typename Open>
EndObject<End> OpenFromDescriptor(int descriptor, int side, Open&& open) {
  if (side != 0 && side != 1) throw py::value_error("side is 0 or 1");
  const int duplicate = fcntl(descriptor, F_DUPFD_CLOEXEC, 0);
  if (duplicate < 0) {
    PyErr_SetFromErrno(PyExc_OSError);
    throw py::error_already_set();
  }
  auto end = open(duplicate, static_cast<Side>(side));  // owns `duplicate`
  RaiseIfError(end.status());
  return EndObject<End>{std::move(*end), side, {}, {}, 0};
}

template <typename End>
void BindCommon(py::class_<EndObject<End>>& cls) {
  using Self = EndObject<End>;
  cls.def(
         "send_bytes",
         [](Self& self, const py::object& buffer, long long offset, const py::object& size) {
           BytesView view(buffer);
           if (offset < 0 || static_cast<std::size_t>(offset) > view.size()) {
             throw py::value_error("offset out of bounds");
           }
           std::size_t length = view.size() - static_cast<std::size_t>(offset);
           if (!size.is_none()) {
             const long long requested = size.cast<long long>();
             if (requested < 0) throw py::value_error("size is negative");
             if (static_cast<std::size_t>(requested) > length) {
               throw py::value_error("buffer length < offset + size");
             }
             length = static_cast<std::size_t>(requested);
           }
           SendBytes(self, std::string_view(view.data() + offset, length));
         },
         py::arg("buf"), py::arg("offset") = 0, py::arg("size") = py::none(),
         "Sends the bytes of a bytes-like object (buf[offset:offset + size]) as one message.\n"
         "Blocks while the pipe is full. BrokenPipeError once every receiving end is closed.")
      .def("recv_bytes", &ReceiveBytes<End>, py::arg("maxlength") = py::none(),
           py::arg("timeout") = py::none(),
           "Receives one message as bytes. Blocks while the pipe is empty, at most `timeout`\n"
           "seconds if given (then TimeoutError). EOFError once every sending end is closed\n"
           "and the pipe is drained. A message longer than maxlength raises OSError.")
      .def("recv_bytes_into", &ReceiveBytesInto<End>, py::arg("buf"), py::arg("offset") = 0,
           py::arg("timeout") = py::none(),
           "Receives one message into a writable buffer at `offset`; returns its length.\n"
           "multiprocessing.BufferTooShort (with the message in args[0]) if it does not fit.")
      .def("poll", &Poll<End>, py::arg("timeout") = 0.0,
           "Whether a message can be received now (waiting up to `timeout` seconds; None:\n"
           "without limit). A message found is kept by this end for its next receive.\n"
           "True at end of stream, so that the next receive raises EOFError.")
      .def(
          "wait_for_peer",
          [](Self& self, const py::object& timeout) {
            RaiseIfError(WaitInterruptibly(
                DeadlineOfTimeout(timeout), true,
                [&](const Deadline& deadline) { return self.end.wait_for_peer(deadline); }));
          },
          py::arg("timeout") = py::none(),
          "Waits until the other kind of end is open (named pipes whose sides start in\n"
          "any order). TimeoutError after `timeout` seconds.")
      .def(
          "close",
          [](Self& self) {
            self.polled.clear();
            (void)self.end.close();
          },
          "Closes this end in this process (idempotent). Calls blocked on it raise OSError.")
      .def(
          "register", [](Self& self) { RaiseIfError(self.end.register_process()); },
          "The seed's register(): harmless, never needed (ends register themselves in\n"
          "forked children, and in spawned ones when unpickled).")
      .def_property_readonly("closed", [](const Self& self) { return !self.end.is_open(); })
      .def_property_readonly("readable", [](const Self& self) { return self.end.can_recv(); })
      .def_property_readonly("writable", [](const Self& self) { return self.end.can_send(); })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__",
           [](Self& self, const py::args&) {
             self.polled.clear();
             (void)self.end.close();
           })
      .def("_descriptor",
           [](const Self& self) { return internal::DescriptorAccess::Descriptor(self.end); })
      .def_readonly("_side", &Self::side)
      .def_readonly("_name", &Self::name);
}

}  // namespace buffered_pipe::python

#endif  // BUFFERED_PIPE_PYTHON_END_H_
