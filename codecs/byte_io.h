// ByteWriter and ByteReader: where a codec writes the bytes of a value, and
// where it reads them back from. See codec.h for what a codec is.
//
// A ByteWriter writes straight into the pipe's ring (through an
// OutgoingMessage), or appends to a std::string, or only counts (a sizing
// pass). A ByteReader reads from contiguous bytes or straight out of the ring
// (through an IncomingMessage, piece by piece). Codecs do not know which: the
// same Encode / Decode serve the pipe, tests and fuzzers.
//
//   absl::Status Encode(const Point& point, ByteWriter& out) {
//     out.Write(&point.x, sizeof point.x);
//     out.Write(&point.y, sizeof point.y);
//     return absl::OkStatus();
//   }
//   absl::StatusOr<Point> Decode(ByteReader& in) {
//     Point point;
//     if (absl::Status s = in.Read(&point.x, sizeof point.x); !s.ok()) return s;
//     if (absl::Status s = in.Read(&point.y, sizeof point.y); !s.ok()) return s;
//     return point;
//   }
//
// Untrusted input: a reader never reads past the message, and remaining()
// tells a decoder how many bytes can still come, so that it can check a
// length prefix BEFORE it allocates by it:
//
//   if (count > in.remaining() / sizeof(Element)) return absl::DataLossError("...");
//
// Thread-safety: a writer or reader belongs to one thread, and must not
// outlive the message or string it works on.

#ifndef BUFFERED_PIPE_CODECS_BYTE_IO_H_
#define BUFFERED_PIPE_CODECS_BYTE_IO_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/message.h"

namespace buffered_pipe {

class ByteWriter {
 public:
  // Writes into `message`, begun with begin_send(announced_size)
  // (kUnknownMessageSize allowed). Writes go straight into the ring when it
  // has contiguous room. Call Finish() before committing the message.
  ByteWriter(OutgoingMessage& message, std::uint64_t announced_size);
  // Appends to `target`.
  explicit ByteWriter(std::string& target);
  // Keeps nothing, counts the bytes (for a codec's EncodedSize).
  static ByteWriter Counting() { return ByteWriter(); }
  // Writes into the first `limit` bytes of `buffer` (resized to at least
  // `limit`, its capacity reused): the bytes written are
  // buffer.substr(0, bytes_written()). An encoding longer than `limit` is
  // not an error: overflowed() turns true and later writes are ignored.
  static ByteWriter Bounded(std::string& buffer, std::size_t limit) {
    return ByteWriter(buffer, limit);
  }

  ByteWriter(const ByteWriter&) = delete;
  ByteWriter& operator=(const ByteWriter&) = delete;

  // Appends `size` bytes. A write that fails (the pipe broke, the deadline
  // passed, more bytes than announced) records the error in status(); later
  // writes are then ignored. Codecs need not check after each write: the
  // pipe checks status() when Encode returns.
  void Write(const void* data, std::size_t size) {
    if (size == 0) return;
    if (size <= static_cast<std::size_t>(limit_ - cursor_)) {
      std::memcpy(cursor_, data, size);
      cursor_ += size;
      return;
    }
    if (target_ == Target::kCounter) {
      counted_ += size;
      return;
    }
    WriteSlow(data, size);
  }
  void Write(std::span<const std::byte> bytes) { Write(bytes.data(), bytes.size()); }
  void Write(std::string_view bytes) { Write(bytes.data(), bytes.size()); }

  // Bytes written so far (counted, for a counting writer).
  std::uint64_t bytes_written() const {
    return target_ == Target::kCounter ? counted_ : flushed_ + (cursor_ - span_begin_);
  }
  bool ok() const { return status_.ok(); }
  // A Bounded writer met more bytes than its limit.
  bool overflowed() const { return overflowed_; }
  // Ok, or the first error a write met.
  const absl::Status& status() const { return status_; }

