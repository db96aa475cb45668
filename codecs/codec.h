// Codecs: how typed values travel through a pipe.
//
// The Python original pickles any object; here a codec turns a value of a
// C++ type into one message and back. With a codec, every pipe end has typed
// calls next to send_bytes / recv_bytes:
//
//   sender.send(order);                                        // Order, any codec that fits
//   absl::StatusOr<Order> order = receiver.recv<Order>();
//   absl::StatusOr<Order> order = receiver.recv_for<Order>(std::chrono::milliseconds(50));
//   sender.send<Order, MyOrderCodec>(order);                   // a codec for this call only
//
// and typed pipes, whose ends only carry one type (codecs/typed_pipe.h).
//
// ---------------------------------------------------------------------------
// Which codec: chosen automatically, overridden when you want
// ---------------------------------------------------------------------------
//
// DefaultCodec<T>::type is the codec used when none is named. Unless you
// specialise it, it is, in this order:
//   1. RawBytesCodec (raw_bytes.h)          std::string, std::vector / std::span of
//                                           bytes, std::string_view: the bytes as they are
//   2. TriviallyCopyableCodec               trivially copyable types (ints, enums, plain
//      (trivially_copyable.h)               structs, std::array of them): one memcpy
//   3. CerealCodec (cereal.h)               anything cereal can serialize: standard
//                                           containers, structs with serialize()
// A type with none of these does not compile; the error says how to add one.
// Rule 3 applies where buffered_pipe/codecs/cereal.h is included (the umbrella
// buffered_pipe/buffered_pipe.h includes it): include it in every file that
// sends or receives such a type.
//
// Override, from the narrowest scope to the widest:
//   per call:  sender.send<Order, MyOrderCodec>(order);  receiver.recv<Order, MyOrderCodec>();
//   per pipe:  TypedPipe<Order, MyOrderCodec>(options)  (codecs/typed_pipe.h)
//   per type:  template <> struct buffered_pipe::DefaultCodec<Order> {
//                using type = MyOrderCodec;
//              };
// (A per-type specialisation must be visible wherever the type is sent or
// received, like any specialisation: put it next to the type.)
//
// ---------------------------------------------------------------------------
// The codec concept: writing your own
// ---------------------------------------------------------------------------
//
// A codec is a type with static members (no state, no instance):
//
//   struct PointCodec {
//     // Stable and unique: recorded in typed named pipes, compared on open.
//     // 0 is invalid; 1..65535 are reserved for buffered_pipe's own codecs.
//     static constexpr std::uint64_t kId = buffered_pipe::CodecIdFromName("geo.Point/1");
//     static constexpr std::string_view kName = "geo point v1";   // optional, for messages
//
//     // Exactly the number of bytes Encode will write; or kUnknownMessageSize
//     // if that is costly to know (the message is then streamed and the
//     // receiver gathers it before decoding). May return absl::StatusOr.
//     static std::uint64_t EncodedSize(const Point& point);
//
//     // Writes the value. Write errors (a broken pipe, a deadline) are kept
//     // in the writer and reported by the pipe: no need to check each write.
//     static absl::Status Encode(const Point& point, buffered_pipe::ByteWriter& out);
//
//     // Reads one value. The input is untrusted: check every length against
//     // in.remaining() before allocating by it; return DataLoss for bytes
//     // that are not a valid encoding. The pipe checks that nothing is left
//     // over afterwards.
//     static absl::StatusOr<Point> Decode(buffered_pipe::ByteReader& in);
//   };
//
// Optional: if a value's encoding is exactly its own bytes in memory, also
//     static std::span<const std::byte> Bytes(const Point& point);
// and send<T> hands them to the pipe's whole-message path (RawBytesCodec and
// TriviallyCopyableCodec do).
//
// A codec for many types makes these templates (Encode and EncodedSize
// deduce T; Decode is called as Codec::template Decode<T>(in)), see
// RawBytesCodec. Encoding writes straight into the ring and decoding reads
// straight out of it (ByteWriter / ByteReader, byte_io.h); the same codec
// also encodes to and decodes from memory: EncodeValue / DecodeValue below.
//
// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------
//
// send<T> / recv<T> return the errors of send_bytes / recv_bytes (status.h),
// and:
//   DATA_LOSS         recv: the message is not a valid encoding of T (truncated,
//                     corrupted, bytes left over, a length larger than the
//                     message). The message is consumed; the next recv gets the
//                     next one. The status message names the type and codec.
//   INVALID_ARGUMENT  the end belongs to a typed pipe of another message type or
//                     codec (see typed_pipe.h); or a codec's Encode wrote another
//                     number of bytes than its EncodedSize announced.
//   RESOURCE_EXHAUSTED  decoding ran out of memory.
// A codec's own errors are passed through. Nothing throws: exceptions of
// codecs (cereal's) are caught and turned into these.
//
// Thread-safety: the typed calls have the thread-safety of the end they are
// called on. Codecs are stateless; the fingerprint functions are thread-safe.

