// RawBytesCodec: byte strings travel as they are.
//
// The default codec of std::string, std::string_view, std::vector of bytes
// (std::byte, char, unsigned char, signed char) and std::span of bytes. The
// message is exactly the bytes, nothing added, so these interoperate with
// send_bytes / recv_bytes:
//
//   sender.send(std::string("hello"));              // same message as send_bytes("hello")
//   absl::StatusOr<std::vector<std::byte>> bytes = receiver.recv<std::vector<std::byte>>();
//
// Views (std::string_view, std::span) can be sent but not received: receive
// into std::string or a std::vector of bytes. Every byte string is a valid
// message, so decoding never fails on content (only on a broken message).
// All raw-byte types share one message-type fingerprint ("bytes"): a typed
// pipe of std::string may be opened as a typed pipe of std::vector<std::byte>.
//
// Codec id 1 (stable; recorded in typed named pipes).
// Thread-safety: stateless.

#ifndef BUFFERED_PIPE_CODECS_RAW_BYTES_H_
#define BUFFERED_PIPE_CODECS_RAW_BYTES_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/codecs/byte_io.h"

namespace buffered_pipe {

namespace codecs_internal {

template <typename B>
inline constexpr bool kIsByteType =
    std::is_same_v<B, std::byte> || std::is_same_v<B, char> || std::is_same_v<B, unsigned char> ||
    std::is_same_v<B, signed char>;

template <typename T>
struct IsRawBytesContainer : std::false_type {};
template <>
struct IsRawBytesContainer<std::string> : std::true_type {};
template <typename B, typename Allocator>
struct IsRawBytesContainer<std::vector<B, Allocator>> : std::bool_constant<kIsByteType<B>> {};

template <typename T>
struct IsRawBytesView : std::false_type {};
template <>
struct IsRawBytesView<std::string_view> : std::true_type {};
template <typename B, std::size_t kExtent>
struct IsRawBytesView<std::span<B, kExtent>>
    : std::bool_constant<kIsByteType<std::remove_const_t<B>>> {};

}  // namespace codecs_internal

// Types RawBytesCodec can send, and those it can receive into.
template <typename T>
concept RawBytesEncodable =
    codecs_internal::IsRawBytesContainer<T>::value || codecs_internal::IsRawBytesView<T>::value;
template <typename T>
concept RawBytesDecodable = codecs_internal::IsRawBytesContainer<T>::value;

struct RawBytesCodec {
  static constexpr std::uint64_t kId = 1;
  static constexpr std::string_view kName = "raw bytes";

  template <typename T>
  static std::uint64_t EncodedSize(const T& value) {
    if constexpr (RequireEncodable<T>()) {
      return std::as_bytes(std::span(value.data(), value.size())).size();
    } else {
      return 0;
    }
  }

  // The encoding is the bytes themselves (send<T> sends them as they are).
  template <typename T>
  static std::span<const std::byte> Bytes(const T& value) {
    if constexpr (RequireEncodable<T>()) {
      return std::as_bytes(std::span(value.data(), value.size()));
    } else {
      return {};
    }
  }

  template <typename T>
  static absl::Status Encode(const T& value, ByteWriter& out) {
    if constexpr (RequireEncodable<T>()) {
      out.Write(std::as_bytes(std::span(value.data(), value.size())));
    }
    return absl::OkStatus();
  }

  template <typename T>
  static absl::StatusOr<T> Decode(ByteReader& in) {
    static_assert(RawBytesDecodable<T>,
                  "RawBytesCodec receives into std::string or a std::vector of std::byte / char / "
                  "unsigned char / signed char: a view (std::string_view, std::span) cannot own "
                  "the bytes of a received message");
    T result;
    // remaining() is the announced size: exact, but for a message streamed
    // through the ring it is read from shared memory, so reserve by it only
    // up to a bound and let larger values grow as their bytes arrive.
    result.reserve(static_cast<std::size_t>(std::min(in.remaining(), kReserveLimit)));
    for (;;) {
      absl::StatusOr<std::span<const std::byte>> piece =
          in.ReadPiece(std::numeric_limits<std::size_t>::max());
      if (!piece.ok()) return piece.status();
      if (piece->empty()) return result;
      using Byte = typename T::value_type;
      const auto* first = reinterpret_cast<const Byte*>(piece->data());
      if constexpr (std::is_same_v<T, std::string>) {
        result.append(first, piece->size());
      } else {
        result.insert(result.end(), first, first + piece->size());
      }
    }
  }

 private:
  static constexpr std::uint64_t kReserveLimit = std::uint64_t{64} << 20;

  template <typename T>
  static constexpr bool RequireEncodable() {
    static_assert(RawBytesEncodable<T>,
                  "RawBytesCodec sends std::string, std::string_view, and std::vector or "
                  "std::span of std::byte / char / unsigned char / signed char");
    return RawBytesEncodable<T>;
  }
};

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_CODECS_RAW_BYTES_H_
