// Typed pipes: pipes whose ends carry values of one type, with one codec.
//
//   absl::StatusOr<std::pair<TypedPipeEnd<Order>, TypedPipeEnd<Order>>> pipe =
//       buffered_pipe::TypedPipe<Order>({.buffer_size = 1 << 20});
//   if (!pipe.ok()) return pipe.status();
//   auto [receiver, sender] = std::move(*pipe);
//   sender.send(order);                              // only an Order compiles
//   absl::StatusOr<Order> received = receiver.recv();
//
// A typed end is a generic end (pipe.h) that only sends and receives its
// types, with its codecs: same waiting, timeouts (`_for`, `_until`), `try_`
// forms, end of stream, crash handling and thread-safety, and the decoding
// errors of codec.h (DataLoss for a message that is not a valid value).
//
// Request / response: TypedDuplexPipe<Request, Response> makes a duplex pipe
// whose first end sends Request and receives Response, and whose second end
// does the opposite (RequesterEnd / ResponderEnd below).
//
// Codecs: DefaultCodec<T> unless named, e.g. TypedPipe<Order, OrderCodec>.
//
// ---------------------------------------------------------------------------
// Named typed pipes and what the type check detects
// ---------------------------------------------------------------------------
//
// CreateTypedNamedPipe<T, Codec>(name) records, for each ring of the pipe,
// the message type's fingerprint (MessageTypeFingerprint<T>, codec.h) and the
// codec's id in the shared segment. OpenTypedNamedPipe<T, Codec>(name, side)
// compares them with its own T and Codec and returns InvalidArgument (saying
// whether the type, the codec, or both differ), before attaching, if they
// differ. So are refused:
//   - a type of another name (as the compiler spells it, or as your
//     MessageTypeName<T> specialisation says), size or alignment;
//   - the same type with another codec;
//   - an untyped pipe (made by CreateNamedPipe) opened as a typed one.
// And a generic end opened on a typed pipe (OpenNamedPipe) refuses
// send<U> / recv<U> of another U or codec, at each call (InvalidArgument).
//
// NOT detected, because a fingerprint of a name and a size is not a
// structural check:
//   - a type whose definition changed but kept its name and size (fields
//     reordered, an int changed to a float, a serialize function that writes
//     other fields): bump a version in MessageTypeName<T> when that happens;
//   - two different types given the same MessageTypeName (your promise), or a
//     64-bit hash collision (about 2^-64 per pair of types);
//   - send_bytes / begin_send on a generic end, which bypass every codec (the
//     escape hatch; what they send may then fail to decode, as DataLoss).
// Decoders still check what they can (sizes, lengths, trailing bytes), so
// many such mismatches are reported as DataLoss when a value arrives; a
// trivially copyable type of the same size decodes from any bytes.
//
// Anonymous typed pipes (TypedPipe) are checked at compile time: both ends
// come from one call, with one T and one codec.
//
// Thread-safety: as PipeEnd.

#ifndef BUFFERED_PIPE_CODECS_TYPED_PIPE_H_
#define BUFFERED_PIPE_CODECS_TYPED_PIPE_H_

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/pipe.h"

namespace buffered_pipe {

namespace codecs_internal {
struct TypedEndAccess;
}  // namespace codecs_internal

// An end that sends Sent values (with SentCodec) and receives Received values
// (with ReceivedCodec). Usually named through TypedPipeEnd, RequesterEnd or
// ResponderEnd below.
template <typename Sent, typename Received = Sent, typename SentCodec = DefaultCodecFor<Sent>,
          typename ReceivedCodec = DefaultCodecFor<Received>>
class TypedEnd {
  // Checks the codecs at compile time, one error per mistake.
  static constexpr bool CodecsUsable() {
    if constexpr (std::is_same_v<Sent, Received> && std::is_same_v<SentCodec, ReceivedCodec>) {
      return codecs_internal::CheckCodec<Sent, SentCodec, true, true>();
    } else {
      return codecs_internal::CheckCodec<Sent, SentCodec, true, false>() &&
             codecs_internal::CheckCodec<Received, ReceivedCodec, false, true>();
    }
  }
  static constexpr bool kUsable = CodecsUsable();

 public:
  using SentType = Sent;
  using ReceivedType = Received;
  using SentCodecType = SentCodec;
  using ReceivedCodecType = ReceivedCodec;

  // An empty end; every call returns InvalidArgument.
  TypedEnd() = default;
  TypedEnd(TypedEnd&&) noexcept = default;
  TypedEnd& operator=(TypedEnd&&) noexcept = default;
  TypedEnd(const TypedEnd&) = delete;
  TypedEnd& operator=(const TypedEnd&) = delete;
  ~TypedEnd() = default;  // closes

