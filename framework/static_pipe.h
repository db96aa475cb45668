// The static pipe: records of one fixed size between threads and processes,
// moved through a shared-memory ring of slots with no codec and no framing.
//
// The C++ counterpart of Python's buffered_pipe.Static_Pipe(object_size,
// object_count, duplex). Two forms over the same pipe:
//
// Bytes: every record is exactly `object_size` bytes.
//
//   absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> pipe =
//       buffered_pipe::StaticPipe({.object_size = 32, .object_count = 16});
//   if (!pipe.ok()) return pipe.status();
//   auto [receiver, sender] = std::move(*pipe);
//   if (fork() == 0) {                        // ends work across fork()...
//     std::string record = "Hello, world!";
//     record.resize(32, ' ');
//     (void)sender.send_bytes(record);        // any other size: InvalidArgument
//     _exit(0);
//   }
//   std::thread reader([&] {                  // ...and across threads
//     absl::StatusOr<std::string> record = receiver.recv_bytes();
//     if (record.ok()) std::cout << *record << "\n";
//   });
//
// Typed: records are values of a trivially copyable T (object_size is
// sizeof(T)), copied straight into and out of their slot: no codec, no heap.
//
//   struct Tick { std::int64_t time_ns; double price; };
//   auto pipe = buffered_pipe::TypedStaticPipe<Tick>({.object_count = 1024});
//   auto [receiver, sender] = std::move(*pipe);
//   (void)sender.send(Tick{.time_ns = 1, .price = 2.5});
//   absl::StatusOr<Tick> tick = receiver.recv();
//
// In place, for large records: write a record directly in its slot and
// publish it; read it where it lies and release the slot.
//
//   absl::StatusOr<OutgoingSlot<Frame>> out = sender.begin_send();
//   if (!out.ok()) return out.status();
//   FillPixels((*out)->pixels);               // writes into shared memory
//   if (absl::Status s = out->commit(); !s.ok()) return s;
//
//   absl::StatusOr<IncomingSlot<Frame>> in = receiver.begin_recv();
//   if (!in.ok()) return in.status();
//   Show((*in)->pixels);                      // reads shared memory
//   in->release();                            // or let it go out of scope
//
// Guarantees: those of the generic pipe (pipe.h), for records.
// - Any number of threads and processes may send on a sending end and
//   receive on a receiving end at once. Every record is delivered exactly
//   once and whole, to one receiver. The records of one sender (one thread)
//   are taken out of the pipe in the order they were sent.
// - At most `object_count` records are in the pipe at once (as few as 1):
//   sending blocks while all slots are full, receiving while all are empty.
//   Blocking calls spin briefly, then sleep on a futex. `_for` / `_until`
//   variants take a timeout or a Deadline on the monotonic clock; `try_`
//   variants never wait (they return Unavailable instead).
// - End of stream, broken pipe, crashes, named pipes and fork(): exactly as
//   for the generic pipe. A record that a killed sender was writing in place
//   is never delivered.
// - Shared memory is not trusted: a record whose size is not the pipe's
//   record size (possible only if another process corrupted the memory) is
//   DataLoss. The typed form copies the record's bytes into a T: if the peer
//   is not trusted, use a T for which every bit pattern is a valid value.
// - Slots are aligned to `record_alignment` (8 by default; alignof(T) or 8,
//   whichever is larger, for the typed form), so a record may be used in place.
//
// Errors are absl::Status values, see status.h: InvalidArgument for a bad
// option, a record of the wrong size, an empty end or the wrong direction;
// OutOfRange at end of stream; FailedPrecondition for a broken pipe;
// Cancelled after close(); Unavailable from try_ calls; DeadlineExceeded;
// DataLoss for corrupted shared memory. A call that fails has sent or taken
// nothing, except that DataLoss drops the corrupted frame it found.
//
// Thread-safety: an end may be used by many threads at once, including
// close() while other threads are blocked in it (they return Cancelled).
// Moving or destroying an end must not race with other calls on it. An
// in-place record (OutgoingRecord, IncomingRecord and their typed forms)
// belongs to the thread that began it, must not outlive its end and must not
// be carried across fork().

