#include "buffered_pipe/network/internal/protocol.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace buffered_pipe::network_internal {
namespace {

// Hello: kind, u32 magic, u16 version, u8 connector_sends, u64 fingerprint,
// u64 codec id.
constexpr std::size_t kHelloSize = 1 + 4 + 2 + 1 + 8 + 8;
constexpr std::size_t kCreditSize = 1 + 8;

void Put(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
std::uint64_t Get(std::string_view in, std::size_t offset, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= std::uint64_t{static_cast<unsigned char>(in[offset + i])} << (8 * i);
  }
  return value;
}

}  // namespace

std::optional<Frame> ParseFrame(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  const auto kind_byte = static_cast<std::uint8_t>(bytes[0]);
  if (kind_byte < static_cast<std::uint8_t>(FrameKind::kHello) ||
      kind_byte > static_cast<std::uint8_t>(FrameKind::kCreditWanted)) {
    return std::nullopt;
  }
  Frame frame;
  frame.kind = static_cast<FrameKind>(kind_byte);
  frame.body = bytes.substr(1);
  switch (frame.kind) {
    case FrameKind::kHello:
      if (bytes.size() != kHelloSize || Get(bytes, 1, 4) != kMagic) return std::nullopt;
      frame.hello.version = static_cast<std::uint16_t>(Get(bytes, 5, 2));
      frame.hello.connector_sends = Get(bytes, 7, 1) != 0;
      frame.hello.fingerprint = Get(bytes, 8, 8);
      frame.hello.codec_id = Get(bytes, 16, 8);
      return frame;
    case FrameKind::kCredit:
      if (bytes.size() != kCreditSize) return std::nullopt;
      frame.credit = Get(bytes, 1, 8);
      return frame;
    case FrameKind::kData:
    case FrameKind::kReturn:
    case FrameKind::kRefuse:
    case FrameKind::kWelcome:  // the binder's Hello (parsed by the connector)
      return frame;
    default:
      // Control frames carry nothing.
      if (bytes.size() != 1) return std::nullopt;
      return frame;
  }
}

std::string EncodeHello(const Hello& hello) {
  std::string out;
  out.reserve(kHelloSize);
  out.push_back(static_cast<char>(FrameKind::kHello));
  Put(out, kMagic, 4);
  Put(out, hello.version, 2);
  Put(out, hello.connector_sends ? 1 : 0, 1);
  Put(out, hello.fingerprint, 8);
  Put(out, hello.codec_id, 8);
  return out;
}

std::string EncodeCredit(std::uint64_t bytes) {
  std::string out;
  out.reserve(kCreditSize);
  out.push_back(static_cast<char>(FrameKind::kCredit));
  Put(out, bytes, 8);
  return out;
}

std::string EncodeFrame(FrameKind kind, std::string_view body) {
  std::string out;
  out.reserve(1 + body.size());
  out.push_back(static_cast<char>(kind));
  out.append(body);
  return out;
}

}  // namespace buffered_pipe::network_internal
