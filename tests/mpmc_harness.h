// The many-senders / many-receivers harness shared by the generic, static and
// typed pipe tests: senders and receivers split between threads of this
// process and forked processes; every delivery logged in shared memory and
// checked for exactly-once and per-sender order (VerifyDeliveries).

#ifndef BUFFERED_PIPE_TESTS_MPMC_HARNESS_H_
#define BUFFERED_PIPE_TESTS_MPMC_HARNESS_H_

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "test_support.h"

namespace buffered_pipe::testing {

// Who sends and who receives, and where.
struct Split {
  int sender_threads = 0;
  int sender_processes = 0;
  int receiver_threads = 0;
  int receiver_processes = 0;

  int senders() const { return sender_threads + sender_processes; }
  std::string Describe() const;
};

// 1 to 8 senders and 1 to 8 receivers, each side split at random between
// threads and processes; under TSan all in threads or all in processes (see
// kThreadSanitizer).
Split RandomSplit(std::mt19937_64& random);
// Eight of each, half in threads and half in processes (all threads under TSan).
Split EightByEight();

// The pipe under test, as the harness drives it. Every function is called
// in this process or in a forked child (which has copies of the ends).
struct MpmcParties {
  // Sends messages 0..count-1 of sender `sender`; false on any failure.
  std::function<bool(std::uint32_t sender, std::uint64_t count)> send_all;
  // Receives one message (blocking). `call` counts this receiver's calls,
  // for tests that rotate between receive functions. End of stream ends the
  // receiver.
  std::function<absl::Status(std::string& message, std::uint64_t call)> receive_one;
  // Reads the sender and sequence number out of a received message.
  std::function<absl::Status(std::string_view message, std::uint32_t* sender,
                             std::uint64_t* sequence)>
      check = CheckMessage;
  // Close this process's copy of the sending / receiving end.
  std::function<void()> close_sending_end;
  std::function<void()> close_receiving_end;
};

// Runs `split` with `count` messages per sender and checks the deliveries
// (gtest expectations).
void RunSplit(const Split& split, std::uint64_t count, const MpmcParties& parties);

}  // namespace buffered_pipe::testing

#endif  // BUFFERED_PIPE_TESTS_MPMC_HARNESS_H_