#ifndef BUFFERED_PIPE_STATIC_PIPE_H_
#define BUFFERED_PIPE_STATIC_PIPE_H_

// Bazel 4.2.3 cannot pass a language standard on to the targets that depend
// on a library, so a consumer sets it itself; say which flag, not why
// <span> or concepts fail.
#if __cplusplus < 202002L
#error "buffered_pipe needs C++20: compile with -std=c++20 (Bazel: build --cxxopt=-std=c++20 in .bazelrc)"
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/internal/endpoint.h"
#include "buffered_pipe/internal/received_value.h"
#include "buffered_pipe/internal/ring.h"
#include "buffered_pipe/message_type.h"
#include "buffered_pipe/pipe.h"

namespace buffered_pipe {

struct StaticPipeOptions {
  // Bytes per record, 1 to 2^30 - 1.
  std::uint64_t object_size = 0;
  // Slots: the most records the pipe holds at once, 1 to 2^30. The ring
  // (object_count slots of object_size bytes rounded up to record_alignment)
  // may hold at most 2^36 bytes.
  std::uint64_t object_count = 16;
  // false: (receiving end, sending end); true: two ends that both send and
  // receive, each with its own ring of object_count slots.
  bool duplex = false;
  // As in PipeOptions: 1 to 255 processes with ends at once.
  std::uint32_t max_processes = kMaxProcesses;
  // Every slot's address is a multiple of this: a power of two up to 4096
  // (values below 8 are raised to 8).
  std::uint64_t record_alignment = 8;
  // What the records are (RecordTypeFingerprint<T>(), message_type.h),
  // recorded in the pipe and checked by OpenNamedTypedStaticPipe<T>; 0 for
  // plain bytes. The typed forms set it.
  std::uint64_t record_type = 0;
};

// An outgoing record written in place: a slot of the pipe, claimed for the
// caller until commit() publishes it or abort() (or the destructor)
// withdraws it. A withdrawn record is never delivered; its slot is free
// again for the next send. [[nodiscard]]: dropping one at once withdraws it.
class [[nodiscard]] OutgoingRecord {
 public:
  OutgoingRecord() = default;
  OutgoingRecord(OutgoingRecord&& other) noexcept
      : transaction_(std::move(other.transaction_)), slot_(std::exchange(other.slot_, {})) {}
  OutgoingRecord& operator=(OutgoingRecord&& other) noexcept {
    transaction_ = std::move(other.transaction_);
    slot_ = std::exchange(other.slot_, {});
    return *this;
  }
  ~OutgoingRecord() = default;  // aborts an uncommitted record

  // The slot: object_size bytes of shared memory, aligned to the pipe's
  // record_alignment. It holds whatever an earlier record left there: write
  // every byte the receiver will read. Empty once committed or aborted.
  std::span<std::byte> bytes() const { return slot_; }

  // Publishes the record: receivers can take it from now on.
  absl::Status commit();
  // Withdraws the record: nothing of it is delivered. Idempotent.
  void abort();

  bool active() const { return transaction_.active(); }

 private:
  friend class StaticPipeEnd;
  OutgoingRecord(internal::SendTransaction transaction, std::span<std::byte> slot)
      : transaction_(std::move(transaction)), slot_(slot) {}

  internal::SendTransaction transaction_;
  std::span<std::byte> slot_;
};

// An incoming record read in place: taken out of the pipe (no other receiver
// will see it); its slot is reused only after release() or the destructor.
// [[nodiscard]]: dropping one unread loses the record.
// Hold it briefly: once the ring wraps around, senders wait for this slot.
class [[nodiscard]] IncomingRecord {
 public:
  IncomingRecord() = default;
  IncomingRecord(IncomingRecord&& other) noexcept
      : transaction_(std::move(other.transaction_)), slot_(std::exchange(other.slot_, {})) {}
  IncomingRecord& operator=(IncomingRecord&& other) noexcept {
    transaction_ = std::move(other.transaction_);
    slot_ = std::exchange(other.slot_, {});
    return *this;
  }
  ~IncomingRecord() = default;  // releases

