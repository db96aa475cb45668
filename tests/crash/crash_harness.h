// The crash campaign: randomized runs in which a sender or a receiver
// process of a generic or static pipe is SIGKILLed at a random point, and
// the survivors are checked.
//
// One run (RunScenario):
//   1. creates a named pipe (named only so that the harness can map its
//      segment a second time and look at it; the protocol is the same as
//      for anonymous pipes) and forks S sender and R receiver processes;
//      one of them is the victim;
//   2. once the victim has made some progress, samples it: SIGSTOP, look at
//      what it holds in the segment (CLAIMED or READING cells with its
//      owner id, stream holds) and which system call it is in (futex wait =
//      parked), and SIGCONT again, until it is at the kill point the run
//      aims for (or attempts run out); then SIGKILL while it is stopped
//      there. Optionally a second process is killed while it resolves the
//      first one's claims (the "reaper dies" case);
//   3. waits for the survivors and checks them: every call that was blocked
//      at the death returned within kMaxReturnAfterDeath of it, no torn or
//      duplicated message was delivered, every message of every surviving
//      sender was delivered exactly once and in its order (a killed
//      receiver may lose the one message it was taking), the dead sender's
//      delivered messages are exactly the ones whose send had returned (plus
//      possibly the one it had just committed), and the name is gone from
//      /dev/shm once the last survivor has left (if the last process to
//      leave was the one killed, the name must be detected as stale).
//
// No hook in the library: kill points are reached by sampling.
//
// Runs execute in `lanes` forked processes at once (each run mostly waits
// for the survivors' 100 ms dead-peer poll, so lanes overlap those waits).
// Every process that touches a ring is single-threaded, as ThreadSanitizer
// requires (see tests/mpmc_test.cc).

#ifndef BUFFERED_PIPE_TESTS_CRASH_CRASH_HARNESS_H_
#define BUFFERED_PIPE_TESTS_CRASH_CRASH_HARNESS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace buffered_pipe::crash {

// The bound the crash suite asserts: a survivor's call that was blocked when
// a peer died returns within this time of the death. It tells a bounded
// recovery from a hang or a lost wake-up, not the recovery's speed (that is
// the "survivors' return" line the suite prints: median ~15-60 ms, about
// the dead-peer poll). It must hold with 8 lanes of 4-6 processes on 2 cores
// next to another test: there, measured on the 2-core VM (2026-12-04, two
// crash suites at once, 9 x 150 runs), p99 ~640 ms and a tail that passed
// 1000 ms in 2 of 9 suites (1165 and 1417 ms: processes waiting for a CPU).
inline constexpr std::chrono::milliseconds kMaxReturnAfterDeath{3000};

enum class PipeKind { kGeneric, kStatic };
enum class Role { kSender, kReceiver };

// What a victim was doing when it was killed: bits, several may be set.
enum KillPoint : std::uint32_t {
  kHoldsClaim = 1u << 0,   // a CLAIMED cell: a sender writing a frame (or a reaper's takeover)
  kHoldsRead = 1u << 1,    // a READING cell or the head lock: a receiver taking a frame
  kHoldsWriter = 1u << 2,  // stream_writer: a sender in the middle of a long message
  kHoldsReader = 1u << 3,  // stream_reader: a receiver in the middle of a long message
  kParked = 1u << 4,       // asleep in FUTEX_WAIT (ring full / empty / hold taken)
  kYielding = 1u << 5,     // in sched_yield (the wait's middle phase)
  kReaping = 1u << 6,      // resolving a dead process's claims (its pid in a REAPING slot)
  kExited = 1u << 7,       // had already exited: nothing was killed
};
inline constexpr int kKillPointCount = 8;
const char* KillPointName(int bit);

// The kill point a run aims for.
enum class Target { kAny, kClaim, kStreamHold, kParked };
inline constexpr int kTargetCount = 4;
const char* TargetName(Target target);

struct Scenario {
  std::uint64_t seed = 0;
  PipeKind kind = PipeKind::kGeneric;
  std::uint64_t buffer_size = 0;   // generic
  std::uint64_t object_size = 0;   // static
  std::uint64_t object_count = 0;  // static
  int senders = 1;                 // processes, including a victim sender
  int receivers = 1;               // processes, including a victim receiver
  Role victim = Role::kSender;     // sender 0 or receiver 0
  Target target = Target::kAny;
  // After the first kill, kill another process while it is reaping (or at
  // a random time if it never is caught reaping).
  bool second_kill = false;
  std::size_t min_length = 0;  // message lengths (generic)
  std::size_t max_length = 0;
  std::uint64_t survivor_messages = 0;  // per surviving sender
  std::uint64_t kill_after = 0;         // victim's completed calls before sampling

  std::string Describe() const;
};

// A random scenario of `kind` (all choices derived from `seed`).
Scenario RandomScenario(PipeKind kind, std::uint64_t seed);

// What one run found. Plain data: lanes write it into shared memory.
struct RunResult {
  int done = 0;
  int passed = 0;
  char failure[1536] = {};
  std::uint32_t first_sample = 0;  // kill points of the first sample (random timing)
  std::uint32_t killed_at = 0;     // kill points at the (first) kill
  std::uint32_t second_killed_at = 0;
  int target_reached = 0;
  int samples = 0;
  std::int64_t max_return_ns = -1;  // slowest survivor return after a death (-1: none blocked)
  std::uint64_t delivered = 0;
  std::int64_t duration_ns = 0;
  // The last process to leave was killed: the name stayed, and was found
  // stale (and removed).
  int left_stale = 0;
};

// Runs one scenario in this process (which becomes the parent of the pipe's
// processes) and fills `result`.
void RunScenario(const Scenario& scenario, RunResult* result);

struct CampaignSummary {
  int runs = 0;
  int failures = 0;
  std::vector<std::string> failure_texts;
  std::string report;  // statistics, for the test log
  std::int64_t max_return_ns = -1;
};

// Runs `runs` random scenarios of `kind` (seeds derived from `seed`) in
// `lanes` parallel processes. BUFFERED_PIPE_CRASH_RUN=i runs only run i.
CampaignSummary RunCampaign(PipeKind kind, int runs, int lanes, std::uint64_t seed);

}  // namespace buffered_pipe::crash

#endif  // BUFFERED_PIPE_TESTS_CRASH_CRASH_HARNESS_H_