  bool is_open() const { return end_.is_open(); }
  bool can_send() const { return end_.can_send(); }
  bool can_recv() const { return end_.can_recv(); }
  std::uint64_t buffer_size() const { return end_.buffer_size(); }

  // --- Sending: blocks while the pipe is full (see PipeEnd::send_bytes).
  absl::Status send(const Sent& value) { return send_until(value, Deadline::Infinite()); }
  absl::Status send_for(const Sent& value, Deadline::Clock::duration timeout) {
    return send_until(value, Deadline::After(timeout));
  }
  absl::Status send_until(const Sent& value, const Deadline& deadline) {
    if constexpr (kUsable) {
      return codecs_internal::SendValue<Sent, SentCodec>(end_, value, deadline);
    } else {
      return absl::InternalError("no codec");
    }
  }
  absl::Status try_send(const Sent& value) { return send_until(value, Deadline::NonBlocking()); }

  // --- Receiving: blocks while the pipe is empty (see PipeEnd::recv_bytes).
  absl::StatusOr<Received> recv() { return recv_until(Deadline::Infinite()); }
  absl::StatusOr<Received> recv_for(Deadline::Clock::duration timeout) {
    return recv_until(Deadline::After(timeout));
  }
  absl::StatusOr<Received> recv_until(const Deadline& deadline) {
    if constexpr (kUsable) {
      return codecs_internal::ReceiveValue<Received, ReceivedCodec>(end_, deadline);
    } else {
      return absl::InternalError("no codec");
    }
  }
  absl::StatusOr<Received> try_recv() { return recv_until(Deadline::NonBlocking()); }

  // As PipeEnd::close / register_process.
  // Meeting a peer, as PipeEnd::peers / wait_for_peer (pipe.h).
  PeerCount peers() const { return end_.peers(); }
  absl::Status wait_for_peer(const Deadline& deadline = Deadline::Infinite()) {
    return end_.wait_for_peer(deadline);
  }
  absl::Status close() { return end_.close(); }
  absl::Status register_process() { return end_.register_process(); }

  // What this kind of end records in, and expects of, a named pipe.
  static PipeEnd::MessageType sent_message_type() { return MessageTypeOf<Sent, SentCodec>(); }
  static PipeEnd::MessageType received_message_type() {
    return MessageTypeOf<Received, ReceivedCodec>();
  }
  // "Order (cereal binary)", or "Request (cereal binary) -> Response (cereal binary)".
  static std::string Description() {
    if constexpr (std::is_same_v<Sent, Received> && std::is_same_v<SentCodec, ReceivedCodec>) {
      return codecs_internal::Describe<Sent, SentCodec>();
    } else {
      return absl::StrCat("sending ", codecs_internal::Describe<Sent, SentCodec>(),
                          ", receiving ", codecs_internal::Describe<Received, ReceivedCodec>());
    }
  }

 private:
  friend struct codecs_internal::TypedEndAccess;
  explicit TypedEnd(PipeEnd end) : end_(std::move(end)) {}

