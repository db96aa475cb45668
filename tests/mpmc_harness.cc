#include "mpmc_harness.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"

namespace buffered_pipe::testing {
namespace {

// Receives until end of stream, logging every message.
bool ReceiveAll(const MpmcParties& parties, std::uint32_t receiver, DeliveryLog& log) {
  std::string message;
  for (std::uint64_t call = 0;; ++call) {
    const std::uint64_t start = log.Ticket();
    const absl::Status status = parties.receive_one(message, call);
    const std::uint64_t end = log.Ticket();
    if (IsEndOfStream(status)) return true;
    Delivery delivery{};
    if (!status.ok() || !parties.check(message, &delivery.sender, &delivery.sequence).ok()) {
      log.RecordError();
      return false;
    }
    delivery.receiver = receiver;
    delivery.start_ticket = start;
    delivery.end_ticket = end;
    log.Record(delivery);
  }
}

}  // namespace

std::string Split::Describe() const {
  return absl::StrCat("senders ", sender_threads, " threads + ", sender_processes,
                      " processes, receivers ", receiver_threads, " threads + ",
                      receiver_processes, " processes");
}

Split RandomSplit(std::mt19937_64& random) {
  std::uniform_int_distribution<int> parties(1, 8);
  const int senders = parties(random);
  const int receivers = parties(random);
  Split split;
  split.sender_processes = std::uniform_int_distribution<int>(0, senders)(random);
  split.sender_threads = senders - split.sender_processes;
  split.receiver_processes = std::uniform_int_distribution<int>(0, receivers)(random);
  split.receiver_threads = receivers - split.receiver_processes;
  if (kThreadSanitizer) {
    const bool threads = std::uniform_int_distribution<int>(0, 1)(random) == 0;
    split = threads ? Split{senders, 0, receivers, 0} : Split{0, senders, 0, receivers};
  }
  return split;
}

Split EightByEight() { return kThreadSanitizer ? Split{8, 0, 8, 0} : Split{4, 4, 4, 4}; }

void RunSplit(const Split& split, std::uint64_t count, const MpmcParties& parties) {
  SCOPED_TRACE(split.Describe());
  DeliveryLog log(static_cast<std::size_t>(split.senders()) * count + 16);

  // Fork first: children then inherit no threads. Every process that holds
  // a copy of the sending end closes it, or receivers never see end of stream.
  std::vector<pid_t> children;
  std::uint32_t next_sender = 0;
  std::uint32_t next_receiver = 0;
  for (int i = 0; i < split.sender_processes; ++i) {
    const std::uint32_t id = next_sender++;
    children.push_back(ForkChild([&, id] {
      parties.close_receiving_end();
      const bool sent = parties.send_all(id, count);
      parties.close_sending_end();
      return sent ? 0 : 1;
    }));
  }
  for (int i = 0; i < split.receiver_processes; ++i) {
    const std::uint32_t id = next_receiver++;
    children.push_back(ForkChild([&, id] {
      parties.close_sending_end();
      return ReceiveAll(parties, id, log) ? 0 : 1;
    }));
  }
  std::vector<std::thread> sender_threads;
  std::vector<std::thread> receiver_threads;
  std::atomic<int> thread_failures{0};
  for (int i = 0; i < split.sender_threads; ++i) {
    const std::uint32_t id = next_sender++;
    sender_threads.emplace_back([&, id] {
      if (!parties.send_all(id, count)) ++thread_failures;
    });
  }
  for (int i = 0; i < split.receiver_threads; ++i) {
    const std::uint32_t id = next_receiver++;
    receiver_threads.emplace_back([&, id] {
      if (!ReceiveAll(parties, id, log)) ++thread_failures;
    });
  }
  for (std::thread& thread : sender_threads) thread.join();
  parties.close_sending_end();
  if (split.receiver_threads == 0) parties.close_receiving_end();
  for (std::thread& thread : receiver_threads) thread.join();
  for (pid_t child : children) EXPECT_TRUE(WaitForChild(child, std::chrono::seconds(120)));
  EXPECT_EQ(thread_failures.load(), 0);
  EXPECT_EQ(log.errors(), 0u);
  const std::vector<std::uint64_t> sent(static_cast<std::size_t>(split.senders()), count);
  EXPECT_TRUE(VerifyDeliveries(log.Deliveries(), sent));
}

}  // namespace buffered_pipe::testing
