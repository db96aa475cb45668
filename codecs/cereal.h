// CerealCodec: any type cereal can serialize, in cereal's binary format.
//
// Standard containers, strings, smart pointers, optionals, variants, tuples,
// and your own types with a cereal serialize (or save/load) function:
//
//   struct Order {
//     std::string customer;
//     std::vector<std::uint32_t> items;
//     std::map<std::string, double> prices;
//     template <class Archive>
//     void serialize(Archive& archive) { archive(customer, items, prices); }
//   };
//   sender.send(order);                                  // CerealCodec chosen automatically
//   absl::StatusOr<Order> order = receiver.recv<Order>();
//
// Including this header makes CerealCodec the automatic codec (DefaultCodec,
// see codec.h) of every type cereal can serialize and that is neither a raw
// byte string nor trivially copyable (those keep their own codecs; name
// CerealCodec per call or per pipe to use it for them anyway). It includes
// cereal's headers for the standard types listed below; include others
// (cereal/types/polymorphic.hpp, valarray.hpp, ...) yourself.
//
// Format: exactly cereal::BinaryOutputArchive's (native byte order, 64-bit
// lengths, no names), so bytes written by cereal's own binary archive decode
// here and the other way round. Serialize functions must be templates on the
// archive, as cereal recommends (one written for cereal::BinaryOutputArchive
// only will not be found). Decoding needs a default-constructible type.
//
// Encoding (send): a sizing pass runs the serialize functions once to count
// the bytes, then a second pass writes them straight into the ring; there is
// no intermediate copy of the message. The cost is a second traversal of the
// value (cheap for strings and vectors of numbers: one write each).
// EncodeValue encodes to a std::string in one pass.
//
// Decoding (recv) reads straight out of the ring (no copy of the message)
// and trusts nothing (see internal/cereal_archive.h):
//   - truncated input, bytes left over, or a bool byte other than 0/1:
//     DataLoss;
//   - every length is checked before anything is allocated by it: a string
//     or a vector of numbers longer than the bytes left, or any container
//     with more elements than bytes left, is DataLoss. A length of 2^60 fails
//     at once, without allocating. So one container's allocation is at most
//     (bytes left) x sizeof(element); for strings and vectors of numbers, at
//     most the bytes left.
//   - Limit: a container of an empty class (0 encoded bytes per element)
//     cannot have more elements than the message has bytes left.
//   - Exceptions thrown by cereal or by your serialize functions are caught:
//     DataLoss (decode) or InvalidArgument (encode); std::bad_alloc becomes
//     ResourceExhausted.
//
// Codec id 3 (stable; recorded in typed named pipes).
// Thread-safety: stateless; your serialize functions are called on the
// calling thread.

#ifndef BUFFERED_PIPE_CODECS_CEREAL_H_
#define BUFFERED_PIPE_CODECS_CEREAL_H_

#include <cstdint>
#include <exception>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/utility/utility.h"
#include "buffered_pipe/codecs/byte_io.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/codecs/internal/cereal_archive.h"
#include "cereal/cereal.hpp"
#include "cereal/types/array.hpp"
#include "cereal/types/bitset.hpp"
#include "cereal/types/chrono.hpp"
#include "cereal/types/complex.hpp"
#include "cereal/types/deque.hpp"
#include "cereal/types/list.hpp"
#include "cereal/types/map.hpp"
#include "cereal/types/memory.hpp"
#include "cereal/types/optional.hpp"
#include "cereal/types/set.hpp"
#include "cereal/types/string.hpp"
#include "cereal/types/tuple.hpp"
#include "cereal/types/unordered_map.hpp"
#include "cereal/types/unordered_set.hpp"
#include "cereal/types/utility.hpp"
#include "cereal/types/variant.hpp"
#include "cereal/types/vector.hpp"

namespace buffered_pipe {

// Types CerealCodec can send and receive.
template <typename T>
concept CerealSerializable =
    std::is_object_v<T> && !std::is_pointer_v<T> && std::is_default_constructible_v<T> &&
    cereal::traits::is_output_serializable<T, codecs_internal::CerealOutputArchive>::value &&
    cereal::traits::is_input_serializable<T, codecs_internal::CerealInputArchive>::value;

namespace codecs_internal {

// Runs `body` (cereal's recursion), turning whatever it throws into a status;
// `failure` is the code of errors in the value (cereal's or the user's).
template <typename Body>
absl::Status CatchCerealErrors(absl::StatusCode failure, Body&& body) {
  try {
    body();
    return absl::OkStatus();
  } catch (CerealStop& stop) {
    return std::move(stop.status);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory");
  } catch (const std::exception& exception) {
    return absl::Status(failure, exception.what());
  } catch (...) {
    return absl::Status(failure, "an exception of unknown type");
  }
}

}  // namespace codecs_internal

struct CerealCodec {
  static constexpr std::uint64_t kId = 3;
  static constexpr std::string_view kName = "cereal binary";

  // EncodedSize is Encode counted: the pipe need not ask for it before a
  // small encoding (codec.h, SendValue).
  static constexpr bool kEncodedSizeCountsEncode = true;

  // A sizing pass: runs the serialize functions, keeps nothing.
  template <typename T>
  static absl::StatusOr<std::uint64_t> EncodedSize(const T& value) {
    ByteWriter counter = ByteWriter::Counting();
    absl::Status status = Encode(value, counter);
    if (!status.ok()) return status;
    return counter.bytes_written();
  }

  template <typename T>
  static absl::Status Encode(const T& value, ByteWriter& out) {
    if constexpr (RequireSerializable<T>()) {
      return codecs_internal::CatchCerealErrors(absl::StatusCode::kInvalidArgument, [&] {
        codecs_internal::CerealOutputArchive archive(out);
        archive(value);
      });
    } else {
      return absl::InternalError("not serializable");
    }
  }

  template <typename T>
  static absl::StatusOr<T> Decode(ByteReader& in) {
    if constexpr (RequireSerializable<T>()) {
      absl::StatusOr<T> value(absl::in_place);
      absl::Status status = codecs_internal::CatchCerealErrors(absl::StatusCode::kDataLoss, [&] {
        codecs_internal::CerealInputArchive archive(in);
        archive(*value);
      });
      if (!status.ok()) return status;
      return value;
    } else {
      return absl::InternalError("not serializable");
    }
  }

 private:
  template <typename T>
  static constexpr bool RequireSerializable() {
    static_assert(CerealSerializable<T>,
                  "CerealCodec: cereal cannot serialize this type, or it is not default-"
                  "constructible. Give it a member\n"
                  "    template <class Archive> void serialize(Archive& archive) {\n"
                  "      archive(field_a, field_b);\n"
                  "    }\n"
                  "(or save/load functions, see cereal's documentation), make every member "
                  "serializable, and include cereal/types/<name>.hpp for the standard types "
                  "that buffered_pipe/codecs/cereal.h does not include");
    return CerealSerializable<T>;
  }
};

namespace codecs_internal {
// Rule 3 of the automatic choice (codec.h).
template <typename T>
  requires CerealSerializable<T>
struct CerealFallback<T> {
  using type = CerealCodec;
};
}  // namespace codecs_internal

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_CODECS_CEREAL_H_
