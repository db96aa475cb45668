// buffered_pipe itself, as adapters of the comparison (see transport.h).
//
//   bp_generic  the generic pipe, raw bytes: send_bytes / recv_bytes_into
//               (the receive string keeps its capacity: no allocation per
//               message), buffer_size = budget
//
//   bp_static   the static pipe, records of the message size:
//               send_bytes / recv_bytes_into(span) (no allocation),
//               object_count = budget / size (at least 1)
//
// The typed API (send<T> / recv<T>, POD and cereal) plugs in the same way,
// one adapter each.

#ifndef BUFFERED_PIPE_BENCHMARKS_BP_TRANSPORTS_H_
#define BUFFERED_PIPE_BENCHMARKS_BP_TRANSPORTS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "benchmarks/common.h"
#include "benchmarks/transport.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"

namespace buffered_pipe::bench {

class GenericPipeTransport {
 public:
  static Traits traits() {
    Traits t;
    t.name = "bp_generic";
    t.description = "buffered_pipe generic pipe, raw bytes (send_bytes / recv_bytes_into)";
    t.knob = "PipeOptions::buffer_size = budget";
    t.many = true;
    t.oversize = true;
    return t;
  }

  absl::Status Open(const Geometry& g) {
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
        Pipe({.buffer_size = g.budget, .duplex = g.duplex});
    if (!pipe.ok()) return pipe.status();
    ends_ = std::move(*pipe);
    message_size_ = g.message_size;
    return absl::OkStatus();
  }
  void Close() { ends_ = {}; }

  class End {
   public:
    // Simplex: (receiving end, sending end). Duplex: ping uses the first.
    End(GenericPipeTransport& t, Role role, int)
        : end_(role == Role::kSender || role == Role::kPong ? t.ends_.second : t.ends_.first) {
      // Like a user who reuses the string: recv_bytes_into then never allocates.
      buffer_.reserve(t.message_size_);
    }
    void send(std::span<const std::byte> message) {
      const absl::Status status = end_.send_bytes(
          std::string_view(reinterpret_cast<const char*>(message.data()), message.size()));
      if (!status.ok()) [[unlikely]] CheckOk(status, "send_bytes");
    }
    std::span<const std::byte> recv() {
      const absl::Status status = end_.recv_bytes_into(buffer_);
      if (!status.ok()) [[unlikely]] CheckOk(status, "recv_bytes_into");
      return {reinterpret_cast<const std::byte*>(buffer_.data()), buffer_.size()};
    }

   private:
    PipeEnd& end_;
    std::string buffer_;
  };

 private:
  std::pair<PipeEnd, PipeEnd> ends_;
  std::size_t message_size_ = 0;
};

class StaticPipeTransport {
 public:
  static Traits traits() {
    Traits t;
    t.name = "bp_static";
    t.description = "buffered_pipe static pipe, one record per message (send_bytes / recv_bytes_into)";
    t.knob = "object_size = message size, object_count = budget / size (at least 1)";
    t.many = true;
    return t;
  }

  absl::Status Open(const Geometry& g) {
    absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> pipe = StaticPipe(
        {.object_size = g.message_size,
         .object_count = std::max<std::uint64_t>(1, g.budget / g.message_size),
         .duplex = g.duplex});
    if (!pipe.ok()) return pipe.status();
    ends_ = std::move(*pipe);
    message_size_ = g.message_size;
    return absl::OkStatus();
  }
  void Close() { ends_ = {}; }

  class End {
   public:
    End(StaticPipeTransport& t, Role role, int)
        : end_(role == Role::kSender || role == Role::kPong ? t.ends_.second : t.ends_.first),
          buffer_(t.message_size_, 0) {}
    void send(std::span<const std::byte> message) {
      const absl::Status status = end_.send_bytes(
          std::string_view(reinterpret_cast<const char*>(message.data()), message.size()));
      if (!status.ok()) [[unlikely]] CheckOk(status, "send_bytes");
    }
    std::span<const std::byte> recv() {
      const std::span<std::byte> record(buffer_.data(), buffer_.size());
      const absl::Status status = end_.recv_bytes_into(record);
      if (!status.ok()) [[unlikely]] CheckOk(status, "recv_bytes_into");
      return record;
    }

   private:
    StaticPipeEnd& end_;
    Payload buffer_;
  };

 private:
  std::pair<StaticPipeEnd, StaticPipeEnd> ends_;
  std::size_t message_size_ = 0;
};

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_BP_TRANSPORTS_H_