#ifndef BUFFERED_PIPE_CODECS_CODEC_H_
#define BUFFERED_PIPE_CODECS_CODEC_H_

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/codecs/byte_io.h"
#include "buffered_pipe/codecs/raw_bytes.h"
#include "buffered_pipe/codecs/trivially_copyable.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/internal/received_value.h"
#include "buffered_pipe/message_type.h"
#include "buffered_pipe/message.h"
#include "buffered_pipe/pipe.h"

namespace buffered_pipe {

// A codec id from a name you own ("mycompany.Order/2"): a 64-bit hash with
// the top bit set, so never 0 and never one of buffered_pipe's ids.
constexpr std::uint64_t CodecIdFromName(std::string_view name) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
  for (char c : name) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return hash | (std::uint64_t{1} << 63);
}

// --- The concept ---------------------------------------------------------------

template <typename Codec>
concept HasCodecId = requires {
  { Codec::kId } -> std::convertible_to<std::uint64_t>;
};

// Codec can encode a T (for sending).
template <typename Codec, typename T>
concept EncoderFor = HasCodecId<Codec> && requires(const T& value, ByteWriter& out) {
  { Codec::EncodedSize(value) } -> std::convertible_to<absl::StatusOr<std::uint64_t>>;
  { Codec::Encode(value, out) } -> std::same_as<absl::Status>;
};

// Codec can decode a T (for receiving).
template <typename Codec, typename T>
concept DecoderFor =
    HasCodecId<Codec> && (requires(ByteReader& in) {
      { Codec::template Decode<T>(in) } -> std::same_as<absl::StatusOr<T>>;
    } || requires(ByteReader& in) {
      { Codec::Decode(in) } -> std::same_as<absl::StatusOr<T>>;
    });

template <typename Codec, typename T>
concept CodecFor = EncoderFor<Codec, T> && DecoderFor<Codec, T>;

// --- Choosing the codec --------------------------------------------------------

// What DefaultCodec<T>::type is when no rule applies (a compile error where
// it is used, which explains how to add a codec).
template <typename T>
struct NoCodecFound {};

namespace codecs_internal {
// Rule 3 of the automatic choice; cereal.h adds CerealCodec for the types
// cereal can serialize.
template <typename T>
struct CerealFallback {
  using type = NoCodecFound<T>;
};
template <typename T>
struct IsNoCodecFound : std::false_type {};
template <typename T>
struct IsNoCodecFound<NoCodecFound<T>> : std::true_type {};
}  // namespace codecs_internal

// The codec of T when none is named. Specialise it for your own types:
//   template <> struct buffered_pipe::DefaultCodec<Order> { using type = OrderCodec; };
template <typename T>
struct DefaultCodec {
  // The rules are tried in order and only the one chosen is instantiated.
  using type = typename std::conditional_t<
      RawBytesEncodable<T>, std::type_identity<RawBytesCodec>,
      std::conditional_t<PlainCopyable<T>, std::type_identity<TriviallyCopyableCodec>,
                         codecs_internal::CerealFallback<T>>>::type;
};

template <typename T>
using DefaultCodecFor = typename DefaultCodec<T>::type;

// Whether T has a codec without naming one (false instead of a compile error).
template <typename T>
concept HasDefaultCodec = !codecs_internal::IsNoCodecFound<DefaultCodecFor<T>>::value;

// --- Message-type fingerprints -------------------------------------------------

// MessageTypeName<T> (the name typed pipes record for T, and its
// customisation point) is in buffered_pipe/message_type.h.

// The fingerprint of T that typed pipes record: a hash of MessageTypeName<T>,
// sizeof(T) and alignof(T); for raw-byte types, of "bytes" alone (they all
// carry the same messages). Not a structural check: see typed_pipe.h.
template <typename T>
std::uint64_t MessageTypeFingerprint() {
  static const std::uint64_t fingerprint =
      RawBytesEncodable<T> ? message_type_internal::Fingerprint("bytes", 0, 0)
                           : message_type_internal::Fingerprint(MessageTypeName<T>::Get(), sizeof(T),
                                                          alignof(T));
  return fingerprint;
}

