// MessageEnd: the calls every kind of message end has, whatever carries it.
//
// A PipeEnd (pipe.h, shared memory) and a NetworkEnd (network/network_end.h,
// ZeroMQ) both satisfy it, so that code written against the concept runs on
// either:
//
//   template <buffered_pipe::MessageEnd End>
//   absl::Status Drain(End& receiver, std::vector<std::string>& out) {
//     for (;;) {
//       absl::StatusOr<std::string> message = receiver.recv_bytes();
//       if (buffered_pipe::IsEndOfStream(message.status())) return absl::OkStatus();
//       if (!message.ok()) return message.status();
//       out.push_back(*std::move(message));
//     }
//   }
//
// The calls mean the same on every end: the same blocking (`_for`, `_until`,
// `try_` forms; see deadline.h), the same status codes (status.h), and
// typed send<T> / recv<T> with the same codecs (codecs/codec.h; include it,
// or the end's own header, to call them). What differs between kinds of end
// (how they are made, what a crash costs) is stated in each end's header.

#ifndef BUFFERED_PIPE_MESSAGE_END_H_
#define BUFFERED_PIPE_MESSAGE_END_H_

#include <concepts>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/deadline.h"

namespace buffered_pipe {

template <typename End>
concept MessageEnd = requires(End& end, const End& const_end, std::string_view bytes,
                              const Deadline& deadline, Deadline::Clock::duration timeout,
                              const std::string& value, std::string& into) {
  { const_end.is_open() } -> std::same_as<bool>;
  { const_end.can_send() } -> std::same_as<bool>;
  { const_end.can_recv() } -> std::same_as<bool>;
  { end.send_bytes(bytes) } -> std::same_as<absl::Status>;
  { end.send_bytes_for(bytes, timeout) } -> std::same_as<absl::Status>;
  { end.send_bytes_until(bytes, deadline) } -> std::same_as<absl::Status>;
  { end.try_send_bytes(bytes) } -> std::same_as<absl::Status>;
  { end.recv_bytes() } -> std::same_as<absl::StatusOr<std::string>>;
  { end.recv_bytes_for(timeout) } -> std::same_as<absl::StatusOr<std::string>>;
  { end.recv_bytes_until(deadline) } -> std::same_as<absl::StatusOr<std::string>>;
  { end.try_recv_bytes() } -> std::same_as<absl::StatusOr<std::string>>;
  // Into the caller's string, reusing its capacity.
  { end.recv_bytes_into(into) } -> std::same_as<absl::Status>;
  { end.recv_bytes_into(into, deadline) } -> std::same_as<absl::Status>;
  // Typed calls (declared for every T; usable where the codecs are included).
  { end.template send<std::string>(value) } -> std::same_as<absl::Status>;
  { end.template recv<std::string>() } -> std::same_as<absl::StatusOr<std::string>>;
  { end.close() } -> std::same_as<absl::Status>;
};

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_MESSAGE_END_H_
