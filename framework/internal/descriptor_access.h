// DescriptorAccess: pipe ends handed to another process as a file descriptor.
//
// For language bindings whose child processes are not made by fork() alone
// (Python's multiprocessing "spawn" and "forkserver" start a fresh
// interpreter and pass it objects by pickling, and a Connection by passing
// its descriptor). A pipe made here keeps its segment's memfd open; any end
// of it tells that descriptor; a process given a copy of the descriptor
// (SCM_RIGHTS, or inheritance across exec) opens an end from it:
//
//   auto pipe = internal::DescriptorAccess::Pipe({.buffer_size = 4096});
//   int descriptor = internal::DescriptorAccess::Descriptor(pipe->second);
//   ... pass `descriptor` to the other process, which calls:
//   absl::StatusOr<PipeEnd> sender =
//       internal::DescriptorAccess::OpenPipeEnd(its_copy, kSendingSide);
//
// - Only pipes made by DescriptorAccess keep their descriptor (Pipe() and
//   StaticPipe() close it: a descriptor per pipe is not free); for other
//   ends Descriptor() is -1. Named pipes are opened by name instead.
// - The opening process validates the segment as untrusted input, exactly
//   as OpenNamedPipe validates a named one; a descriptor of anything else is
//   InvalidArgument or DataLoss.
// - The opened end counts from the moment it is opened: a creator that
//   closes its own copy of an end before the other process has opened its
//   copy may let peers see end of stream (or a broken pipe) in between.
//   (fork() has no such gap: the child is registered before fork returns.)
// - Each call to OpenPipeEnd / OpenStaticPipeEnd attaches anew: a process
//   that opens two ends of one pipe this way holds two process slots.
//
// Thread-safety: as the functions it wraps (Pipe, OpenNamedPipe, ...).

#ifndef BUFFERED_PIPE_INTERNAL_DESCRIPTOR_ACCESS_H_
#define BUFFERED_PIPE_INTERNAL_DESCRIPTOR_ACCESS_H_

#include <utility>

#include "absl/status/statusor.h"
#include "buffered_pipe/pipe.h"

namespace buffered_pipe {
class StaticPipeEnd;
struct StaticPipeOptions;
}  // namespace buffered_pipe

namespace buffered_pipe::internal {

struct DescriptorAccess {
  // As buffered_pipe::Pipe / StaticPipe, keeping the segment's descriptor.
  static absl::StatusOr<std::pair<PipeEnd, PipeEnd>> Pipe(const PipeOptions& options);
  static absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> StaticPipe(
      const StaticPipeOptions& options);

  // The descriptor of the end's segment (owned by the segment: duplicate it
  // to keep it beyond the end), or -1 (closed end, or a pipe that does not
  // keep one).
  static int Descriptor(const PipeEnd& end);
  static int Descriptor(const StaticPipeEnd& end);

  // Opens side `side` of the pipe behind `descriptor`, taking ownership of
  // the descriptor (closed with the end, or at once on failure). Errors as
  // OpenNamedPipe / OpenNamedStaticPipe: InvalidArgument (not a pipe of this
  // kind, other layout version), DataLoss (inconsistent segment),
  // ResourceExhausted (no process slot).
  static absl::StatusOr<PipeEnd> OpenPipeEnd(int descriptor, Side side);
  static absl::StatusOr<StaticPipeEnd> OpenStaticPipeEnd(int descriptor, Side side);
};

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_DESCRIPTOR_ACCESS_H_
