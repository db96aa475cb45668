// How a transport plugs into the comparison: one small adapter class.
//
// An adapter A is built in the parent before the workers are forked (it
// creates the pipe, socket pair, queue, shared ring...), and each worker
// builds an A::End on it after the fork:
//
//   class MyTransport {
//    public:
//     static Traits traits();                       // name, what it supports
//     absl::Status Open(const Geometry& geometry);  // parent, before fork
//     void Close();                                 // parent, after the workers
//     class End {                                   // in a worker, after fork
//      public:
//       End(MyTransport& transport, Role role, int index);
//       void send(std::span<const std::byte> message);   // blocks while full
//       std::span<const std::byte> recv();                // valid until next recv
//     };
//   };
//   ... Register(std::make_unique<TransportOf<MyTransport>>()) (see registry.h)
//
// End::send / recv Die() on any error (the worker exits, the parent reports
// the case as failed). The timed loops below are instantiated per adapter,
// so a send is a direct (inlinable) call, not a virtual one.
//
// Roles: kSender / kReceiver for one-way cases (a many-to-many case has
// `senders` senders with index 0.. and `receivers` receivers), kPing / kPong
// for the duplex round trip (ping sends first). "Passive" roles (kReceiver,
// kPong) build their End first: a ZeroMQ PULL binds before PUSH connects.

#ifndef BUFFERED_PIPE_BENCHMARKS_TRANSPORT_H_
#define BUFFERED_PIPE_BENCHMARKS_TRANSPORT_H_

#include <algorithm>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/common.h"

namespace buffered_pipe::bench {

struct Geometry {
  std::size_t message_size = 64;  // every message of the run has this size
  std::size_t budget = 1 << 20;   // bytes of buffering (see Traits::knob)
  int senders = 1;
  int receivers = 1;
  bool duplex = false;  // a ping-pong: kPing and kPong ends
};

enum class Role { kSender, kReceiver, kPing, kPong };

inline bool IsPassive(Role role) { return role == Role::kReceiver || role == Role::kPong; }

struct Traits {
  std::string name;         // short, used in tables and the CSV
  std::string description;  // one line for the legend of the report
  // How the byte budget is applied (documented in the report).
  std::string knob;
  bool one_way = true;      // one-to-one throughput
  bool many = false;        // many senders and receivers on one channel
  bool round_trip = true;   // 64 B ping-pong
  bool oversize = false;    // a message larger than the budget
  bool idle = true;         // a blocked receiver that sleeps (not a spinner)
  // Which message sizes it carries (typed adapters are per size).
  std::size_t min_size = 8;
  std::size_t max_size = std::size_t{1} << 40;
  bool reference = false;   // a reference line (bare ring, cache line), not a product
  int threads = 1;          // threads per process that may be runnable at once
};

// What a worker's timed loop does.
struct Plan {
  std::uint64_t messages = 0;  // per sender (one-way), or round trips
  std::uint64_t warmup = 0;    // untimed messages before Ready()
  // Idle case: how long the receiver stays blocked before the first message
  // and how many further wake-ups (after `gap_ns` each) are measured.
  std::int64_t idle_ns = 0;
  int wakeups = 0;
  std::int64_t gap_ns = 0;
};

// The type-erased transport the scheduler works with.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual const Traits& traits() const = 0;
  virtual bool Supports(std::size_t size) const {
    return size >= traits().min_size && size <= traits().max_size;
  }
  virtual absl::Status Open(const Geometry& geometry) = 0;
  virtual void Close() = 0;

  // Worker bodies (run in forked children).
  virtual void Sender(Control& control, const Geometry& g, const Plan& plan, int index,
                      WorkerReport& report) = 0;
  virtual void Receiver(Control& control, const Geometry& g, const Plan& plan, int index,
                        WorkerReport& report) = 0;
  // Round trips: the ping side writes one sample (ticks) per round trip.
  virtual void Ping(Control& control, const Geometry& g, const Plan& plan,
                    std::uint64_t* samples, WorkerReport& report) = 0;
  virtual void Pong(Control& control, const Geometry& g, const Plan& plan,
                    WorkerReport& report) = 0;
  // Idle: the sender sleeps, then sends messages carrying NowNs(); the
  // receiver measures its CPU time while blocked and each wake-up latency.
  virtual void IdleSender(Control& control, const Geometry& g, const Plan& plan,
                          WorkerReport& report) = 0;
  virtual void IdleReceiver(Control& control, const Geometry& g, const Plan& plan,
                            std::uint64_t* samples, WorkerReport& report) = 0;
};