// What a typed pipe of T with Codec records for a ring.
template <typename T, typename Codec>
PipeEnd::MessageType MessageTypeOf() {
  return PipeEnd::MessageType{MessageTypeFingerprint<T>(), Codec::kId};
}

// --- Implementation ------------------------------------------------------------

namespace codecs_internal {

template <typename Codec>
std::string CodecName() {
  if constexpr (requires { std::string_view(Codec::kName); }) {
    return std::string(std::string_view(Codec::kName));
  } else {
    return absl::StrCat("codec ", Codec::kId);
  }
}

// "Order (cereal binary)", for error messages.
template <typename T, typename Codec>
std::string Describe() {
  return absl::StrCat(MessageTypeName<T>::Get(), " (", CodecName<Codec>(), ")");
}

template <typename T, typename Choice>
struct ResolveCodec {
  using type = Choice;
};
template <typename T>
struct ResolveCodec<T, PipeEnd::DefaultCodecTag> {
  using type = DefaultCodecFor<T>;
};

// Every compile-time requirement of sending (kEncode) and/or receiving
// (kDecode) a T with Codec, each with its own message. True if all hold (the
// callers then compile the real code, so that one mistake gives one error).
template <typename T, typename Codec, bool kEncode, bool kDecode>
constexpr bool CheckCodec() {
  static_assert(!std::is_pointer_v<T>,
                "buffered_pipe: cannot send a pointer: its address means nothing in another "
                "process. Send the value it points to.");
  static_assert(!std::is_array_v<T>,
                "buffered_pipe: send a std::array, std::string or std::string_view, not a C "
                "array (a string literal would be sent with its terminating NUL).");
  static_assert(!std::is_reference_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>,
                "buffered_pipe: name the message type without const, volatile or &");
  static_assert(std::is_pointer_v<T> || std::is_array_v<T> || !IsNoCodecFound<Codec>::value,
                "buffered_pipe: no codec for this message type. Give it one of:\n"
                "  (1) a cereal serialize function, and include \"buffered_pipe/codecs/cereal.h\":\n"
                "        template <class Archive> void serialize(Archive& archive) {\n"
                "          archive(field_a, field_b);\n"
                "        }\n"
                "      (standard containers need their cereal/types/<name>.hpp header; cereal.h "
                "includes the common ones);\n"
                "  (2) a trivially copyable layout (no pointers, no virtual functions, no "
                "user-written copy), to be sent as a plain copy;\n"
                "  (3) a codec of your own (see buffered_pipe/codecs/codec.h), chosen with\n"
                "        template <> struct buffered_pipe::DefaultCodec<YourType> { using type = "
                "YourCodec; };\n"
                "      or per call: send<YourType, YourCodec>(value), recv<YourType, "
                "YourCodec>().");
  constexpr bool kFound = !IsNoCodecFound<Codec>::value;
  static_assert(!kFound || HasCodecId<Codec>,
                "buffered_pipe: a codec needs `static constexpr std::uint64_t kId` (nonzero, "
                "stable: see CodecIdFromName in buffered_pipe/codecs/codec.h)");
  static_assert(!kFound || !kEncode || EncoderFor<Codec, T>,
                "buffered_pipe: this codec cannot encode this type. A codec for T needs "
                "`static std::uint64_t EncodedSize(const T&)` (or absl::StatusOr<std::uint64_t>) "
                "and `static absl::Status Encode(const T&, buffered_pipe::ByteWriter&)`: see "
                "buffered_pipe/codecs/codec.h");
  static_assert(!kFound || !kDecode || DecoderFor<Codec, T>,
                "buffered_pipe: this codec cannot decode this type. A codec for T needs "
                "`static absl::StatusOr<T> Decode(buffered_pipe::ByteReader&)` (or a template "
                "Decode<T>): see buffered_pipe/codecs/codec.h");
  if constexpr (!std::is_pointer_v<T> && !std::is_array_v<T> && kFound && HasCodecId<Codec>) {
    static_assert(Codec::kId != 0, "buffered_pipe: codec id 0 means 'no codec'; choose another");
    return (!kEncode || EncoderFor<Codec, T>) && (!kDecode || DecoderFor<Codec, T>);
  } else {
    return false;
  }
}

// A codec's error, with the type and codec it concerns.
template <typename T, typename Codec>
absl::Status Annotate(const absl::Status& status, std::string_view what) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(std::string(what), " ", Describe<T, Codec>(), ": ", status.message()));
}

