#include "test_support.h"

#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace buffered_pipe::testing {
namespace {

std::uint64_t Mix(std::uint64_t value) {
  value += 0x9E3779B97F4A7C15ULL;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
  return value ^ (value >> 31);
}

std::uint8_t PatternByte(std::uint64_t seed, std::size_t index) {
  return static_cast<std::uint8_t>(Mix(seed + index / 8) >> (8 * (index % 8)));
}

std::uint32_t Checksum(std::string_view bytes) {
  std::uint32_t hash = 2166136261u;
  for (char c : bytes) hash = (hash ^ static_cast<std::uint8_t>(c)) * 16777619u;
  return hash;
}

template <typename T>
void Put(std::string& out, std::size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof(value));
}
template <typename T>
T Get(std::string_view in, std::size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(value));
  return value;
}

}  // namespace

int TestScale() {
  const char* value = std::getenv("BUFFERED_PIPE_TEST_SCALE");
  const int scale = value != nullptr ? std::atoi(value) : 1;
  return scale > 0 ? scale : 1;
}

namespace {
#if defined(__SANITIZE_ADDRESS__)
constexpr int kSanitizerTimeScale = 3;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int kSanitizerTimeScale = 3;
#else
constexpr int kSanitizerTimeScale = 1;
#endif
#else
constexpr int kSanitizerTimeScale = 1;
#endif
}  // namespace

int TimeScale() {
  const char* value = std::getenv("BUFFERED_PIPE_TEST_TIME_SCALE");
  const int extra = value != nullptr ? std::atoi(value) : 1;
  return (kThreadSanitizer ? 5 : kSanitizerTimeScale) * (extra > 0 ? extra : 1);
}

std::uint64_t TestSeed() {
  static const std::uint64_t seed = [] {
    const char* value = std::getenv("BUFFERED_PIPE_TEST_SEED");
    const std::uint64_t chosen =
        value != nullptr ? std::strtoull(value, nullptr, 10)
                         : static_cast<std::uint64_t>(
                               std::chrono::steady_clock::now().time_since_epoch().count());
    std::fprintf(stderr, "BUFFERED_PIPE_TEST_SEED=%llu\n", static_cast<unsigned long long>(chosen));
    return chosen;
  }();
  return seed;
}

SharedMemory::SharedMemory(std::size_t bytes) : size_(std::max<std::size_t>(bytes, 1)) {
  data_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (data_ == MAP_FAILED) std::abort();
}

SharedMemory::~SharedMemory() { munmap(data_, size_); }

pid_t ForkChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int code = body();
    _exit(code);
  }
  return pid;
}

