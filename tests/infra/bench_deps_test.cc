// Proves the benchmark-only dependencies link (@boost//:interprocess,
// @libzmq//:libzmq) and that POSIX shared memory works inside the Bazel test
// sandbox (.bazelrc: --sandbox_writable_path=/dev/shm).
#include <unistd.h>

#include <cstring>
#include <string>

#include <boost/interprocess/managed_shared_memory.hpp>
#include <zmq.h>

#include "gtest/gtest.h"

namespace {

namespace bip = boost::interprocess;

TEST(BenchDepsTest, BoostInterprocessSharedMemory) {
  const std::string name = "bp_infra_" + std::to_string(getpid());
  bip::shared_memory_object::remove(name.c_str());
  {
    bip::managed_shared_memory segment(bip::create_only, name.c_str(), 64 * 1024);
    int* value = segment.construct<int>("value")(1234);
    ASSERT_NE(value, nullptr);
    bip::managed_shared_memory reopened(bip::open_only, name.c_str());
    EXPECT_EQ(*reopened.find<int>("value").first, 1234);
  }
  EXPECT_TRUE(bip::shared_memory_object::remove(name.c_str()));
}

TEST(BenchDepsTest, ZeroMqInprocRoundTrip) {
  int major = 0, minor = 0, patch = 0;
  zmq_version(&major, &minor, &patch);
  EXPECT_EQ(major, 4);
  void* ctx = zmq_ctx_new();
  ASSERT_NE(ctx, nullptr);
  void* server = zmq_socket(ctx, ZMQ_PAIR);
  void* client = zmq_socket(ctx, ZMQ_PAIR);
  ASSERT_EQ(zmq_bind(server, "inproc://infra"), 0);
  ASSERT_EQ(zmq_connect(client, "inproc://infra"), 0);
  ASSERT_EQ(zmq_send(client, "ping", 4, 0), 4);
  char buf[8] = {};
  ASSERT_EQ(zmq_recv(server, buf, sizeof(buf), 0), 4);
  EXPECT_EQ(std::memcmp(buf, "ping", 4), 0);
  zmq_close(client);
  zmq_close(server);
  zmq_ctx_term(ctx);
}

}  // namespace
