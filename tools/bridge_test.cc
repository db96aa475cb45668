// bpipe bridge: two "hosts" (threads of one process, each with its own named
// pipe) joined by two bridges over ipc://, as in bridge.h's examples; and the
// command itself (tools/bpipe bridge), stopped by SIGTERM.

#include "tools/bridge.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/codecs/typed_pipe.h"
#include "buffered_pipe/network/network_end.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe::tools {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::buffered_pipe::testing::CheckMessage;
using ::buffered_pipe::testing::MakeMessage;
using ::buffered_pipe::testing::UniqueName;

std::string IpcAddress() { return absl::StrCat("ipc:///tmp/", UniqueName("bridge")); }

// A bridge running in a thread of its own.
class RunningBridge {
 public:
  explicit RunningBridge(BridgeOptions options)
      : result_(std::async(std::launch::async, [this, options = std::move(options)] {
          return RunBridge(options, stop_, log_);
        })) {}
  ~RunningBridge() {
    stop_.store(true);
    if (result_.valid()) result_.wait();
  }
  // Its result, once it ended by itself (within `timeout`).
  absl::StatusOr<BridgeResult> Result(seconds timeout = seconds(60)) {
    if (result_.wait_for(timeout) != std::future_status::ready) {
      return absl::DeadlineExceededError("the bridge did not end");
    }
    return result_.get();
  }
  void Stop() { stop_.store(true); }

 private:
  std::atomic<bool> stop_{false};
  std::ostringstream log_;  // written by the bridge only
  std::future<BridgeResult> result_;
};

// Opens a name another thread creates.
absl::StatusOr<PipeEnd> OpenWhenCreated(const std::string& name, Side side) {
  const auto give_up = std::chrono::steady_clock::now() + seconds(30);
  for (;;) {
    absl::StatusOr<PipeEnd> end = OpenNamedPipe(name, side);
    if (end.ok() || !absl::IsNotFound(end.status()) ||
        std::chrono::steady_clock::now() > give_up) {
      return end;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

TEST(BridgeArgumentsTest, BadCommandLinesAreRefusedWithTheReason) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"jobs"},
                                             {"--out=ipc:///tmp/x"},
                                             {"jobs", "other", "--out=ipc:///tmp/x"},
                                             {"jobs", "--out=ipc:///tmp/x", "--side=third"},
                                             {"jobs", "--out=ipc:///tmp/x", "--credit=0"},
                                             {"jobs", "--out=ipc:///tmp/x", "--create=lots"},
                                             {"jobs", "--out=ipc:///tmp/x", "--in=ipc:///tmp/x"},
                                             {"jobs", "--out=ipc:///tmp/x", "--fast"}}) {
    absl::StatusOr<BridgeOptions> options = ParseBridgeArguments(args);
    EXPECT_TRUE(absl::IsInvalidArgument(options.status())) << args.size();
    EXPECT_FALSE(options.status().message().empty());
  }
  absl::StatusOr<BridgeOptions> options = ParseBridgeArguments(
      {"work", "--side=second", "--out=tcp://a:1", "--in=tcp://a:2", "--bind", "--create=4096",
       "--credit=8192"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->name, "work");
  EXPECT_EQ(options->side, Side::kSecond);
  EXPECT_EQ(options->out_address, "tcp://a:1");
  EXPECT_EQ(options->in_address, "tcp://a:2");
  EXPECT_TRUE(options->bind);
  EXPECT_TRUE(options->create);
  EXPECT_EQ(options->create_buffer_size, 4096u);
  EXPECT_EQ(options->network.credit_bytes, 8192u);
}

