// Message types, as typed pipes record them in shared memory: a name and a
// 64-bit fingerprint of (name, size, alignment). Typed generic pipes (codecs/)
// and typed static pipes (static_pipe.h) record the fingerprint of their
// message or record type when they create a pipe and check it when a named
// pipe is opened, so a process that opens "orders" for another type is
// refused instead of reading garbage.
//
// Thread-safety: all of it may be used from any thread.

#ifndef BUFFERED_PIPE_MESSAGE_TYPE_H_
#define BUFFERED_PIPE_MESSAGE_TYPE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <typeinfo>

namespace buffered_pipe {

// The name a typed pipe records (hashed) for its message type. By default the
// C++ name of the type, as the compiler spells it ("geo::Point"), from
// typeid (so the default needs RTTI). Programs built against different
// standard libraries spell std types differently (std::__cxx11::basic_string,
// std::__1::basic_string) and would refuse each other's typed pipes.
// Specialise it to make the name independent of namespaces and spelling, or
// to add a schema version that you bump when the type's encoding changes:
//   template <> struct buffered_pipe::MessageTypeName<Order> {
//     static std::string Get() { return "shop.Order/3"; }
//   };
template <typename T>
struct MessageTypeName {
  static std::string Get();
};

namespace message_type_internal {
std::string DemangledName(const std::type_info& type);
// 64-bit hash of (name, size, alignment); never 0 (0 means "untyped").
std::uint64_t Fingerprint(std::string_view name, std::uint64_t size, std::uint64_t alignment);
}  // namespace message_type_internal

template <typename T>
std::string MessageTypeName<T>::Get() {
  return message_type_internal::DemangledName(typeid(T));
}

// The fingerprint of a record type T as a typed static pipe records it:
// MessageTypeName<T>, sizeof(T) and alignof(T). Not a structural check: two
// types of one name, size and alignment are the same to it.
template <typename T>
std::uint64_t RecordTypeFingerprint() {
  static const std::uint64_t fingerprint =
      message_type_internal::Fingerprint(MessageTypeName<T>::Get(), sizeof(T), alignof(T));
  return fingerprint;
}

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_MESSAGE_TYPE_H_
