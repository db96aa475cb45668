#include "buffered_pipe/message_type.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace buffered_pipe::message_type_internal {

std::string DemangledName(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), &std::free);
  if (status != 0 || demangled == nullptr) return type.name();
  return demangled.get();
}

std::uint64_t Fingerprint(std::string_view name, std::uint64_t size, std::uint64_t alignment) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a over the name...
  for (char c : name) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  // ...then the size and alignment, mixed in (splitmix64 finaliser).
  for (std::uint64_t word : {size, alignment}) {
    hash ^= word + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2);
    hash = (hash ^ (hash >> 30)) * 0xbf58476d1ce4e5b9ULL;
    hash = (hash ^ (hash >> 27)) * 0x94d049bb133111ebULL;
    hash ^= hash >> 31;
  }
  return hash != 0 ? hash : 1;  // 0 means "untyped"
}

}  // namespace buffered_pipe::message_type_internal
