// OutgoingMessage and IncomingMessage: one message written into, or read out
// of, a pipe piece by piece, without an intermediate copy.
//
// They are what send_bytes / recv_bytes are built on, and what codecs use to
// encode straight into the ring and decode straight out of it:
//
//   absl::StatusOr<OutgoingMessage> out = sender.begin_send(header.size() + body.size());
//   if (!out.ok()) return out.status();
//   if (absl::Status s = out->write(header); !s.ok()) return s;
//   if (absl::Status s = out->write(body); !s.ok()) return s;
//   return out->commit();
//
//   absl::StatusOr<IncomingMessage> in = receiver.begin_recv();
//   for (;;) {
//     absl::StatusOr<std::span<const std::byte>> piece = in->next_piece();
//     if (!piece.ok()) return piece.status();
//     if (piece->empty()) break;   // end of the message
//     Consume(*piece);
//   }
//
// A message larger than half the pipe's buffer is streamed through it in
// chunks: writing may then wait for the receiver to make room, and reading
// for the sender to write more. An OutgoingMessage destroyed before commit()
// is withdrawn: no part of it is ever delivered. An IncomingMessage
// destroyed before its end has been read drops the rest of the message
// (it was taken out of the pipe: no other receiver gets it). Both are
// [[nodiscard]]: dropping one unused is almost always a mistake.
//
// Thread-safety: a message object belongs to the thread that began it. It
// must not outlive the end that made it, and must not be carried across
// fork().

#ifndef BUFFERED_PIPE_MESSAGE_H_
#define BUFFERED_PIPE_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/internal/ring.h"

namespace buffered_pipe {

// Announced size of a message whose length is known only at commit().
inline constexpr std::uint64_t kUnknownMessageSize = internal::kUnknownSize;

class [[nodiscard]] OutgoingMessage {
 public:
  OutgoingMessage() = default;

  // Appends bytes. Writing more than the announced size is InvalidArgument
  // (and withdraws the message). May wait for room when streaming.
  absl::Status write(std::span<const std::byte> bytes) {
    return transaction_.Write(bytes.data(), bytes.size());
  }
  absl::Status write(std::string_view bytes) {
    return transaction_.Write(bytes.data(), bytes.size());
  }
  // Contiguous room in the pipe where the next bytes may be written in place
  // (then call advance()); empty when no such room is available right now,
  // in which case use write().
  std::span<std::byte> writable_span() { return transaction_.WritableSpan(); }
  void advance(std::size_t size) { transaction_.Advance(size); }

  // Publishes the message: receivers can take it from now on.
  absl::Status commit() { return transaction_.Commit(); }
  // Withdraws it (also done by the destructor if not committed).
  void abort() { transaction_.Abort(); }

 private:
  friend class PipeEnd;
  explicit OutgoingMessage(internal::SendTransaction transaction)
      : transaction_(std::move(transaction)) {}
  internal::SendTransaction transaction_;
};

class [[nodiscard]] IncomingMessage {
 public:
  IncomingMessage() = default;

  // Size announced by the sender, or kUnknownMessageSize. For a streamed
  // message it is a hint read from shared memory: allocate by it only up to
  // a bound you trust; recv_bytes checks the final size against it.
  std::uint64_t size() const { return message_.transaction.size(); }
  // Whether the message is streamed through the pipe in chunks (it is larger
  // than half the pipe's buffer): reading it may wait for its sender.
  bool is_streamed() const { return message_.transaction.streaming(); }

  // The next contiguous piece; an empty span marks the end of the message.
  // The piece is valid until the next call. For a streamed message this
  // waits for the sender until `deadline` (by default the one given to
  // begin_recv). Errors:
  // - DeadlineExceeded (Unavailable for a non-blocking deadline): the next
  //   chunk has not come in time. Nothing is lost: call next_piece again,
  //   with a new deadline, to go on where it stopped.
  // - Aborted: the sender gave up or died in the middle of a streamed
  //   message (nothing of it is valid); Cancelled: the end was closed;
  //   DataLoss: corrupted shared memory. The rest of the message is gone.
  [[nodiscard]] absl::StatusOr<std::span<const std::byte>> next_piece() {
    return next_piece(Deadline::Infinite(), /*use_begin_deadline=*/true);
  }
  [[nodiscard]] absl::StatusOr<std::span<const std::byte>> next_piece(const Deadline& deadline) {
    return next_piece(deadline, /*use_begin_deadline=*/false);
  }

  // Drops the rest of the message (also done by the destructor): while a
  // streamed message is unfinished, the other receivers of the pipe wait
  // behind it, so drop or finish it soon.
  void abandon() {
    message_.transaction.Abandon();
    message_.bytes.clear();
  }

 private:
  friend class PipeEnd;
  explicit IncomingMessage(internal::PartialReceive message) : message_(std::move(message)) {}
  absl::StatusOr<std::span<const std::byte>> next_piece(const Deadline& deadline,
                                                        bool use_begin_deadline) {
    if (!prefix_returned_) {
      // A message resumed after a receive of this end timed out in its
      // middle (see pipe.h): the bytes taken then come first.
      prefix_returned_ = true;
      if (!message_.bytes.empty()) {
        return std::as_bytes(std::span<const char>(message_.bytes.data(), message_.bytes.size()));
      }
    }
    if (use_begin_deadline) return message_.transaction.NextPiece();
    return message_.transaction.NextPiece(deadline);
  }
  internal::PartialReceive message_;
  bool prefix_returned_ = false;
};

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_MESSAGE_H_