namespace internal_loops {

struct Usage {
  std::int64_t t0, cpu0, vcsw0, ivcsw0;
  std::uint64_t alloc0;
  void Start() {
    ContextSwitches(&vcsw0, &ivcsw0);
    alloc0 = HeapAllocations();
    cpu0 = ProcessCpuNs();
    t0 = NowNs();
  }
  void Stop(WorkerReport& report) {
    report.end_ns = NowNs();
    report.wall_ns = report.end_ns - t0;
    report.cpu_ns = ProcessCpuNs() - cpu0;
    report.heap_allocations = HeapAllocations() - alloc0;
    std::int64_t v, iv;
    ContextSwitches(&v, &iv);
    report.voluntary_switches = v - vcsw0;
    report.involuntary_switches = iv - ivcsw0;
  }
};

}  // namespace internal_loops

template <typename A>
class TransportOf final : public Transport {
 public:
  template <typename... Args>
  explicit TransportOf(Args&&... args)
      : traits_(A::traits()), adapter_(std::forward<Args>(args)...) {}

  const Traits& traits() const override { return traits_; }
  absl::Status Open(const Geometry& geometry) override { return adapter_.Open(geometry); }
  void Close() override { adapter_.Close(); }
  A& adapter() { return adapter_; }

  void Sender(Control& control, const Geometry& g, const Plan& plan, int index,
              WorkerReport& report) override {
    AwaitPassive(control, static_cast<std::uint32_t>(g.receivers));
    typename A::End end(adapter_, Role::kSender, index);
    Payload payload(g.message_size, 0);
    // Warm-up only one-to-one: with several receivers nobody knows who
    // would take the warm-up messages.
    const bool one_to_one = OneToOne(g);
    const std::uint64_t warmup = one_to_one ? plan.warmup : 0;
    // One-to-one: every message carries its sequence number in its first 8
    // bytes and the receiver checks it (exactly once, in order; a broken
    // transport must not look fast). One 8-byte store per message.
    std::uint64_t sequence = 0;
    std::byte* const tag = payload.data();
    for (std::uint64_t i = 0; i < warmup; ++i, ++sequence) {
      __builtin_memcpy(tag, &sequence, sizeof(sequence));
      end.send(payload.bytes());
    }
    Ready(control);
    internal_loops::Usage usage;
    usage.Start();
    const std::span<const std::byte> bytes = payload.bytes();
    if (one_to_one) {
      for (std::uint64_t i = 0; i < plan.messages; ++i, ++sequence) {
        __builtin_memcpy(tag, &sequence, sizeof(sequence));
        end.send(bytes);
      }
    } else {
      for (std::uint64_t i = 0; i < plan.messages; ++i) end.send(bytes);
    }
    usage.Stop(report);
    report.messages = plan.messages;
    report.bytes = plan.messages * g.message_size;
    if (!OneToOne(g)) {
      // End of data: the last sender to finish sends one marker per
      // receiver; they queue behind every data message of every sender.
      if (control.senders_done.fetch_add(1, std::memory_order_acq_rel) + 1 ==
          static_cast<std::uint32_t>(g.senders)) {
        Payload sentinel(g.message_size, kSentinel);
        for (int r = 0; r < g.receivers; ++r) end.send(sentinel.bytes());
      }
    }
  }

  void Receiver(Control& control, const Geometry& g, const Plan& plan, int index,
                WorkerReport& report) override {
    typename A::End end(adapter_, Role::kReceiver, index);
    PassiveReady(control);
    const bool counted = OneToOne(g);
    const std::uint64_t warmup = counted ? plan.warmup : 0;
    std::uint64_t sequence = 0;
    for (std::uint64_t i = 0; i < warmup; ++i, ++sequence) {
      ExpectSequence(Expect(end.recv(), g, report), sequence, report);
    }
    Ready(control);
    internal_loops::Usage usage;
    usage.Start();
    std::uint64_t messages = 0;
    if (counted) {
      for (; messages < plan.messages; ++messages, ++sequence) {
        ExpectSequence(Expect(end.recv(), g, report), sequence, report);
      }
    } else {
      for (;;) {
        if (TagOf(Expect(end.recv(), g, report)) == kSentinel) break;
        ++messages;
      }
    }
    usage.Stop(report);
    report.messages = messages;
    report.bytes = messages * g.message_size;
    // An adapter may explain its run with one number (the bare ring: its
    // batch per index load).
    if constexpr (requires { end.diagnostic(); }) report.value = end.diagnostic();
  }