  // The record: object_size bytes of shared memory, aligned to the pipe's
  // record_alignment. Empty once released.
  std::span<const std::byte> bytes() const { return slot_; }

  // Frees the slot for senders. Idempotent.
  void release() {
    transaction_.Abandon();
    slot_ = {};
  }

  bool active() const { return transaction_.active(); }

 private:
  friend class StaticPipeEnd;
  IncomingRecord(internal::ReceiveTransaction transaction, std::span<const std::byte> slot)
      : transaction_(std::move(transaction)), slot_(slot) {}

  internal::ReceiveTransaction transaction_;
  std::span<const std::byte> slot_;
};

// One end of a static pipe, bytes form.
class StaticPipeEnd {
 public:
  // An empty end; every call returns InvalidArgument.
  StaticPipeEnd() = default;
  StaticPipeEnd(StaticPipeEnd&&) noexcept = default;
  StaticPipeEnd& operator=(StaticPipeEnd&&) noexcept = default;
  StaticPipeEnd(const StaticPipeEnd&) = delete;
  StaticPipeEnd& operator=(const StaticPipeEnd&) = delete;
  ~StaticPipeEnd() = default;  // closes

  bool is_open() const { return endpoint_.is_open(); }
  bool can_send() const { return endpoint_.can_send(); }
  bool can_recv() const { return endpoint_.can_receive(); }
  // Geometry of the pipe (0 for an empty end). Both rings of a duplex pipe
  // have the same geometry.
  std::uint64_t object_size() const { return object_size_; }
  std::uint64_t object_count() const { return object_count_; }
  // The record type the pipe was made for (RecordTypeFingerprint, 0: bytes).
  std::uint64_t record_type() const { return record_type_; }
  // The largest power of two (up to 4096) that every slot address is a
  // multiple of: at least the record_alignment the pipe was made with.
  std::uint64_t slot_alignment() const { return slot_alignment_; }

  // --- Sending: `record` must be exactly object_size() bytes. Blocks while
  // every slot is full.
  absl::Status send_bytes(std::string_view record) {
    return send_bytes_until(record, Deadline::Infinite());
  }
  absl::Status send_bytes_for(std::string_view record, Deadline::Clock::duration timeout) {
    return send_bytes_until(record, Deadline::After(timeout));
  }
  absl::Status send_bytes_until(std::string_view record, const Deadline& deadline);
  absl::Status try_send_bytes(std::string_view record) {
    return send_bytes_until(record, Deadline::NonBlocking());
  }

  // --- Receiving: blocks while the pipe is empty.
  absl::StatusOr<std::string> recv_bytes() { return recv_bytes_until(Deadline::Infinite()); }
  absl::StatusOr<std::string> recv_bytes_for(Deadline::Clock::duration timeout) {
    return recv_bytes_until(Deadline::After(timeout));
  }
  absl::StatusOr<std::string> recv_bytes_until(const Deadline& deadline);
  absl::StatusOr<std::string> try_recv_bytes() { return recv_bytes_until(Deadline::NonBlocking()); }
  // Into caller memory of exactly object_size() bytes (no allocation). The
  // rule for fixed-size buffers, the same as PipeEnd::recv_bytes_into(span):
  // a buffer that cannot fit the pipe's records (any size but object_size())
  // is InvalidArgument before anything is taken; a record of another size
  // (only a corrupted segment has one) is DataLoss and consumed.
  absl::Status recv_bytes_into(std::span<std::byte> record,
                               const Deadline& deadline = Deadline::Infinite());

