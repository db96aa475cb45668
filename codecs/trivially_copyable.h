// TriviallyCopyableCodec: a value travels as its object representation, a
// plain copy of its sizeof(T) bytes.
//
// The default codec of trivially copyable types (arithmetic types, enums,
// std::array of them, plain structs) other than raw-byte types, pointers and
// views. Encoding is one copy into the ring; decoding is one copy out of it
// into the result, with no other allocation. The message is exactly
// sizeof(T) bytes; decoding checks that and reports DataLoss otherwise.
//
//   struct Tick { std::int64_t time_ns; double price; std::uint32_t volume; };
//   sender.send(Tick{...});                       // 24 bytes, one memcpy
//   absl::StatusOr<Tick> tick = receiver.recv<Tick>();
//
// What it cannot check, and you must:
// - A struct that holds a pointer (char*, a std::string_view member, an
//   iterator) is trivially copyable too, but the address means nothing in
//   another process. Give such a type another codec (see codec.h).
// - Both ends must agree on the layout: same type definition, compiler and
//   architecture (always true between processes of one build on one host).
// - Every bit pattern is accepted: a bool member holding 2, or an enum value
//   outside its enumerators, arrives as sent. Only a plain `bool` message is
//   checked (0 or 1). Between untrusted peers, validate after receiving or
//   use a codec that validates.
// - Padding bytes are copied as they are (their content is unspecified).
//
// Codec id 2 (stable; recorded in typed named pipes).
// Thread-safety: stateless.

#ifndef BUFFERED_PIPE_CODECS_TRIVIALLY_COPYABLE_H_
#define BUFFERED_PIPE_CODECS_TRIVIALLY_COPYABLE_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/utility/utility.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/codecs/byte_io.h"
#include "buffered_pipe/codecs/raw_bytes.h"

namespace buffered_pipe {

namespace codecs_internal {
template <typename T>
struct IsReferenceWrapper : std::false_type {};
template <typename T>
struct IsReferenceWrapper<std::reference_wrapper<T>> : std::true_type {};
}  // namespace codecs_internal

// Types TriviallyCopyableCodec accepts: trivially copyable objects that are
// not raw-byte types, C arrays, pointers or known views.
template <typename T>
concept PlainCopyable =
    std::is_trivially_copyable_v<T> && std::is_object_v<T> && !std::is_const_v<T> &&
    !std::is_array_v<T> && !std::is_pointer_v<T> && !std::is_member_pointer_v<T> &&
    !std::is_null_pointer_v<T> && !RawBytesEncodable<T> &&
    !codecs_internal::IsReferenceWrapper<T>::value;

struct TriviallyCopyableCodec {
  static constexpr std::uint64_t kId = 2;
  static constexpr std::string_view kName = "trivially copyable";

  template <typename T>
  static constexpr std::uint64_t EncodedSize(const T&) {
    return sizeof(T);
  }

  // The encoding is the object representation (send<T> sends it as it is).
  template <typename T>
  static std::span<const std::byte> Bytes(const T& value) {
    static_assert(PlainCopyable<T>,
                  "TriviallyCopyableCodec copies a value's bytes: the type must be trivially "
                  "copyable, and not a pointer, a C array or a view (std::string_view, std::span, "
                  "std::reference_wrapper), whose bytes would point into this process's memory");
    return std::as_bytes(std::span(std::addressof(value), 1));
  }

  template <typename T>
  static absl::Status Encode(const T& value, ByteWriter& out) {
    static_assert(PlainCopyable<T>,
                  "TriviallyCopyableCodec copies a value's bytes: the type must be trivially "
                  "copyable, and not a pointer, a C array or a view (std::string_view, std::span, "
                  "std::reference_wrapper), whose bytes would point into this process's memory");
    out.Write(std::addressof(value), sizeof(T));
    return absl::OkStatus();
  }

  template <typename T>
  static absl::StatusOr<T> Decode(ByteReader& in) {
    static_assert(PlainCopyable<T>,
                  "TriviallyCopyableCodec copies a value's bytes: the type must be trivially "
                  "copyable, and not a pointer, a C array or a view (std::string_view, std::span, "
                  "std::reference_wrapper), whose bytes would point into this process's memory");
    if (in.remaining() != sizeof(T)) {
      return absl::DataLossError(absl::StrCat("a value of this type is ", sizeof(T),
                                              " bytes, the message has ", in.remaining()));
    }
    if constexpr (std::is_same_v<T, bool>) {
      unsigned char byte = 0;
      if (absl::Status status = in.Read(&byte, 1); !status.ok()) return status;
      if (byte > 1) return absl::DataLossError(absl::StrCat("a bool holds 0 or 1, not ", byte));
      return byte == 1;
    } else if constexpr (std::is_default_constructible_v<T>) {
      // Straight into the result: no other copy.
      absl::StatusOr<T> result(absl::in_place);
      if (absl::Status status = in.Read(std::addressof(*result), sizeof(T)); !status.ok()) {
        return status;
      }
      return result;
    } else {
      std::array<std::byte, sizeof(T)> bytes;
      if (absl::Status status = in.Read(bytes); !status.ok()) return status;
      return std::bit_cast<T>(bytes);
    }
  }
};

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_CODECS_TRIVIALLY_COPYABLE_H_
