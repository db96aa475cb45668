// A work queue across processes over the network: one producer, three
// workers, typed (cereal) messages over ZeroMQ on tcp://127.0.0.1.
//
//   bazel run //examples:remote_workers
//
// The producer binds two network ends, one that sends jobs and one that
// receives results, and starts the workers as separate programs (this same
// binary, run with "worker <jobs address> <results address>"), as it would
// start them on other hosts. Each worker connects to both addresses, takes
// jobs until end of stream and answers each one. The producer checks that
// every job was answered exactly once, and shows how the jobs were shared.
//
// The code is the pipe's: send<T> / recv<T> / recv_for with the same
// status codes (IsEndOfStream, IsTimeout, ...) as on a shared-memory pipe.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/buffered_pipe.h"
#include "buffered_pipe/network/network_end.h"

namespace {

using buffered_pipe::NetworkEnd;
using buffered_pipe::NetworkOptions;
using buffered_pipe::NetworkRole;

struct Job {
  std::uint64_t id = 0;
  std::string text;

  template <class Archive>
  void serialize(Archive& archive) {
    archive(id, text);
  }
};

struct Result {
  std::uint64_t id = 0;
  std::uint64_t words = 0;
  std::int64_t worker = 0;  // the worker's process id

  template <class Archive>
  void serialize(Archive& archive) {
    archive(id, words, worker);
  }
};

constexpr int kWorkers = 3;
constexpr std::uint64_t kJobs = 300;

// A small credit window (a few jobs per worker) so that a worker that is
// busy does not hoard jobs: the producer hands each job to a worker with
// room for it.
NetworkOptions Options() {
  NetworkOptions options;
  options.credit_bytes = 1024;
  return options;
}

std::uint64_t CountWords(const std::string& text) {
  std::uint64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool letter = c != ' ';
    words += letter && !in_word;
    in_word = letter;
  }
  return words;
}

// A worker: connects to the producer's two ends, answers jobs until end of
// stream (the producer has closed its jobs end and every job has arrived).
int Work(const std::string& jobs_address, const std::string& results_address) {
  absl::StatusOr<NetworkEnd> results = buffered_pipe::ConnectTypedNetworkEnd<Result>(
      results_address, NetworkRole::kSender, Options());
  absl::StatusOr<NetworkEnd> jobs =
      buffered_pipe::ConnectTypedNetworkEnd<Job>(jobs_address, NetworkRole::kReceiver, Options());
  if (!results.ok() || !jobs.ok()) {
    std::cerr << "worker: cannot connect: " << results.status() << " / " << jobs.status() << "\n";
    return 1;
  }
  for (;;) {
    absl::StatusOr<Job> job = jobs->recv<Job>();
    if (buffered_pipe::IsEndOfStream(job.status())) break;  // no more jobs
    if (!job.ok()) {
      std::cerr << "worker: " << job.status() << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // the "work"
    const Result result{job->id, CountWords(job->text), static_cast<std::int64_t>(getpid())};
    if (absl::Status sent = results->send(result); !sent.ok()) {
      std::cerr << "worker: cannot answer job " << job->id << ": " << sent << "\n";
      return 1;
    }
  }
  // close() returns once the producer has confirmed that every result arrived.
  absl::Status closed = results->close();
  if (!closed.ok()) std::cerr << "worker: " << closed << "\n";
  return closed.ok() ? 0 : 1;
}

// Starts this program again as a worker: a separate program, as on another host.
pid_t StartWorker(const std::string& jobs_address, const std::string& results_address) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const char* arguments[] = {"remote_workers", "worker", jobs_address.c_str(),
                             results_address.c_str(), nullptr};
  execv("/proc/self/exe", const_cast<char* const*>(arguments));
  _exit(127);  // exec failed
}

int Produce() {
  // Port "*": the system picks a free port; address() says which.
  absl::StatusOr<NetworkEnd> jobs = buffered_pipe::BindTypedNetworkEnd<Job>(
      "tcp://127.0.0.1:*", NetworkRole::kSender, Options());
  absl::StatusOr<NetworkEnd> results = buffered_pipe::BindTypedNetworkEnd<Result>(
      "tcp://127.0.0.1:*", NetworkRole::kReceiver, Options());
  if (!jobs.ok() || !results.ok()) {
    std::cerr << "producer: cannot bind: " << jobs.status() << " / " << results.status() << "\n";
    return 1;
  }
  std::cout << "jobs on " << jobs->address() << ", results on " << results->address() << "\n";
  std::vector<pid_t> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.push_back(StartWorker(jobs->address(), results->address()));
  }

  // Wait for every worker, so that the first does not take all the jobs
  // before the others have started (a real service would just start).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (jobs->peer_count() < kWorkers && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // One thread sends the jobs while this one collects the answers.
  std::thread sender([&jobs] {
    for (std::uint64_t id = 0; id < kJobs; ++id) {
      Job job{id, ""};
      for (std::uint64_t word = 0; word <= id % 5; ++word) job.text += "word  ";
      if (absl::Status sent = jobs->send(job); !sent.ok()) {
        std::cerr << "producer: cannot send job " << id << ": " << sent << "\n";
        return;
      }
    }
    // End of stream for the workers, once every job has reached one of them.
    if (absl::Status closed = jobs->close(); !closed.ok()) std::cerr << "producer: " << closed << "\n";
  });

  std::vector<int> answers(kJobs, 0);
  std::map<std::int64_t, int> jobs_per_worker;
  bool ok = true;
  for (std::uint64_t received = 0; received < kJobs; ++received) {
    absl::StatusOr<Result> result = results->recv_for<Result>(std::chrono::seconds(60));
    if (!result.ok()) {
      std::cerr << "producer: after " << received << " results: " << result.status() << "\n";
      ok = false;
      break;
    }
    if (result->id >= kJobs || result->words != result->id % 5 + 1) {
      std::cerr << "producer: wrong result for job " << result->id << "\n";
      ok = false;
    } else {
      ++answers[result->id];
    }
    ++jobs_per_worker[result->worker];
  }
  sender.join();
  for (std::uint64_t id = 0; id < kJobs; ++id) {
    if (answers[id] != 1) {
      std::cerr << "producer: job " << id << " answered " << answers[id] << " times\n";
      ok = false;
    }
  }
  for (const auto& [worker, count] : jobs_per_worker) {
    std::cout << "worker " << worker << " did " << count << " jobs\n";
  }
  // Every worker has sent all its results and closed: end of stream.
  absl::StatusOr<Result> after = results->recv_for<Result>(std::chrono::seconds(60));
  if (!buffered_pipe::IsEndOfStream(after.status())) {
    std::cerr << "producer: expected end of stream, got " << after.status() << "\n";
    ok = false;
  }
  for (pid_t worker : workers) {
    int status = 0;
    waitpid(worker, &status, 0);
    ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  std::cout << (ok ? "every job answered exactly once\n" : "FAILED\n");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "worker") return Work(argv[2], argv[3]);
  return Produce();
}