TEST(BridgeTest, AWorkQueueSpansTwoHostsInOrderWithEndOfStream) {
  const std::string host_a = UniqueName("bridge-a");
  const std::string host_b = UniqueName("bridge-b");
  const std::string address = IpcAddress();
  // Host A: the producer's pipe, made by the producer.
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> producer_pipe =
      CreateNamedPipe(host_a, {.buffer_size = 1 << 16});
  ASSERT_TRUE(producer_pipe.ok()) << producer_pipe.status();
  PipeEnd producer = std::move(producer_pipe->second);
  ASSERT_TRUE(producer_pipe->first.close().ok());  // the bridge opens this side
  RunningBridge bridge_a({.name = host_a, .side = kReceivingSide, .out_address = address,
                          .bind = true});
  // Host B: the bridge makes the pipe that its consumer opens by name.
  RunningBridge bridge_b({.name = host_b, .side = kSendingSide, .in_address = address,
                          .create = true, .create_buffer_size = 1 << 16});
  absl::StatusOr<PipeEnd> consumer = OpenWhenCreated(host_b, kReceivingSide);
  ASSERT_TRUE(consumer.ok()) << consumer.status();

  constexpr std::uint64_t kMessages = 3000;
  std::thread producing([&] {
    ASSERT_TRUE(producer.wait_for_peer(seconds(30)).ok());
    for (std::uint64_t i = 0; i < kMessages; ++i) {
      // Now and then one larger than either pipe's ring (it streams).
      const std::size_t length = i % 1000 == 7 ? 200'000 : 16 + i % 300;
      ASSERT_TRUE(producer.send_bytes_for(MakeMessage(1, i, length), seconds(30)).ok());
    }
    ASSERT_TRUE(producer.close().ok());
  });
  std::uint64_t expected = 0;
  for (;;) {
    absl::StatusOr<std::string> message = consumer->recv_bytes_for(seconds(30));
    if (IsEndOfStream(message.status())) break;
    ASSERT_TRUE(message.ok()) << message.status();
    std::uint32_t sender;
    std::uint64_t sequence;
    ASSERT_TRUE(CheckMessage(*message, &sender, &sequence).ok());
    ASSERT_EQ(sequence, expected) << "lost, duplicated or out of order";
    ++expected;
  }
  producing.join();
  EXPECT_EQ(expected, kMessages);
  for (RunningBridge* bridge : {&bridge_a, &bridge_b}) {
    absl::StatusOr<BridgeResult> result = bridge->Result();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->status.ok()) << result->status;
    EXPECT_EQ(result->lost, 0u);
    EXPECT_EQ(result->forwarded_out + result->forwarded_in, kMessages);
  }
}

TEST(BridgeTest, RequestsGoToAnotherHostAndTheAnswersComeBack) {
  const std::string host_a = UniqueName("bridge-a");
  const std::string host_b = UniqueName("bridge-b");
  const std::string requests = IpcAddress();
  const std::string answers = IpcAddress();
  // Host A: a duplex pipe, side first asks, side second (workers) answers.
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
      CreateNamedPipe(host_a, {.buffer_size = 1 << 16, .duplex = true});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  PipeEnd asker = std::move(pipe->first);
  ASSERT_TRUE(pipe->second.close().ok());
  RunningBridge bridge_a({.name = host_a, .side = Side::kSecond, .out_address = requests,
                          .in_address = answers, .bind = true});
  RunningBridge bridge_b({.name = host_b, .side = Side::kFirst, .out_address = answers,
                          .in_address = requests, .create = true});
  std::thread worker([&] {  // host B's worker, unchanged: opens side second
    absl::StatusOr<PipeEnd> end = OpenWhenCreated(host_b, Side::kSecond);
    ASSERT_TRUE(end.ok()) << end.status();
    for (;;) {
      absl::StatusOr<std::string> request = end->recv_bytes_for(seconds(30));
      if (IsEndOfStream(request.status())) return;
      ASSERT_TRUE(request.ok()) << request.status();
      ASSERT_TRUE(end->send_bytes_for(absl::StrCat("answer to ", *request), seconds(30)).ok());
    }
  });
  ASSERT_TRUE(asker.wait_for_peer(seconds(30)).ok());
  for (int i = 0; i < 500; ++i) {
    const std::string request = absl::StrCat("request ", i);
    ASSERT_TRUE(asker.send_bytes_for(request, seconds(30)).ok());
    absl::StatusOr<std::string> answer = asker.recv_bytes_for(seconds(30));
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(*answer, absl::StrCat("answer to ", request));
  }
  ASSERT_TRUE(asker.close().ok());  // end of stream travels to the worker
  worker.join();
  for (RunningBridge* bridge : {&bridge_a, &bridge_b}) {
    absl::StatusOr<BridgeResult> result = bridge->Result();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->status.ok()) << result->status;
    EXPECT_EQ(result->forwarded_out, 500u);
    EXPECT_EQ(result->forwarded_in, 500u);
  }
}

struct Point {
  std::int32_t x;
  std::int32_t y;
};

TEST(BridgeTest, ATypedPipesTypeIsCheckedAtTheRemoteEnd) {
  const std::string name = UniqueName("bridge-typed");
  const std::string address = IpcAddress();
  auto pipe = CreateTypedNamedPipe<Point>(name);
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto sender = std::move(pipe->second);
  ASSERT_TRUE(pipe->first.close().ok());
  RunningBridge bridge({.name = name, .out_address = address, .bind = true});
  absl::StatusOr<NetworkEnd> wrong =
      ConnectTypedNetworkEnd<std::int64_t>(address, NetworkRole::kReceiver);
  EXPECT_TRUE(absl::IsInvalidArgument(wrong.status())) << wrong.status();
  absl::StatusOr<NetworkEnd> right = ConnectTypedNetworkEnd<Point>(address, NetworkRole::kReceiver);
  ASSERT_TRUE(right.ok()) << right.status();
  ASSERT_TRUE(sender.send(Point{3, 4}).ok());
  absl::StatusOr<Point> point = right->recv_for<Point>(seconds(30));
  ASSERT_TRUE(point.ok()) << point.status();
  EXPECT_EQ(point->x, 3);
  EXPECT_EQ(point->y, 4);
  ASSERT_TRUE(sender.close().ok());
  EXPECT_TRUE(IsEndOfStream(right->recv_for<Point>(seconds(30)).status()));
  absl::StatusOr<BridgeResult> result = bridge.Result();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->status.ok()) << result->status;
  EXPECT_EQ(result->forwarded_out, 1u);
}