template <typename T, typename Codec>
absl::StatusOr<T> CallDecode(ByteReader& in) {
  if constexpr (requires { Codec::template Decode<T>(in); }) {
    return Codec::template Decode<T>(in);
  } else {
    return Codec::Decode(in);
  }
}

// Decodes one whole value: the codec, then a check that nothing is left over.
template <typename T, typename Codec>
absl::StatusOr<T> DecodeWhole(ByteReader& in) {
  absl::StatusOr<T> value = CallDecode<T, Codec>(in);
  if (value.ok()) {
    if (absl::Status status = in.Finish(); !status.ok()) value = status;
  }
  if (!value.ok() && !in.message_aborted()) {
    return Annotate<T, Codec>(value.status(), "cannot decode");
  }
  return value;
}

// Encodes into `out` (after which the caller checks out.Finish()).
template <typename T, typename Codec>
absl::Status EncodeInto(const T& value, ByteWriter& out) {
  absl::Status status = Codec::Encode(value, out);
  // A write error (broken pipe, deadline) is the cause of whatever the codec
  // did next: report it first.
  if (!out.ok()) return out.status();
  return Annotate<T, Codec>(status, "cannot encode");
}

// Encodings up to this size are made in memory and sent whole (SendValue).
// Its own scratch, apart from the receive's (ThreadScratch): a thread that
// sends and receives in turn does not resize one string back and forth.
inline constexpr std::size_t kEncodedInMemoryBytes = std::size_t{16} << 10;
inline std::string& ThreadEncodeScratch() {
  thread_local std::string scratch;
  return scratch;
}

// Encodes `value` once into this thread's scratch and sends it with the
// pipe's whole-message send (one claim, one copy). With `announced` (the
// codec's EncodedSize), what Encode wrote must match it. nullopt: the
// encoding outgrew the scratch (only without `announced`); nothing was sent.
template <typename T, typename Codec>
std::optional<absl::Status> SendInMemory(PipeEnd& end, const T& value,
                                         std::optional<std::uint64_t> announced,
                                         const Deadline& deadline) {
  std::string scratch = std::move(ThreadEncodeScratch());  // a re-entrant encoder gets its own
  ByteWriter out = ByteWriter::Bounded(scratch, kEncodedInMemoryBytes);
  absl::Status status = EncodeInto<T, Codec>(value, out);
  if (status.ok()) status = Annotate<T, Codec>(out.Finish(), "cannot encode");
  if (status.ok() && announced.has_value() &&
      (out.overflowed() || out.bytes_written() != *announced)) {
    status = Annotate<T, Codec>(
        absl::InvalidArgumentError(absl::StrCat(
            "the codec wrote ", out.overflowed() ? "more" : absl::StrCat(out.bytes_written()),
            " bytes but its EncodedSize announced ", *announced)),
        "cannot encode");
  }
  std::optional<absl::Status> sent;
  if (!status.ok()) {
    sent = std::move(status);
  } else if (!out.overflowed()) {
    sent = end.send_bytes_until(std::string_view(scratch.data(), out.bytes_written()), deadline);
  }
  ThreadEncodeScratch() = std::move(scratch);
  return sent;
}

// Writes the encoding of `announced` bytes straight into the ring as it
// streams (for values too large for the scratch).
template <typename T, typename Codec>
absl::Status SendStreamed(PipeEnd& end, const T& value, std::uint64_t announced,
                          const Deadline& deadline) {
  absl::StatusOr<OutgoingMessage> message = end.begin_send(announced, deadline);
  if (!message.ok()) return message.status();
  ByteWriter out(*message, announced);
  absl::Status status = EncodeInto<T, Codec>(value, out);
  if (status.ok()) status = Annotate<T, Codec>(out.Finish(), "cannot encode");
  if (!status.ok()) {
    message->abort();
    return status;
  }
  return message->commit();
}