  // --- In place. begin_send waits for a free slot, begin_recv for a record
  // (the deadline bounds that wait).
  absl::StatusOr<OutgoingRecord> begin_send(const Deadline& deadline = Deadline::Infinite());
  absl::StatusOr<IncomingRecord> begin_recv(const Deadline& deadline = Deadline::Infinite());

  // Closes this end (idempotent; also done by the destructor). Callers
  // blocked on it return Cancelled; further calls return Cancelled.
  // Meeting a peer of a named pipe whose sides start in any order: as
  // PipeEnd::peers / wait_for_peer (pipe.h).
  PeerCount peers() const { return endpoint_.Peers(); }
  absl::Status wait_for_peer(const Deadline& deadline = Deadline::Infinite()) {
    return endpoint_.WaitForPeer(deadline);
  }
  absl::Status wait_for_peer(Deadline::Clock::duration timeout) {
    return wait_for_peer(Deadline::After(timeout));
  }

  absl::Status close() { return endpoint_.Close(); }

  // The seed's register(); see PipeEnd::register_process (pipe.h). Not
  // needed after fork().
  absl::Status register_process() { return endpoint_.RegisterProcess(); }

 private:
  friend absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> StaticPipe(
      const StaticPipeOptions& options);
  friend absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> CreateNamedStaticPipe(
      const std::string& name, const StaticPipeOptions& options, const NamedPipeOptions& named);
  friend absl::StatusOr<StaticPipeEnd> OpenNamedStaticPipe(const std::string& name, Side side,
                                                           const OpenOptions& options);
  friend struct internal::DescriptorAccess;
  explicit StaticPipeEnd(internal::Endpoint endpoint);
  static absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> PairOf(
      absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment);
  // Side `side` of an opened pipe (by name or by descriptor).
  static absl::StatusOr<StaticPipeEnd> OpenSide(
      absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment, Side side);

  internal::Endpoint endpoint_;
  // Copied from the segment at open; immutable.
  std::uint64_t object_size_ = 0;
  std::uint64_t object_count_ = 0;
  std::uint64_t record_type_ = 0;
  std::uint64_t slot_alignment_ = 0;
};

// Makes an anonymous static pipe, shared with child processes by fork().
// Returns (receiving end, sending end), or two duplex ends.
// Errors: InvalidArgument (options), ResourceExhausted (memory).
absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> StaticPipe(
    const StaticPipeOptions& options);

// Makes a static pipe that unrelated processes can open by `name` (1 to 200
// characters of [A-Za-z0-9._-]; see CreateNamedPipe in pipe.h for `named`).
// Errors: InvalidArgument, AlreadyExists, PermissionDenied, ResourceExhausted.
absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> CreateNamedStaticPipe(
    const std::string& name, const StaticPipeOptions& options,
    const NamedPipeOptions& named = {});

// Opens one end of a named static pipe. Errors: NotFound, PermissionDenied,
// InvalidArgument (not a static pipe, e.g. a generic one; other layout
// version), DataLoss (inconsistent segment), ResourceExhausted (its
// max_processes processes attached). Remove a name with RemoveNamedPipe (pipe.h).
absl::StatusOr<StaticPipeEnd> OpenNamedStaticPipe(const std::string& name, Side side,
                                                  const OpenOptions& options = {});

// ---------------------------------------------------------------------------
// Typed form
// ---------------------------------------------------------------------------

namespace static_pipe_internal {

// Always true; fails to compile, saying why, for a T that cannot be a record.
template <typename T>
constexpr bool CheckRecordType() {
  static_assert(std::is_trivially_copyable_v<T>,
                "a static pipe record type must be trivially copyable: records are copied "
                "byte for byte into shared memory and read back in another process, which is "
                "only meaningful for types with no pointers to own, no virtual functions and "
                "no user-provided copy, move or destructor (send a codec-encoded message over "
                "the generic pipe instead)");
  static_assert(!std::is_array_v<T>, "use std::array<E, N> as a record type, not E[N]");
  static_assert(!std::is_const_v<T> && !std::is_volatile_v<T>,
                "a record type must not be const or volatile");
  static_assert(alignof(T) <= 4096, "a record type may be aligned to at most 4096 bytes");
  return true;
}

template <typename T>
constexpr std::uint64_t RecordAlignment() {
  return std::max<std::uint64_t>(8, alignof(T));
}

}  // namespace static_pipe_internal

// A typed record written in place. begin_send() default-initializes a T in
// the slot (fields with default member initializers get them; others hold
// leftover bytes until you assign them).
template <typename T>
class [[nodiscard]] OutgoingSlot {
  static_assert(static_pipe_internal::CheckRecordType<T>());

