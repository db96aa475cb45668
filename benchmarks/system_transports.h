// What a user would pick instead of buffered_pipe, each given the same byte
// budget (Geometry::budget) through its own buffer knob:
//
//   pipe        pipe(2), fcntl(F_SETPIPE_SZ, budget); one pipe per direction
//   socketpair  socketpair(AF_UNIX, SOCK_STREAM), SO_SNDBUF = SO_RCVBUF = budget
//               on both sockets (the kernel doubles the value it reports, for
//               its bookkeeping; the queue of an AF_UNIX stream socket is
//               charged to the sender's SO_SNDBUF)
//   boost_mq    boost::interprocess::message_queue with
//               max_msg x max_msg_size = budget (max_msg_size = message size,
//               max_msg = budget / size, at least 1); one queue per direction
//   zmq         ZeroMQ 4.3 PUSH/PULL (PAIR for the round trip) over ipc://,
//               SNDHWM = RCVHWM = budget / size / 2 messages (at least 1),
//               so the two queues hold the budget; the kernel socket buffers
//               under ipc:// are the OS default, on top
//   zmq_tcp     the same over tcp://127.0.0.1 (the baseline of the network
//               ends, network_transports.h)
//
// The two stream transports (pipe, socketpair) carry messages with an
// 8-byte length prefix: one writev() per message on the sending side; the
// receiving side reads through a 64 KiB user-space buffer and parses frames
// out of it (what a reasonable user writes; a read() per frame header would
// be slower), copying a frame only when it does not fit the buffer.

#ifndef BUFFERED_PIPE_BENCHMARKS_SYSTEM_TRANSPORTS_H_
#define BUFFERED_PIPE_BENCHMARKS_SYSTEM_TRANSPORTS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/interprocess/ipc/message_queue.hpp>

#include "absl/status/status.h"
#include "benchmarks/common.h"
#include "benchmarks/transport.h"

namespace buffered_pipe::bench {

// Length-prefixed messages over a byte stream (one fd to write, one to read).
class FramedStream {
 public:
  FramedStream(int read_fd, int write_fd);
  void Send(std::span<const std::byte> message);
  std::span<const std::byte> Recv();

 private:
  void Fill(std::size_t at_least);  // until `at_least` unparsed bytes are buffered

  int read_fd_;
  int write_fd_;
  std::vector<std::byte> buffer_;  // read buffer
  std::size_t begin_ = 0;          // unparsed bytes are [begin_, end_)
  std::size_t end_ = 0;
  std::vector<std::byte> large_;   // a frame larger than buffer_
};

class PipeTransport {
 public:
  static Traits traits();
  absl::Status Open(const Geometry& g);
  void Close();
  class End {
   public:
    End(PipeTransport& t, Role role, int index);
    void send(std::span<const std::byte> message) { stream_.Send(message); }
    std::span<const std::byte> recv() { return stream_.Recv(); }

   private:
    FramedStream stream_;
  };

 private:
  int forward_[2] = {-1, -1};   // [read, write]
  int backward_[2] = {-1, -1};
};

class SocketpairTransport {
 public:
  static Traits traits();
  absl::Status Open(const Geometry& g);
  void Close();
  class End {
   public:
    End(SocketpairTransport& t, Role role, int index);
    void send(std::span<const std::byte> message) { stream_.Send(message); }
    std::span<const std::byte> recv() { return stream_.Recv(); }

   private:
    FramedStream stream_;
  };
  // What the kernel reports for the sending socket (for the report).
  int reported_sndbuf() const { return reported_sndbuf_; }

 private:
  int fds_[2] = {-1, -1};  // [0]: sender / ping side, [1]: receiver / pong side
  int reported_sndbuf_ = 0;
};

class BoostQueueTransport {
 public:
  static Traits traits();
  absl::Status Open(const Geometry& g);
  void Close();
  class End {
   public:
    End(BoostQueueTransport& t, Role role, int index);
    void send(std::span<const std::byte> message);
    std::span<const std::byte> recv();

   private:
    using Queue = boost::interprocess::message_queue;
    Queue* out_;
    Queue* in_;
    Payload buffer_;
  };

 private:
  using Queue = boost::interprocess::message_queue;
  Geometry geometry_;
  std::string names_[2];
  std::unique_ptr<Queue> queues_[2];  // [0] forward, [1] backward
};

class ZmqTransport {
 public:
  explicit ZmqTransport(Scheme scheme = Scheme::kIpc) : scheme_(scheme) {}
  static Traits traits();
  absl::Status Open(const Geometry& g);
  void Close();
  class End {
   public:
    End(ZmqTransport& t, Role role, int index);
    ~End();  // closes the socket, then the context: waits until sent (linger)
    End(const End&) = delete;
    End& operator=(const End&) = delete;
    void send(std::span<const std::byte> message);
    std::span<const std::byte> recv();

   private:
    void* context_;
    void* socket_;
    Payload buffer_;
  };

 private:
  Scheme scheme_;
  Geometry geometry_;
  std::string endpoint_;  // chosen by Open()
};

class ZmqTcpTransport : public ZmqTransport {
 public:
  ZmqTcpTransport() : ZmqTransport(Scheme::kTcp) {}
  static Traits traits();
};

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_SYSTEM_TRANSPORTS_H_
