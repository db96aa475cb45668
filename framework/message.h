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
// destroyed before its end has been read drops the rest of the message.
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
#include "buffered_pipe/internal/ring.h"

namespace buffered_pipe {

// Announced size of a message whose length is known only at commit().
inline constexpr std::uint64_t kUnknownMessageSize = internal::kUnknownSize;

class OutgoingMessage {
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

class IncomingMessage {
 public:
  IncomingMessage() = default;

  // Size announced by the sender, or kUnknownMessageSize. For a streamed
  // message it is a hint read from shared memory: allocate by it only up to
  // a bound you trust; recv_bytes checks the final size against it.
  std::uint64_t size() const { return transaction_.size(); }

  // The next contiguous piece; an empty span marks the end of the message.
  // The piece is valid until the next call. Aborted: the sender gave up or
  // died in the middle of a streamed message (nothing of it is valid).
  absl::StatusOr<std::span<const std::byte>> next_piece() { return transaction_.NextPiece(); }

  // Drops the rest of the message (also done by the destructor).
  void abandon() { transaction_.Abandon(); }

 private:
  friend class PipeEnd;
  explicit IncomingMessage(internal::ReceiveTransaction transaction)
      : transaction_(std::move(transaction)) {}
  internal::ReceiveTransaction transaction_;
};

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_MESSAGE_H_