 public:
  OutgoingSlot() = default;
  OutgoingSlot(OutgoingSlot&& other) noexcept
      : record_(std::move(other.record_)), value_(std::exchange(other.value_, nullptr)) {}
  OutgoingSlot& operator=(OutgoingSlot&& other) noexcept {
    record_ = std::move(other.record_);
    value_ = std::exchange(other.value_, nullptr);
    return *this;
  }

  T* get() const { return value_; }
  T& operator*() const { return *value_; }
  T* operator->() const { return value_; }

  // Publishes the record.
  absl::Status commit() {
    value_ = nullptr;
    return record_.commit();
  }
  // Withdraws the record, as OutgoingRecord::abort (also done by the
  // destructor). Idempotent.
  void abort() {
    value_ = nullptr;
    record_.abort();
  }
  bool active() const { return record_.active(); }

 private:
  template <typename>
  friend class TypedStaticPipeEnd;
  explicit OutgoingSlot(OutgoingRecord record)
      : record_(std::move(record)), value_(::new (record_.bytes().data()) T) {}

  OutgoingRecord record_;
  T* value_ = nullptr;
};

// A typed record read in place; release() (or the destructor) frees its slot.
template <typename T>
class [[nodiscard]] IncomingSlot {
  static_assert(static_pipe_internal::CheckRecordType<T>());

 public:
  IncomingSlot() = default;
  IncomingSlot(IncomingSlot&& other) noexcept
      : record_(std::move(other.record_)), value_(std::exchange(other.value_, nullptr)) {}
  IncomingSlot& operator=(IncomingSlot&& other) noexcept {
    record_ = std::move(other.record_);
    value_ = std::exchange(other.value_, nullptr);
    return *this;
  }

  const T* get() const { return value_; }
  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_; }

  void release() {
    value_ = nullptr;
    record_.release();
  }
  bool active() const { return record_.active(); }

 private:
  template <typename>
  friend class TypedStaticPipeEnd;
  explicit IncomingSlot(IncomingRecord record)
      : record_(std::move(record)),
        value_(std::launder(reinterpret_cast<const T*>(record_.bytes().data()))) {}

  IncomingRecord record_;
  const T* value_ = nullptr;
};

// One end of a static pipe of T records.
template <typename T>
class TypedStaticPipeEnd {
  static_assert(static_pipe_internal::CheckRecordType<T>());

 public:
  using value_type = T;

  // An empty end; every call returns InvalidArgument.
  TypedStaticPipeEnd() = default;

