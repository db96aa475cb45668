// Who a process is, in a way that survives pid reuse: its pid and its start
// time (clock ticks after boot, field 22 of /proc/<pid>/stat).
//
// All processes that share a pipe must share a pid namespace and see the same
// /proc (the normal case on one machine).

#ifndef BUFFERED_PIPE_INTERNAL_PROCESS_IDENTITY_H_
#define BUFFERED_PIPE_INTERNAL_PROCESS_IDENTITY_H_

#include <cstdint>

namespace buffered_pipe::internal {

struct ProcessIdentity {
  std::uint32_t pid = 0;
  std::uint64_t start_time = 0;
};

// The calling process. Reads /proc once per process (again after fork).
// Async-signal-safe after the first call in a process, so usable in
// pthread_atfork child handlers (it allocates nothing).
ProcessIdentity CurrentProcess();

// Forgets the cached identity; called in a forked child.
void ResetCurrentProcessAfterFork();

// True unless the process is known to be gone: no such pid, a zombie, or a
// different start time (the pid was reused). `start_time` 0 skips that check.
// Async-signal-safe (open/read/close only).
bool IsProcessAlive(std::uint32_t pid, std::uint64_t start_time);

// Reads the start time of `pid`; 0 if it does not exist.
std::uint64_t ReadStartTime(std::uint32_t pid);

// Whether process `pid` still maps [address, address + size): false only if
// /proc says the mapping is gone (after an exec(), say); true when /proc
// cannot tell (no permission). Allocates nothing on the common path.
bool MapsRange(std::uint32_t pid, std::uint64_t address, std::uint64_t size);

// The children the calling thread has made and not yet reaped, oldest
// first, from /proc/thread-self/children (the kernel appends each new child
// at the end). Stores at most `capacity` pids and returns how many there
// are, or -1 if the file cannot be read (kernels without
// CONFIG_PROC_CHILDREN) or holds more than `capacity`. Allocates nothing.
int ReadChildrenOfThisThread(std::uint32_t* pids, int capacity);

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_PROCESS_IDENTITY_H_