  void Ping(Control& control, const Geometry& g, const Plan& plan, std::uint64_t* samples,
            WorkerReport& report) override {
    AwaitPassive(control, 1);
    typename A::End end(adapter_, Role::kPing, 0);
    Payload payload(g.message_size, 0);
    for (std::uint64_t i = 0; i < plan.warmup; ++i) {
      end.send(payload.bytes());
      Expect(end.recv(), g, report);
    }
    Ready(control);
    internal_loops::Usage usage;
    usage.Start();
    for (std::uint64_t i = 0; i < plan.messages; ++i) {
      const std::uint64_t t0 = Ticks();
      end.send(payload.bytes());
      Expect(end.recv(), g, report);
      samples[i] = Ticks() - t0;
    }
    usage.Stop(report);
    report.messages = plan.messages;
  }

  void Pong(Control& control, const Geometry& g, const Plan& plan, WorkerReport& report) override {
    typename A::End end(adapter_, Role::kPong, 0);
    PassiveReady(control);
    for (std::uint64_t i = 0; i < plan.warmup; ++i) end.send(Expect(end.recv(), g, report));
    Ready(control);
    for (std::uint64_t i = 0; i < plan.messages; ++i) end.send(Expect(end.recv(), g, report));
  }

  void IdleSender(Control& control, const Geometry& g, const Plan& plan,
                  WorkerReport& report) override {
    AwaitPassive(control, 1);
    typename A::End end(adapter_, Role::kSender, 0);
    Payload payload(g.message_size, 0);
    end.send(payload.bytes());  // warm-up: connects, touches the buffers
    Ready(control);
    for (int i = 0; i <= plan.wakeups; ++i) {
      SleepFor(i == 0 ? plan.idle_ns : plan.gap_ns);
      const std::int64_t now = NowNs();
      // The send time rides in bytes 8..15 (the first 8 are the tag).
      __builtin_memcpy(payload.data() + 8, &now, sizeof(now));
      end.send(payload.bytes());
    }
    (void)report;
  }

  void IdleReceiver(Control& control, const Geometry& g, const Plan& plan, std::uint64_t* samples,
                    WorkerReport& report) override {
    typename A::End end(adapter_, Role::kReceiver, 0);
    PassiveReady(control);
    Expect(end.recv(), g, report);
    Ready(control);
    internal_loops::Usage usage;
    usage.Start();
    for (int i = 0; i <= plan.wakeups; ++i) {
      const std::span<const std::byte> message = Expect(end.recv(), g, report);
      const std::int64_t now = NowNs();
      if (i == 0) usage.Stop(report);  // CPU used while blocked through idle_ns
      std::int64_t sent;
      __builtin_memcpy(&sent, message.data() + 8, sizeof(sent));
      samples[i] = static_cast<std::uint64_t>(now - sent);
    }
    report.messages = static_cast<std::uint64_t>(plan.wakeups) + 1;
  }

 private:
  static bool OneToOne(const Geometry& g) { return g.senders == 1 && g.receivers == 1; }
  static std::span<const std::byte> Expect(std::span<const std::byte> message, const Geometry& g,
                                           WorkerReport& report) {
    if (message.size() != g.message_size) [[unlikely]] {
      WorkerFail(report, absl::StrCat("received ", message.size(), " bytes, expected ",
                                      g.message_size));
    }
    return message;
  }
  static void ExpectSequence(std::span<const std::byte> message, std::uint64_t sequence,
                             WorkerReport& report) {
    if (TagOf(message) != sequence) [[unlikely]] {
      WorkerFail(report, absl::StrCat("message ", sequence, " carries sequence number ",
                                      TagOf(message), ": lost, duplicated or reordered"));
    }
  }
  static void SleepFor(std::int64_t ns) {
    const std::int64_t until = NowNs() + ns;
    for (std::int64_t now = NowNs(); now < until; now = NowNs()) {
      timespec ts{static_cast<time_t>((until - now) / 1'000'000'000),
                  static_cast<long>((until - now) % 1'000'000'000)};
      nanosleep(&ts, nullptr);
    }
  }

  Traits traits_;
  A adapter_;
};

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_TRANSPORT_H_
