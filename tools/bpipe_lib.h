// bpipe: look at and clean up the named pipes in /dev/shm.
//
//   bpipe list              every buffered_pipe segment in /dev/shm (files
//                           whose magic is ours): kind, sizes, processes
//                           attached and alive, in use / idle / stale
//   bpipe stat NAME         geometry, ends open, each process slot (pid,
//                           state, alive, ends per ring), messages and bytes
//                           in flight, stream holds
//   bpipe rm [--force] NAME removes the name; refuses while a live process
//                           uses the pipe unless --force (processes that
//                           have it open keep their mapping)
//
// A pipe is stale when processes used it and all of them are dead: nobody
// will close it normally, so nobody will remove its name. Creating a pipe
// of the same name reclaims it (NamedPipeOptions::replace_stale); `bpipe
// rm` removes it.
//
// Everything read from a segment is untrusted: the tool validates the
// header (as OpenNamedPipe does) and bounds every walk over the ring; it
// never attaches (takes no process slot) and never writes the segment.

#ifndef BUFFERED_PIPE_TOOLS_BPIPE_LIB_H_
#define BUFFERED_PIPE_TOOLS_BPIPE_LIB_H_

#include <sys/types.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/internal/ring.h"
#include "buffered_pipe/internal/segment.h"

namespace buffered_pipe::tools {

// One occupied slot of the process table.
struct ProcessInfo {
  std::uint32_t slot = 0;  // owner id, 1..255
  std::uint32_t pid = 0;
  std::string state;       // "attached", "attaching", "fork reservation", "reaping", "?"
  bool alive = false;
  std::uint32_t senders[internal::kMaxRings] = {};
  std::uint32_t receivers[internal::kMaxRings] = {};
};

// A stream hold (stream_writer / stream_reader).
struct HoldInfo {
  bool held = false;
  bool discard = false;    // reader hold of a stream whose reader died
  std::uint32_t slot = 0;  // holder's owner id
  bool alive = false;      // holder's slot is occupied by a live process
};

struct RingInfo {
  internal::RingSpec spec;
  internal::RingSnapshot snapshot;
  HoldInfo writer;
  HoldInfo reader;
};

enum class Health {
  kInUse,  // at least one live process attached
  kIdle,   // nobody attached (a persistent pipe between users)
  kStale,  // attached processes, all dead
};
const char* HealthName(Health health);

struct PipeInfo {
  std::string name;
  internal::SegmentKind kind = internal::SegmentKind::kGeneric;
  std::uint32_t ring_count = 0;
  bool remove_when_unused = false;
  std::uint64_t size = 0;  // bytes of the file
  mode_t mode = 0;
  uid_t uid = 0;
  std::string lifecycle;
  std::vector<ProcessInfo> processes;
  std::vector<RingInfo> rings;
  int alive = 0;  // processes alive
  int dead = 0;   // slots whose process is gone
  Health health = Health::kIdle;
};

// Whether /dev/shm/<name> starts with the buffered_pipe magic.
bool HasPipeMagic(const std::string& name);

// Reads a named pipe without attaching to it.
absl::StatusOr<PipeInfo> Inspect(const std::string& name);

struct ListEntry {
  std::string name;
  absl::StatusOr<PipeInfo> info;  // an error for a pipe that cannot be read
};
// Every file in /dev/shm with the buffered_pipe magic, sorted by name.
std::vector<ListEntry> List();

// Removes the name of a pipe. FailedPrecondition while a live process uses
// it (unless `force`), or if the file is not a buffered_pipe segment, or
// cannot be read (unless `force`). A pipe its creator never finished
// (killed between making the file and publishing it) is removed once it has
// been unfinished for longer than an opener waits (2 s); before that it may
// still be in the making, and is left (FailedPrecondition).
absl::Status Remove(const std::string& name, bool force);

std::string FormatList(const std::vector<ListEntry>& entries);
std::string FormatStat(const PipeInfo& info);

// The command line (argv[0] is the program name). Returns the exit code:
// 0 success, 1 failure (the reason on `err`), 2 bad usage.
int Main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace buffered_pipe::tools

#endif  // BUFFERED_PIPE_TOOLS_BPIPE_LIB_H_