// perf of a 64 B cereal record when every value went through SendStreamed:
// the sender was the bottleneck, in BeginSend and the transaction, and ran
// the codec twice (sizing, then writing). Now a small value is encoded once
// in memory. A codec whose EncodedSize is its Encode counted
// (kEncodedSizeCountsEncode: cereal's) is sized only when its encoding
// outgrows the scratch; any other codec's EncodedSize is asked first, picks
// the path, and is checked against what Encode wrote.
template <typename T, typename Codec>
absl::Status SendValue(PipeEnd& end, const T& value, const Deadline& deadline) {
  if constexpr (requires {
                  { Codec::Bytes(value) } -> std::convertible_to<std::span<const std::byte>>;
                }) {
    // The encoding is the value's own bytes: the pipe's whole-message path
    // copies them into the ring, no ByteWriter needed.
    const std::span<const std::byte> bytes = Codec::Bytes(value);
    return end.send_bytes_until(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), deadline);
  } else {
    constexpr bool kSizedByEncoding = requires { requires Codec::kEncodedSizeCountsEncode; };
    if constexpr (kSizedByEncoding) {
      if (std::optional<absl::Status> sent =
              SendInMemory<T, Codec>(end, value, std::nullopt, deadline)) {
        return *std::move(sent);
      }
    }
    absl::StatusOr<std::uint64_t> size = Codec::EncodedSize(value);
    if (!size.ok()) return Annotate<T, Codec>(size.status(), "cannot encode");
    if (!kSizedByEncoding && *size <= kEncodedInMemoryBytes) {
      return *SendInMemory<T, Codec>(end, value, *size, deadline);  // always sends or fails
    }
    return SendStreamed<T, Codec>(end, value, *size, deadline);
  }
}

// The receive paths below are separate functions, each returning one named
// result on every path (or a prvalue): the compiler then builds the result
// in the caller's StatusOr (NRVO). One function with every path in it would
// return several objects and lose that: the value would be built on the stack
// and copied out (measured: a 1 KiB POD paid a second copy of itself).

// Exactly recv_bytes (the pipe's whole-message path).
inline absl::StatusOr<std::string> ReceiveRawBytes(PipeEnd& end, const Deadline& deadline) {
  absl::StatusOr<std::string> bytes(absl::in_place);
  if (absl::Status status = end.recv_bytes_into(*bytes, deadline); !status.ok()) bytes = status;
  return bytes;
}

// A plain copy of a type whose every byte pattern the codec accepts: the
// message goes straight into the result, no other copy.
template <typename T, typename Codec>
absl::StatusOr<T> ReceiveInPlace(PipeEnd& end, const Deadline& deadline) {
  absl::Status status;
  absl::StatusOr<T> result(absl::in_place,
                           internal::ReceivedValue<T, PipeEnd>{end, deadline, status});
  if (!status.ok()) {
    result = absl::IsDataLoss(status) ? Annotate<T, Codec>(status, "cannot decode") : status;
  }
  return result;
}

// A plain copy that the codec still checks (e.g. that a bool is 0 or 1): the
// message goes straight into a buffer of the value's size (no piecewise
// reader), which the codec then decodes from memory.
template <typename T, typename Codec>
absl::StatusOr<T> ReceiveThenCheck(PipeEnd& end, const Deadline& deadline) {
  std::array<std::byte, sizeof(T)> bytes;
  if (absl::Status status = end.recv_bytes_into(std::span<std::byte>(bytes), deadline);
      !status.ok()) {
    return absl::IsDataLoss(status) ? Annotate<T, Codec>(status, "cannot decode") : status;
  }
  ByteReader in{std::span<const std::byte>(bytes)};
  return DecodeWhole<T, Codec>(in);
}

// Any other codec: the message is received whole (the pipe's whole-message
// path: a stream that times out half way is kept for the next receive, one
// whose sender gave up is skipped) and decoded from memory: in place in the
// ring when it is one contiguous frame, else from this thread's scratch bytes
// (recv_bytes_visiting). Decoding piece by piece through an IncomingMessage
// instead paid the piecewise machinery for every message; for a 64 B cereal
// record the receiver was the bottleneck (perf: begin_recv, piece reads).
//
// The scratch is taken out of its thread_local slot for the call (a decoder
// that itself receives, re-entrantly, gets a scratch of its own) and kept
// for the next call unless it grew past kKeptScratchBytes.
inline constexpr std::size_t kKeptScratchBytes = std::size_t{4} << 20;
inline std::string& ThreadScratch() {
  thread_local std::string scratch;
  return scratch;
}

