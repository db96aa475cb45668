// ReceivedValue: receives a trivially copyable T straight into the
// StatusOr<T> a typed receive returns, for the typed calls of both pipes
// (codecs/codec.h's recv<T>, static_pipe.h's TypedStaticPipeEnd::recv).
//
//   absl::Status status;
//   absl::StatusOr<T> result(absl::in_place, ReceivedValue<T, End>{end, deadline, status});
//   if (!status.ok()) result = std::move(status);
//   return result;  // the only object returned: built in the caller's storage
//
// StatusOr<T> constructs its T from the converter; the T the conversion
// returns is elided into the StatusOr's storage, so the message is copied
// once, ring to result, and is not value-initialized (zeroed) first. Both
// matter for large records: either the zeroing or a copy out of a stack
// frame cost as much as the receive itself (measured at 64 KiB and 1 MiB).

#ifndef BUFFERED_PIPE_INTERNAL_RECEIVED_VALUE_H_
#define BUFFERED_PIPE_INTERNAL_RECEIVED_VALUE_H_

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>

#include "absl/status/status.h"
#include "buffered_pipe/deadline.h"

namespace buffered_pipe::internal {

// `End` has recv_bytes_into(std::span<std::byte>, const Deadline&), which
// fills the span with a message of exactly its size or fails.
template <typename T, typename End>
  requires std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T>
struct ReceivedValue {
  End& end;
  const Deadline& deadline;
  absl::Status& status;  // the receive's status
  operator T() const {
    T value;  // default-initialized: the receive overwrites every byte
    status = end.recv_bytes_into(std::as_writable_bytes(std::span<T>(std::addressof(value), 1)),
                                 deadline);
    // No indeterminate bytes in a value, even one about to be discarded
    // (memset: T is trivially copyable; T{} would be a temporary of its size).
    if (!status.ok()) std::memset(static_cast<void*>(std::addressof(value)), 0, sizeof(T));
    return value;
  }
};

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_RECEIVED_VALUE_H_