TEST(BridgeTest, AStoppedBridgeEndsPromptlyAndABadPipeIsAnError) {
  {
    const std::string name = UniqueName("bridge-idle");
    // Nobody else ever comes: the bridge waits, then is stopped.
    RunningBridge bridge({.name = name, .side = kSendingSide, .in_address = IpcAddress(),
                          .create = true});
    std::this_thread::sleep_for(milliseconds(300));
    const auto stopped = std::chrono::steady_clock::now();
    bridge.Stop();
    absl::StatusOr<BridgeResult> result = bridge.Result(seconds(30));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->status.ok()) << result->status;
    EXPECT_LT(std::chrono::steady_clock::now() - stopped, seconds(5));
  }
  std::atomic<bool> stop{false};
  std::ostringstream log;
  BridgeResult missing = RunBridge(
      {.name = UniqueName("bridge-missing"), .out_address = IpcAddress(), .bind = true}, stop, log);
  EXPECT_TRUE(absl::IsNotFound(missing.status)) << missing.status;
  // The receiving side of a simplex pipe cannot feed it (--in).
  const std::string name = UniqueName("bridge-wrong-side");
  auto pipe = CreateNamedPipe(name);
  ASSERT_TRUE(pipe.ok());
  BridgeResult wrong_side = RunBridge(
      {.name = name, .side = kReceivingSide, .in_address = IpcAddress(), .bind = true}, stop, log);
  EXPECT_TRUE(absl::IsInvalidArgument(wrong_side.status)) << wrong_side.status;
}

// The command, as a user runs it: `bpipe bridge NAME --out=ADDRESS --bind`
// forwards the pipe's messages in order and, on SIGTERM, closes its ends
// (the remote receiver sees end of stream), reports its count and exits 0.
TEST(BridgeCommandTest, ForwardsAPipeAndStopsCleanlyOnSigterm) {
  const std::string name = UniqueName("bridge-command");
  const std::string address = IpcAddress();
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 1 << 16});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  PipeEnd producer = std::move(pipe->second);
  ASSERT_TRUE(pipe->first.close().ok());  // the bridge opens the receiving side

  const testing::StartedProgram bridge =
      testing::StartProgram({"tools/bpipe", "bridge", name, "--out=" + address, "--bind"});
  ASSERT_GE(bridge.pid, 0) << "cannot start tools/bpipe";

  NetworkOptions options;
  options.connect_timeout = seconds(60);  // until the command has bound
  absl::StatusOr<NetworkEnd> remote = ConnectNetworkEnd(address, NetworkRole::kReceiver, options);
  ASSERT_TRUE(remote.ok()) << remote.status();
  constexpr int kMessages = 200;
  for (int i = 0; i < kMessages; ++i) ASSERT_TRUE(producer.send_bytes(MakeMessage(0, i, 100)).ok());
  for (int i = 0; i < kMessages; ++i) {
    absl::StatusOr<std::string> message = remote->recv_bytes_for(seconds(60));
    ASSERT_TRUE(message.ok()) << i << ": " << message.status();
    std::uint32_t sender = 0;
    std::uint64_t sequence = 0;
    ASSERT_TRUE(CheckMessage(*message, &sender, &sequence).ok()) << i;
    EXPECT_EQ(sequence, static_cast<std::uint64_t>(i));  // in order, none lost or repeated
  }

  ASSERT_EQ(kill(bridge.pid, SIGTERM), 0);
  int status = 0;
  const auto give_up = std::chrono::steady_clock::now() + seconds(60);
  pid_t waited = 0;
  while ((waited = waitpid(bridge.pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  if (waited == 0) {
    kill(bridge.pid, SIGKILL);
    waitpid(bridge.pid, &status, 0);
  }
  const std::string output = testing::ReadAll(bridge.output_fd);
  ASSERT_NE(waited, 0) << "the bridge did not stop on SIGTERM: " << output;
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(output.find(absl::StrCat(kMessages, " messages out, 0 in, 0 lost")), std::string::npos)
      << output;
  // Its network end closed: the remote receiver sees end of stream.
  EXPECT_TRUE(IsEndOfStream(remote->recv_bytes_for(seconds(60)).status()));
}

}  // namespace
}  // namespace buffered_pipe::tools