template <typename T, typename Codec>
absl::StatusOr<T> ReceiveDecoded(PipeEnd& end, const Deadline& deadline) {
  std::string scratch = std::move(ThreadScratch());
  std::optional<absl::StatusOr<T>> value;
  const absl::Status status = end.recv_bytes_visiting(
      [&value](std::span<const std::byte> bytes) {
        ByteReader in{bytes};
        value.emplace(DecodeWhole<T, Codec>(in));
      },
      scratch, deadline);
  if (scratch.capacity() <= kKeptScratchBytes) ThreadScratch() = std::move(scratch);
  if (!status.ok()) return status;
  if (!value.has_value()) return absl::InternalError("a received message was not decoded");
  return *std::move(value);
}

template <typename T, typename Codec>
absl::StatusOr<T> ReceiveValue(PipeEnd& end, const Deadline& deadline) {
  if constexpr (std::is_same_v<Codec, RawBytesCodec> && std::is_same_v<T, std::string>) {
    return ReceiveRawBytes(end, deadline);
  } else if constexpr (std::is_same_v<Codec, TriviallyCopyableCodec> &&
                       !std::is_same_v<T, bool> && std::is_default_constructible_v<T>) {
    return ReceiveInPlace<T, Codec>(end, deadline);
  } else if constexpr (std::is_same_v<Codec, TriviallyCopyableCodec>) {
    return ReceiveThenCheck<T, Codec>(end, deadline);
  } else {
    return ReceiveDecoded<T, Codec>(end, deadline);
  }
}

// A generic end of a typed pipe: refuse values of another type or codec.
template <typename T, typename Codec>
absl::Status CheckRingCarries(PipeEnd::MessageType ring, std::string_view direction) {
  if (ring == PipeEnd::MessageType{}) return absl::OkStatus();  // untyped: any value
  if (ring == MessageTypeOf<T, Codec>()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot ", std::string(direction), " ", Describe<T, Codec>(), ": this end's pipe was created for ",
      ring.fingerprint == MessageTypeFingerprint<T>() ? "the same type with another codec (id "
                                                      : "another message type (codec id ",
      ring.codec_id, ")"));
}

}  // namespace codecs_internal

// --- Encoding to and decoding from memory ------------------------------------------

// The message `value` would be, as bytes (for tests, storage, fuzzing).
template <typename T, typename Codec = DefaultCodecFor<T>>
absl::StatusOr<std::string> EncodeValue(const T& value) {
  if constexpr (codecs_internal::CheckCodec<T, Codec, true, false>()) {
    std::string bytes;
    ByteWriter out(bytes);
    if (absl::Status status = codecs_internal::EncodeInto<T, Codec>(value, out); !status.ok()) {
      return status;
    }
    return bytes;
  } else {
    return absl::InternalError("no codec");
  }
}

// Decodes one value from a whole message's bytes. DataLoss if they are not
// exactly one valid encoding of a T.
template <typename T, typename Codec = DefaultCodecFor<T>>
absl::StatusOr<T> DecodeValue(std::span<const std::byte> bytes) {
  if constexpr (codecs_internal::CheckCodec<T, Codec, false, true>()) {
    ByteReader in(bytes);
    return codecs_internal::DecodeWhole<T, Codec>(in);
  } else {
    return absl::InternalError("no codec");
  }
}
template <typename T, typename Codec = DefaultCodecFor<T>>
absl::StatusOr<T> DecodeValue(std::string_view bytes) {
  return DecodeValue<T, Codec>(std::as_bytes(std::span(bytes)));
}

// --- PipeEnd's typed calls (declared in pipe.h) --------------------------------

template <typename T, typename CodecChoice>
struct PipeEnd::Typed {
  using Codec = typename codecs_internal::ResolveCodec<T, CodecChoice>::type;

  static absl::Status Send(PipeEnd& end, const T& value, const Deadline& deadline) {
    if constexpr (codecs_internal::CheckCodec<T, Codec, true, false>()) {
      if (absl::Status status =
              codecs_internal::CheckRingCarries<T, Codec>(end.sent_message_type(), "send");
          !status.ok()) {
        return status;
      }
      return codecs_internal::SendValue<T, Codec>(end, value, deadline);
    } else {
      return absl::InternalError("no codec");
    }
  }

  static absl::StatusOr<T> Receive(PipeEnd& end, const Deadline& deadline) {
    if constexpr (codecs_internal::CheckCodec<T, Codec, false, true>()) {
      if (absl::Status status =
              codecs_internal::CheckRingCarries<T, Codec>(end.received_message_type(), "receive");
          !status.ok()) {
        return status;
      }
      return codecs_internal::ReceiveValue<T, Codec>(end, deadline);
    } else {
      return absl::InternalError("no codec");
    }
  }
};

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_CODECS_CODEC_H_