  // Hands the bytes written in place to the message and checks that exactly
  // the announced number was written (InvalidArgument otherwise: a codec
  // whose EncodedSize and Encode disagree). Returns status() otherwise.
  absl::Status Finish();

 private:
  enum class Target { kCounter, kString, kMessage, kBounded };
  ByteWriter() = default;
  ByteWriter(std::string& buffer, std::size_t limit);  // Bounded
  void WriteSlow(const void* data, std::size_t size);
  // Advances the message past the bytes written in place.
  void Flush();
  void Fail(absl::Status status);

  Target target_ = Target::kCounter;
  OutgoingMessage* message_ = nullptr;
  std::string* string_ = nullptr;
  std::uint64_t announced_ = kUnknownMessageSize;
  // In-place room in the ring: [span_begin_, limit_), next byte at cursor_.
  std::byte* span_begin_ = nullptr;
  std::byte* cursor_ = nullptr;
  std::byte* limit_ = nullptr;
  std::uint64_t flushed_ = 0;  // bytes handed to the message or string
  std::uint64_t counted_ = 0;  // counting writer
  bool overflowed_ = false;    // bounded writer
  absl::Status status_;
};

class ByteReader {
 public:
  // Reads `bytes` (which must outlive the reader).
  explicit ByteReader(std::span<const std::byte> bytes);
  explicit ByteReader(std::string_view bytes);
  // Reads `message` piece by piece, straight out of the ring. A message sent
  // with kUnknownMessageSize is first gathered into memory owned by the
  // reader (its size is then known exactly).
  explicit ByteReader(IncomingMessage& message);

  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // How many bytes can still be read: exact for bytes and for a message of
  // known size (the ring delivers exactly what its sender announced, or the
  // reader reports DataLoss). Bound every length prefix by it before
  // allocating.
  std::uint64_t remaining() const { return total_ - bytes_read(); }
  std::uint64_t bytes_read() const { return consumed_ + (cursor_ - piece_begin_); }
  // Size of the whole input.
  std::uint64_t size() const { return total_; }

  // Reads exactly `size` bytes into `target`, or fails: DataLoss if the
  // input ends first; for a message, Aborted if its sender gave up or died
  // in the middle (see message_aborted()), or the ring's error.
  absl::Status Read(void* target, std::size_t size) {
    if (size <= static_cast<std::size_t>(end_ - cursor_)) {
      if (size != 0) std::memcpy(target, cursor_, size);
      cursor_ += size;
      return absl::OkStatus();
    }
    return ReadSlow(static_cast<std::byte*>(target), size);
  }
  absl::Status Read(std::span<std::byte> target) { return Read(target.data(), target.size()); }

  // The next contiguous bytes, at most `max_size` of them, without a copy;
  // empty only at the end of the input. Valid until the next call on this
  // reader. Errors as Read.
  absl::StatusOr<std::span<const std::byte>> ReadPiece(std::size_t max_size);

  // Checks that the input has been read to its end: DataLoss if bytes are
  // left over (a value of another type, or a corrupted message).
  absl::Status Finish();

  // True if the message's sender gave up or died mid-message: nothing of it
  // was ever delivered, and receivers take the next message instead.
  bool message_aborted() const { return aborted_; }

 private:
  absl::Status ReadSlow(std::byte* target, std::size_t size);
  // Makes the next piece of the message current; false at its end.
  absl::StatusOr<bool> NextPiece();
  absl::Status Truncated(std::uint64_t wanted) const;

  IncomingMessage* message_ = nullptr;
  std::string gathered_;  // a message of unknown size, read whole
  absl::Status status_;   // a failure met while gathering
  bool aborted_ = false;
  std::uint64_t total_ = 0;     // announced (or exact) size of the input
  std::uint64_t consumed_ = 0;  // bytes of the pieces before the current one
  const std::byte* piece_begin_ = nullptr;
  const std::byte* cursor_ = nullptr;
  const std::byte* end_ = nullptr;
};

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_CODECS_BYTE_IO_H_