::testing::AssertionResult WaitForChild(pid_t pid, std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return ::testing::AssertionFailure() << "waitpid failed for " << pid;
    if (std::chrono::steady_clock::now() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return ::testing::AssertionFailure() << "child " << pid << " did not finish in time";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ::testing::AssertionSuccess();
  if (WIFEXITED(status)) {
    return ::testing::AssertionFailure() << "child " << pid << " exited with " << WEXITSTATUS(status);
  }
  return ::testing::AssertionFailure() << "child " << pid << " was killed by signal "
                                       << (WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

std::string UniqueName(std::string_view prefix) {
  // Sandboxed test runs share /dev/shm but may have the same small pids:
  // a random part keeps parallel runs apart.
  static const std::uint64_t run = Mix(static_cast<std::uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count()) ^ static_cast<std::uint64_t>(getpid()));
  static std::atomic<int> counter{0};
  return absl::StrCat("bpipe-test-", std::string(prefix), "-", getpid(), "-", absl::Hex(run & 0xFFFFFFFF),
                      "-", counter.fetch_add(1));
}

StartedProgram StartProgram(const std::vector<std::string>& arguments) {
  int output[2];
  if (pipe(output) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, output[0]);
  std::vector<std::string> copies = arguments;
  std::vector<char*> argv;
  for (std::string& argument : copies) argv.push_back(argument.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(output[1]);
  if (spawned != 0) {
    close(output[0]);
    return {};
  }
  return {.pid = pid, .output_fd = output[0]};
}

std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t count;
  while ((count = read(fd, buffer, sizeof(buffer))) > 0) text.append(buffer, count);
  close(fd);
  return text;
}

std::string MakeMessage(std::uint32_t sender, std::uint64_t sequence, std::size_t length) {
  std::string message(std::max(length, kMessageHeaderSize), '\0');
  const std::uint64_t seed = Mix((std::uint64_t{sender} << 40) ^ sequence);
  for (std::size_t i = kMessageHeaderSize; i < message.size(); ++i) {
    message[i] = static_cast<char>(PatternByte(seed, i));
  }
  Put<std::uint32_t>(message, 0, sender);
  Put<std::uint64_t>(message, 4, sequence);
  Put<std::uint32_t>(message, 12, static_cast<std::uint32_t>(message.size()));
  Put<std::uint32_t>(message, 16, Checksum(std::string_view(message).substr(kMessageHeaderSize)));
  return message;
}

absl::Status CheckMessage(std::string_view message, std::uint32_t* sender, std::uint64_t* sequence) {
  if (message.size() < kMessageHeaderSize) {
    return absl::DataLossError(absl::StrCat("message of ", message.size(), " bytes is torn"));
  }
  *sender = Get<std::uint32_t>(message, 0);
  *sequence = Get<std::uint64_t>(message, 4);
  if (Get<std::uint32_t>(message, 12) != message.size()) {
    return absl::DataLossError(absl::StrCat("message length ", message.size(), " != announced ",
                                            Get<std::uint32_t>(message, 12)));
  }
  if (Get<std::uint32_t>(message, 16) != Checksum(message.substr(kMessageHeaderSize))) {
    return absl::DataLossError("message checksum mismatch");
  }
  const std::uint64_t seed = Mix((std::uint64_t{*sender} << 40) ^ *sequence);
  for (std::size_t i = kMessageHeaderSize; i < message.size(); ++i) {
    if (static_cast<std::uint8_t>(message[i]) != PatternByte(seed, i)) {
      return absl::DataLossError(absl::StrCat("message byte ", i, " is wrong"));
    }
  }
  return absl::OkStatus();
}

std::string ShortMessage(std::uint64_t sequence, std::size_t length) {
  std::string message(length, '\0');
  const std::uint64_t seed = Mix(sequence);
  for (std::size_t i = 0; i < length; ++i) message[i] = static_cast<char>(PatternByte(seed, i));
  return message;
}

DeliveryLog::DeliveryLog(std::size_t capacity)
    : capacity_(capacity), memory_(sizeof(Header) + capacity * sizeof(Delivery)) {
  header_ = new (memory_.data()) Header();
  records_ = reinterpret_cast<Delivery*>(static_cast<char*>(memory_.data()) + sizeof(Header));
}

// Tickets start at 1: an end ticket of 0 marks a record that a killed
// receiver did not finish writing.
std::uint64_t DeliveryLog::Ticket() {
  return header_->ticket.fetch_add(1, std::memory_order_seq_cst) + 1;
}

void DeliveryLog::Record(const Delivery& delivery) {
  const std::uint64_t index = header_->count.fetch_add(1, std::memory_order_relaxed);
  if (index >= capacity_) {
    RecordError();
    return;
  }
  Delivery& record = records_[index];
  record.sender = delivery.sender;
  record.receiver = delivery.receiver;
  record.sequence = delivery.sequence;
  record.start_ticket = delivery.start_ticket;
  // Release: the record is complete once its end ticket is visible.
  std::atomic_ref<std::uint64_t>(record.end_ticket).store(delivery.end_ticket, std::memory_order_release);
}

std::vector<Delivery> DeliveryLog::Deliveries() const {
  const std::uint64_t count =
      std::min<std::uint64_t>(header_->count.load(std::memory_order_acquire), capacity_);
  std::vector<Delivery> deliveries;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (std::atomic_ref<std::uint64_t>(records_[i].end_ticket).load(std::memory_order_acquire) == 0) {
      continue;  // never completed: its writer was killed
    }
    deliveries.push_back(records_[i]);
  }
  return deliveries;
}

std::uint64_t DeliveryLog::errors() const { return header_->errors.load(std::memory_order_acquire); }
void DeliveryLog::RecordError() { header_->errors.fetch_add(1, std::memory_order_relaxed); }

::testing::AssertionResult VerifyDeliveries(const std::vector<Delivery>& deliveries,
                                            const std::vector<std::uint64_t>& sent,
                                            std::uint64_t allowed_losses) {
  constexpr std::uint64_t kMissing = ~std::uint64_t{0};
  std::vector<std::vector<std::uint64_t>> start(sent.size()), end(sent.size());
  for (std::size_t s = 0; s < sent.size(); ++s) {
    start[s].assign(sent[s], kMissing);
    end[s].assign(sent[s], kMissing);
  }
  for (const Delivery& delivery : deliveries) {
    if (delivery.sender >= sent.size() || delivery.sequence >= sent[delivery.sender]) {
      return ::testing::AssertionFailure() << "received message " << delivery.sequence
                                           << " of sender " << delivery.sender << " never sent";
    }
    std::uint64_t& slot = start[delivery.sender][delivery.sequence];
    if (slot != kMissing) {
      return ::testing::AssertionFailure() << "message " << delivery.sequence << " of sender "
                                           << delivery.sender << " received twice";
    }
    slot = delivery.start_ticket;
    end[delivery.sender][delivery.sequence] = delivery.end_ticket;
  }
  std::uint64_t missing = 0;
  for (std::size_t s = 0; s < sent.size(); ++s) {
    std::uint64_t latest_start = 0;
    bool any = false;
    for (std::uint64_t q = 0; q < sent[s]; ++q) {
      if (start[s][q] == kMissing) {
        ++missing;
        continue;
      }
      if (any && latest_start > end[s][q]) {
        return ::testing::AssertionFailure()
               << "sender " << s << ": message " << q
               << " was received completely before an earlier message began to be received";
      }
      latest_start = std::max(latest_start, start[s][q]);
      any = true;
    }
  }
  if (missing > allowed_losses) {
    return ::testing::AssertionFailure() << missing << " messages lost (allowed "
                                         << allowed_losses << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace buffered_pipe::testing