  // Wraps a bytes end (for example one from OpenNamedStaticPipe) after
  // checking that its records are sizeof(T) bytes, its slots aligned for T,
  // and, if the pipe was made by a typed form, that it was made for T (its
  // RecordTypeFingerprint). InvalidArgument otherwise (the end is then
  // closed). A pipe of plain bytes of the right size is accepted.
  static absl::StatusOr<TypedStaticPipeEnd> FromBytesEnd(StaticPipeEnd end) {
    if (end.record_type() != 0 && end.record_type() != RecordTypeFingerprint<T>()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the pipe was made for records of another type, not ", MessageTypeName<T>::Get(),
          " (record type ", absl::Hex(end.record_type(), absl::kZeroPad16), ", expected ",
          absl::Hex(RecordTypeFingerprint<T>(), absl::kZeroPad16), ")"));
    }
    if (end.object_size() != sizeof(T)) {
      return absl::InvalidArgumentError(absl::StrCat("the pipe's records are ", end.object_size(),
                                                     " bytes, not sizeof(T) = ", sizeof(T)));
    }
    if (end.slot_alignment() % alignof(T) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("the pipe's slots are aligned to ",
                                                     end.slot_alignment(),
                                                     " bytes, not alignof(T) = ", alignof(T)));
    }
    return TypedStaticPipeEnd(std::move(end));
  }

  bool is_open() const { return end_.is_open(); }
  bool can_send() const { return end_.can_send(); }
  bool can_recv() const { return end_.can_recv(); }
  std::uint64_t object_count() const { return end_.object_count(); }

  // --- Sending: copies `value` into a free slot; blocks while none is free.
  absl::Status send(const T& value) { return send_until(value, Deadline::Infinite()); }
  absl::Status send_for(const T& value, Deadline::Clock::duration timeout) {
    return send_until(value, Deadline::After(timeout));
  }
  absl::Status send_until(const T& value, const Deadline& deadline) {
    return end_.send_bytes_until(
        std::string_view(reinterpret_cast<const char*>(&value), sizeof(T)), deadline);
  }
  absl::Status try_send(const T& value) { return send_until(value, Deadline::NonBlocking()); }

  // --- Receiving: copies the next record out of its slot; blocks while the
  // pipe is empty.
  absl::StatusOr<T> recv() { return recv_until(Deadline::Infinite()); }
  absl::StatusOr<T> recv_for(Deadline::Clock::duration timeout) {
    return recv_until(Deadline::After(timeout));
  }
  absl::StatusOr<T> recv_until(const Deadline& deadline) {
    if constexpr (std::is_default_constructible_v<T>) {
      // The record goes straight from its slot into the result (one copy;
      // internal/received_value.h).
      absl::Status status;
      absl::StatusOr<T> result(absl::in_place,
                               internal::ReceivedValue<T, StaticPipeEnd>{end_, deadline, status});
      if (!status.ok()) result = std::move(status);
      return result;
    } else {
      std::array<std::byte, sizeof(T)> bytes;
      if (absl::Status status = end_.recv_bytes_into(bytes, deadline); !status.ok()) return status;
      return std::bit_cast<T>(bytes);
    }
  }
  absl::StatusOr<T> try_recv() { return recv_until(Deadline::NonBlocking()); }

  // --- In place (see OutgoingSlot and IncomingSlot).
  absl::StatusOr<OutgoingSlot<T>> begin_send(const Deadline& deadline = Deadline::Infinite()) {
    static_assert(std::is_default_constructible_v<T>,
                  "begin_send() default-initializes a T in its slot: T needs a default "
                  "constructor (or use send(const T&))");
    absl::StatusOr<OutgoingRecord> record = end_.begin_send(deadline);
    if (!record.ok()) return record.status();
    return OutgoingSlot<T>(std::move(*record));
  }
  absl::StatusOr<IncomingSlot<T>> begin_recv(const Deadline& deadline = Deadline::Infinite()) {
    absl::StatusOr<IncomingRecord> record = end_.begin_recv(deadline);
    if (!record.ok()) return record.status();
    return IncomingSlot<T>(std::move(*record));
  }

  PeerCount peers() const { return end_.peers(); }
  absl::Status wait_for_peer(const Deadline& deadline = Deadline::Infinite()) {
    return end_.wait_for_peer(deadline);
  }
  absl::Status close() { return end_.close(); }
  absl::Status register_process() { return end_.register_process(); }

  // The bytes form of this end.
  StaticPipeEnd& bytes_end() { return end_; }

 private:
  explicit TypedStaticPipeEnd(StaticPipeEnd end) : end_(std::move(end)) {}

  StaticPipeEnd end_;
};

