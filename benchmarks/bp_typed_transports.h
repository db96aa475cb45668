// Typed sends over the generic pipe (codecs/), as adapters of the
// comparison (see transport.h):
//
//   bp_pod     send(const Pod<N>&) / recv<Pod<N>>(), Pod<N> a trivially
//              copyable struct of N bytes (TriviallyCopyableCodec). One
//              adapter per message size (a type has one size).
//   bp_cereal  send(const Record&) / recv<Record>(), Record a cereal struct
//              {uint64 sequence; string name; vector<uint32> values} whose
//              cereal binary encoding is exactly N bytes (N >= 64): the
//              comparison with bp_generic at N is "typed vs raw bytes of the
//              encoded size".
//
// Both use PipeOptions::buffer_size = budget, like bp_generic. The receiver
// keeps the StatusOr<T> that recv<T>() returns where a user would (it is
// constructed in place, no copy is added), and hands its bytes (POD) or its
// sequence number (cereal) to the harness.

#ifndef BUFFERED_PIPE_BENCHMARKS_BP_TYPED_TRANSPORTS_H_
#define BUFFERED_PIPE_BENCHMARKS_BP_TYPED_TRANSPORTS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/common.h"
#include "benchmarks/transport.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/pipe.h"

namespace buffered_pipe::bench {

// A plain record of exactly N bytes.
template <std::size_t N>
struct alignas(8) Pod {
  std::array<std::byte, N> bytes;
};
static_assert(sizeof(Pod<8>) == 8 && sizeof(Pod<64>) == 64);

// A cereal struct whose encoding is exactly `encoded_size` bytes:
// 8 (sequence) + 8 + name.size() + 8 + 4 * values.size().
struct Record {
  std::uint64_t sequence = 0;
  std::string name;
  std::vector<std::uint32_t> values;

  template <class Archive>
  void serialize(Archive& archive) {
    archive(sequence, name, values);
  }

  static constexpr std::size_t kFixed = 24;
  static Record OfEncodedSize(std::size_t encoded_size) {
    const std::size_t rest = encoded_size - kFixed;
    Record r;
    r.values.assign(rest / 8, 0x5a5a5a5au);
    r.name.assign(rest - 4 * r.values.size(), 'n');
    return r;
  }
};

// The simplex/duplex generic pipe shared by both typed adapters.
class TypedPipeBase {
 public:
  absl::Status Open(const Geometry& g) {
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
        Pipe({.buffer_size = g.budget, .duplex = g.duplex});
    if (!pipe.ok()) return pipe.status();
    ends_ = std::move(*pipe);
    message_size_ = g.message_size;
    return absl::OkStatus();
  }
  void Close() { ends_ = {}; }

 protected:
  PipeEnd& EndFor(Role role) {
    return role == Role::kSender || role == Role::kPong ? ends_.second : ends_.first;
  }
  std::pair<PipeEnd, PipeEnd> ends_;
  std::size_t message_size_ = 0;
};

template <std::size_t N>
class PodTransport : public TypedPipeBase {
 public:
  static Traits traits() {
    Traits t;
    t.name = "bp_pod";
    t.description = "buffered_pipe typed send<T> / recv<T> of an N-byte trivially copyable struct";
    t.knob = "PipeOptions::buffer_size = budget";
    t.round_trip = false;
    t.idle = false;
    t.min_size = N;
    t.max_size = N;
    return t;
  }

  class End {
   public:
    End(PodTransport& t, Role role, int) : end_(t.EndFor(role)) {}
    ~End() { Reset(); }
    End(const End&) = delete;
    End& operator=(const End&) = delete;

    void send(std::span<const std::byte> message) {
      // The harness's buffer is 64-byte aligned storage of N bytes: a Pod<N>
      // lives there (an implicit-lifetime type).
      const Pod<N>& value = *std::launder(reinterpret_cast<const Pod<N>*>(message.data()));
      const absl::Status status = end_.send(value);
      if (!status.ok()) [[unlikely]] CheckOk(status, "send<Pod>");
    }
    std::span<const std::byte> recv() {
      Reset();
      // What `absl::StatusOr<Pod<N>> value = end.recv<Pod<N>>();` does, in
      // heap memory (N may be 1 MiB).
      received_ = ::new (storage_.get()) absl::StatusOr<Pod<N>>(end_.recv<Pod<N>>());
      if (!received_->ok()) [[unlikely]] CheckOk(received_->status(), "recv<Pod>");
      return std::span<const std::byte>((*received_)->bytes);
    }

   private:
    using Result = absl::StatusOr<Pod<N>>;
    struct Free {
      void operator()(std::byte* p) const { ::operator delete(p, std::align_val_t{64}); }
    };
    void Reset() {
      if (received_ != nullptr) received_->~Result();
      received_ = nullptr;
    }

    PipeEnd& end_;
    std::unique_ptr<std::byte, Free> storage_{
        static_cast<std::byte*>(::operator new(sizeof(Result), std::align_val_t{64}))};
    Result* received_ = nullptr;
  };
};

class CerealTransport : public TypedPipeBase {
 public:
  static Traits traits() {
    Traits t;
    t.name = "bp_cereal";
    t.description =
        "buffered_pipe typed send<T> / recv<T> of a cereal struct {u64, string, vector<u32>} "
        "encoded in exactly the message size";
    t.knob = "PipeOptions::buffer_size = budget";
    t.round_trip = false;
    t.idle = false;
    t.min_size = 64;
    return t;
  }

  class End {
   public:
    End(CerealTransport& t, Role role, int)
        : end_(t.EndFor(role)),
          record_(Record::OfEncodedSize(t.message_size_)),
          view_(t.message_size_, 0) {}

    void send(std::span<const std::byte> message) {
      record_.sequence = TagOf(message);
      const absl::Status status = end_.send(record_);
      if (!status.ok()) [[unlikely]] CheckOk(status, "send<Record>");
    }
    std::span<const std::byte> recv() {
      // A fresh value per message, as recv<T>() returns one (its string and
      // vector are allocated by the decoder).
      absl::StatusOr<Record> received = end_.recv<Record>();
      if (!received.ok()) [[unlikely]] CheckOk(received.status(), "recv<Record>");
      if (received->name.size() != record_.name.size() ||
          received->values.size() != record_.values.size()) [[unlikely]] {
        Die("recv<Record>: decoded a record of the wrong shape");
      }
      // The harness checks the size and the sequence number.
      std::memcpy(view_.data(), &received->sequence, sizeof(received->sequence));
      return view_.bytes();
    }

   private:
    PipeEnd& end_;
    Record record_;
    Payload view_;
  };
};

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_BP_TYPED_TRANSPORTS_H_