  PipeEnd end_;
};

// Both ends of TypedPipe<T, Codec>: send and receive T.
template <typename T, typename Codec = DefaultCodecFor<T>>
using TypedPipeEnd = TypedEnd<T, T, Codec, Codec>;

// The two ends of TypedDuplexPipe<Request, Response>.
template <typename Request, typename Response, typename RequestCodec = DefaultCodecFor<Request>,
          typename ResponseCodec = DefaultCodecFor<Response>>
using RequesterEnd = TypedEnd<Request, Response, RequestCodec, ResponseCodec>;
template <typename Request, typename Response, typename RequestCodec = DefaultCodecFor<Request>,
          typename ResponseCodec = DefaultCodecFor<Response>>
using ResponderEnd = TypedEnd<Response, Request, ResponseCodec, RequestCodec>;

namespace codecs_internal {

struct TypedEndAccess {
  template <typename First, typename Second>
  static absl::StatusOr<std::pair<First, Second>> WrapPair(
      absl::StatusOr<std::pair<PipeEnd, PipeEnd>> ends) {
    if (!ends.ok()) return ends.status();
    return std::pair<First, Second>(First(std::move(ends->first)), Second(std::move(ends->second)));
  }
  template <typename End>
  static constexpr bool Usable() {
    return End::kUsable;
  }
  template <typename End>
  static absl::StatusOr<End> Wrap(absl::StatusOr<PipeEnd> end) {
    if (!end.ok()) return end.status();
    return End(std::move(*end));
  }
};

// Makes a pipe of two typed ends; `name` null: anonymous.
template <typename First, typename Second>
absl::StatusOr<std::pair<First, Second>> MakeTypedEnds(const PipeOptions& options,
                                                       const std::string* name,
                                                       const NamedPipeOptions& named) {
  if constexpr (TypedEndAccess::Usable<First>() && TypedEndAccess::Usable<Second>()) {
    return TypedEndAccess::WrapPair<First, Second>(
        PipeEnd::MakeTypedPipe(options, name, named, First::received_message_type(),
                               Second::received_message_type()));
  } else {
    return absl::InternalError("no codec");
  }
}

}  // namespace codecs_internal

// --- Anonymous typed pipes (shared with children by fork()) -----------------------

// (receiving end, sending end), or two duplex ends, as Pipe(options).
template <typename T, typename Codec = DefaultCodecFor<T>>
absl::StatusOr<std::pair<TypedPipeEnd<T, Codec>, TypedPipeEnd<T, Codec>>> TypedPipe(
    const PipeOptions& options = {}) {
  return codecs_internal::MakeTypedEnds<TypedPipeEnd<T, Codec>, TypedPipeEnd<T, Codec>>(
      options, nullptr, NamedPipeOptions{});
}

// (requester end, responder end) of a duplex pipe (options.duplex is ignored).
template <typename Request, typename Response, typename RequestCodec = DefaultCodecFor<Request>,
          typename ResponseCodec = DefaultCodecFor<Response>>
absl::StatusOr<std::pair<RequesterEnd<Request, Response, RequestCodec, ResponseCodec>,
                         ResponderEnd<Request, Response, RequestCodec, ResponseCodec>>>
TypedDuplexPipe(PipeOptions options = {}) {
  options.duplex = true;
  return codecs_internal::MakeTypedEnds<RequesterEnd<Request, Response, RequestCodec, ResponseCodec>,
                                        ResponderEnd<Request, Response, RequestCodec, ResponseCodec>>(
      options, nullptr, NamedPipeOptions{});
}

// --- Named typed pipes ------------------------------------------------------------

// As CreateNamedPipe, recording T and Codec in the pipe.
template <typename T, typename Codec = DefaultCodecFor<T>>
absl::StatusOr<std::pair<TypedPipeEnd<T, Codec>, TypedPipeEnd<T, Codec>>> CreateTypedNamedPipe(
    const std::string& name, const PipeOptions& options = {},
    const NamedPipeOptions& named = {}) {
  return codecs_internal::MakeTypedEnds<TypedPipeEnd<T, Codec>, TypedPipeEnd<T, Codec>>(
      options, &name, named);
}

// As CreateNamedPipe for a duplex pipe: side kFirst requests, kSecond responds.
template <typename Request, typename Response, typename RequestCodec = DefaultCodecFor<Request>,
          typename ResponseCodec = DefaultCodecFor<Response>>
absl::StatusOr<std::pair<RequesterEnd<Request, Response, RequestCodec, ResponseCodec>,
                         ResponderEnd<Request, Response, RequestCodec, ResponseCodec>>>
CreateTypedDuplexNamedPipe(const std::string& name, PipeOptions options = {},
                           const NamedPipeOptions& named = {}) {
  options.duplex = true;
  return codecs_internal::MakeTypedEnds<RequesterEnd<Request, Response, RequestCodec, ResponseCodec>,
                                        ResponderEnd<Request, Response, RequestCodec, ResponseCodec>>(
      options, &name, named);
}

// Opens one end of a named typed pipe as `End` (a TypedEnd): the ring it
// sends on must record End's sent type and codec, the ring it receives from
// End's received type and codec (a direction the side does not use is not
// checked). Errors: those of OpenNamedPipe, and InvalidArgument for another
// type or codec (see above).
//   OpenTypedNamedEnd<ResponderEnd<Request, Response>>("service", Side::kSecond)
template <typename End>
absl::StatusOr<End> OpenTypedNamedEnd(const std::string& name, Side side) {
  if constexpr (codecs_internal::TypedEndAccess::Usable<End>()) {
    return codecs_internal::TypedEndAccess::Wrap<End>(
        PipeEnd::OpenTypedNamedPipe(name, side, End::sent_message_type(),
                                    End::received_message_type(), End::Description()));
  } else {
    return absl::InternalError("no codec");
  }
}

// Opens one end of a pipe made by CreateTypedNamedPipe<T, Codec>.
template <typename T, typename Codec = DefaultCodecFor<T>>
absl::StatusOr<TypedPipeEnd<T, Codec>> OpenTypedNamedPipe(const std::string& name, Side side) {
  return OpenTypedNamedEnd<TypedPipeEnd<T, Codec>>(name, side);
}

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_CODECS_TYPED_PIPE_H_