struct TypedStaticPipeOptions {
  // Slots: the most records the pipe holds at once, 1 to 2^30.
  std::uint64_t object_count = 16;
  // As in StaticPipeOptions.
  bool duplex = false;
  std::uint32_t max_processes = kMaxProcesses;
};

// Makes an anonymous static pipe of T records (object_size = sizeof(T), slots
// aligned for T). Returns (receiving end, sending end), or two duplex ends.
// Errors: InvalidArgument (options), ResourceExhausted (memory).
template <typename T>
absl::StatusOr<std::pair<TypedStaticPipeEnd<T>, TypedStaticPipeEnd<T>>> TypedStaticPipe(
    const TypedStaticPipeOptions& options = {});

// Named forms; errors as for CreateNamedStaticPipe / OpenNamedStaticPipe, and
// InvalidArgument when opening a pipe whose records are not sizeof(T) bytes,
// whose slots are not aligned for T, or that was made for another record
// type (the fingerprint of MessageTypeName<T>, size and alignment, as a named
// typed generic pipe records its message type).
template <typename T>
absl::StatusOr<std::pair<TypedStaticPipeEnd<T>, TypedStaticPipeEnd<T>>> CreateNamedTypedStaticPipe(
    const std::string& name, const TypedStaticPipeOptions& options = {},
    const NamedPipeOptions& named = {});
template <typename T>
absl::StatusOr<TypedStaticPipeEnd<T>> OpenNamedTypedStaticPipe(const std::string& name,
                                                               Side side);

// --- Implementation of the typed factories -----------------------------------

namespace static_pipe_internal {

template <typename T>
StaticPipeOptions BytesOptions(const TypedStaticPipeOptions& options) {
  static_assert(CheckRecordType<T>());
  return StaticPipeOptions{.object_size = sizeof(T),
                           .object_count = options.object_count,
                           .duplex = options.duplex,
                           .max_processes = options.max_processes,
                           .record_alignment = RecordAlignment<T>(),
                           .record_type = RecordTypeFingerprint<T>()};
}

template <typename T>
absl::StatusOr<std::pair<TypedStaticPipeEnd<T>, TypedStaticPipeEnd<T>>> TypedPair(
    absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> ends) {
  if (!ends.ok()) return ends.status();
  absl::StatusOr<TypedStaticPipeEnd<T>> first =
      TypedStaticPipeEnd<T>::FromBytesEnd(std::move(ends->first));
  if (!first.ok()) return first.status();
  absl::StatusOr<TypedStaticPipeEnd<T>> second =
      TypedStaticPipeEnd<T>::FromBytesEnd(std::move(ends->second));
  if (!second.ok()) return second.status();
  return std::make_pair(std::move(*first), std::move(*second));
}

}  // namespace static_pipe_internal

template <typename T>
absl::StatusOr<std::pair<TypedStaticPipeEnd<T>, TypedStaticPipeEnd<T>>> TypedStaticPipe(
    const TypedStaticPipeOptions& options) {
  return static_pipe_internal::TypedPair<T>(
      StaticPipe(static_pipe_internal::BytesOptions<T>(options)));
}

template <typename T>
absl::StatusOr<std::pair<TypedStaticPipeEnd<T>, TypedStaticPipeEnd<T>>> CreateNamedTypedStaticPipe(
    const std::string& name, const TypedStaticPipeOptions& options,
    const NamedPipeOptions& named) {
  return static_pipe_internal::TypedPair<T>(
      CreateNamedStaticPipe(name, static_pipe_internal::BytesOptions<T>(options), named));
}

template <typename T>
absl::StatusOr<TypedStaticPipeEnd<T>> OpenNamedTypedStaticPipe(const std::string& name,
                                                               Side side) {
  static_assert(static_pipe_internal::CheckRecordType<T>());
  absl::StatusOr<StaticPipeEnd> end = OpenNamedStaticPipe(name, side);
  if (!end.ok()) return end.status();
  return TypedStaticPipeEnd<T>::FromBytesEnd(std::move(*end));
}

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_STATIC_PIPE_H_
