// The two archives behind CerealCodec (cereal.h): cereal's binary format,
// byte for byte what cereal::BinaryOutputArchive writes and
// cereal::BinaryInputArchive reads (native byte order, 64-bit length
// prefixes), but written straight to a ByteWriter and read from a ByteReader,
// without std::iostream, and with every length prefix bounded.
//
// Why our own input archive: cereal's loaders resize a container to the
// length they read (std::vector::resize, std::string::resize,
// std::deque::resize...) before reading its elements, so a corrupted length
// of 2^60 allocates (or aborts) before anything fails. Every length goes
// through cereal's SizeTag, which here is checked against the bytes the
// message still holds:
//   - a container of N elements needs at least N bytes left (each element is
//     at least one byte, except empty classes, see cereal.h);
//   - a string or a vector of arithmetic values (read as one block) needs
//     N * sizeof(element) bytes left: exact.
// A failed read (truncated input) stops decoding at once, before the next
// allocation. A bool must be 0 or 1 (cereal loads any byte into it).
//
// Internal: use CerealCodec.

#ifndef BUFFERED_PIPE_CODECS_INTERNAL_CEREAL_ARCHIVE_H_
#define BUFFERED_PIPE_CODECS_INTERNAL_CEREAL_ARCHIVE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/codecs/byte_io.h"
#include "cereal/cereal.hpp"

namespace buffered_pipe::codecs_internal {

// Thrown from inside cereal's recursion to stop it (a read or write failed,
// a length is out of bounds); caught by CerealCodec, never escapes it.
struct CerealStop {
  absl::Status status;
};

class CerealOutputArchive
    : public cereal::OutputArchive<CerealOutputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit CerealOutputArchive(ByteWriter& out)
      : cereal::OutputArchive<CerealOutputArchive, cereal::AllowEmptyClassElision>(this),
        out_(out) {}

  void saveBinary(const void* data, std::size_t size) {
    out_.Write(data, size);
    // The pipe broke or the deadline passed: no point in encoding the rest.
    if (!out_.ok()) throw CerealStop{out_.status()};
  }

 private:
  ByteWriter& out_;
};

class CerealInputArchive
    : public cereal::InputArchive<CerealInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit CerealInputArchive(ByteReader& in)
      : cereal::InputArchive<CerealInputArchive, cereal::AllowEmptyClassElision>(this), in_(in) {}

  void loadBinary(void* data, std::size_t size) {
    absl::Status status = in_.Read(data, size);
    if (!status.ok()) throw CerealStop{std::move(status)};
  }

  // Throws unless `count` elements of at least `element_bytes` bytes each
  // fit in what is left of the input.
  void CheckLength(std::uint64_t count, std::uint64_t element_bytes) {
    // count * element_bytes > remaining, without overflow; the same test as
    // count > remaining / element_bytes without a 64-bit division (tens of
    // cycles, twice per decoded record of two containers).
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(count, element_bytes, &bytes) || bytes > in_.remaining()) {
      throw CerealStop{absl::DataLossError(
          absl::StrCat("a length of ", count, " (elements of ", element_bytes,
                       " bytes or more) exceeds the ", in_.remaining(), " bytes left"))};
    }
  }

 private:
  ByteReader& in_;
};

// --- Arithmetic values: their bytes ---------------------------------------------

template <class T>
  requires std::is_arithmetic_v<T>
void CEREAL_SAVE_FUNCTION_NAME(CerealOutputArchive& archive, const T& value) {
  archive.saveBinary(std::addressof(value), sizeof(value));
}

template <class T>
  requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
void CEREAL_LOAD_FUNCTION_NAME(CerealInputArchive& archive, T& value) {
  archive.loadBinary(std::addressof(value), sizeof(value));
}

// A bool byte other than 0 or 1 would be undefined behaviour to use.
inline void CEREAL_LOAD_FUNCTION_NAME(CerealInputArchive& archive, bool& value) {
  unsigned char byte = 0;
  archive.loadBinary(&byte, 1);
  if (byte > 1) throw CerealStop{absl::DataLossError(absl::StrCat("a bool holds ", byte))};
  value = byte == 1;
}

// --- cereal's helper types ------------------------------------------------------

// Names are not stored in a binary archive.
template <class Archive, class T>
  requires(std::is_same_v<Archive, CerealOutputArchive> ||
           std::is_same_v<Archive, CerealInputArchive>)
void CEREAL_SERIALIZE_FUNCTION_NAME(Archive& archive, cereal::NameValuePair<T>& pair) {
  archive(pair.value);
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(CerealOutputArchive& archive, const cereal::SizeTag<T>& tag) {
  archive(tag.size);
}

// Every container length of cereal comes through here.
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(CerealInputArchive& archive, cereal::SizeTag<T>& tag) {
  archive(tag.size);
  archive.CheckLength(tag.size, 1);
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(CerealOutputArchive& archive, const cereal::BinaryData<T>& data) {
  archive.saveBinary(data.data, static_cast<std::size_t>(data.size));
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(CerealInputArchive& archive, cereal::BinaryData<T>& data) {
  archive.loadBinary(data.data, static_cast<std::size_t>(data.size));
}

// --- Exact bounds for block-loaded containers ---------------------------------------
// More specialised than cereal's loaders of the same types (which take any
// archive), so overload resolution picks these for our archive. Same format.

template <class Char, class Traits, class Allocator>
  requires std::is_arithmetic_v<Char>
void CEREAL_LOAD_FUNCTION_NAME(CerealInputArchive& archive,
                               std::basic_string<Char, Traits, Allocator>& text) {
  cereal::size_type count = 0;
  archive(cereal::make_size_tag(count));
  archive.CheckLength(count, sizeof(Char));
  text.resize(static_cast<std::size_t>(count));
  archive(cereal::binary_data(text.data(), static_cast<std::size_t>(count) * sizeof(Char)));
}

template <class T, class Allocator>
  requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
void CEREAL_LOAD_FUNCTION_NAME(CerealInputArchive& archive, std::vector<T, Allocator>& vector) {
  cereal::size_type count = 0;
  archive(cereal::make_size_tag(count));
  archive.CheckLength(count, sizeof(T));
  vector.resize(static_cast<std::size_t>(count));
  archive(cereal::binary_data(vector.data(), static_cast<std::size_t>(count) * sizeof(T)));
}

}  // namespace buffered_pipe::codecs_internal

// Polymorphic pointers (cereal/types/polymorphic.hpp) work with these archives.
CEREAL_REGISTER_ARCHIVE(buffered_pipe::codecs_internal::CerealOutputArchive)
CEREAL_REGISTER_ARCHIVE(buffered_pipe::codecs_internal::CerealInputArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(buffered_pipe::codecs_internal::CerealInputArchive,
                            buffered_pipe::codecs_internal::CerealOutputArchive)

#endif  // BUFFERED_PIPE_CODECS_INTERNAL_CEREAL_ARCHIVE_H_
