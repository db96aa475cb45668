// The frames network ends exchange over ZeroMQ, and their parsing.
//
// Every frame is one ZeroMQ message: a kind byte, then the kind's fields
// (little-endian), then, for kData and kReturn, the payload. The binding end
// is a ROUTER socket (its frames are preceded by the peer's routing id, which
// ZeroMQ adds and strips); each connecting end is a DEALER with one peer.
//
//   kind            from       fields            meaning
//   --------------  ---------  ----------------  ---------------------------------
//   kHello          connector  Hello             first frame of a connector
//   kWelcome        binder     its own kHello    the binder accepted the Hello
//   kRefuse         binder     reason text       the binder refused it
//   kData           sender     payload           one whole message
//   kCredit         receiver   u64 bytes         the sender may send that much more
//   kSenderClose    sender     -                 no more kData will come
//   kArrived        receiver   -                 every kData before kSenderClose
//                                                has arrived (answers it)
//   kReceiverClose  receiver   -                 send no more kData to me
//   kSenderFlushed  sender     -                 no kData follows (answers kReceiverClose)
//   kReturn         receiver   payload           a kData it will never deliver
//   kReceiverGone   receiver   -                 after its kReturns: forget me
//   kCreditWanted   sender     -                 I wait for credit: credit what you
//                                                took once you hold nothing of mine
//
// Frames come from the network: ParseFrame checks every length before
// reading, and an unknown or malformed frame is reported, never trusted.

#ifndef BUFFERED_PIPE_NETWORK_INTERNAL_PROTOCOL_H_
#define BUFFERED_PIPE_NETWORK_INTERNAL_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace buffered_pipe::network_internal {

inline constexpr std::uint32_t kMagic = 0x544e5042;  // "BPNT"
inline constexpr std::uint16_t kProtocolVersion = 1;

enum class FrameKind : std::uint8_t {
  kHello = 1,
  kWelcome,
  kRefuse,
  kData,
  kCredit,
  kSenderClose,
  kArrived,
  kReceiverClose,
  kSenderFlushed,
  kReturn,
  kReceiverGone,
  kCreditWanted,
};

// What a connector says about itself.
struct Hello {
  std::uint16_t version = kProtocolVersion;
  bool connector_sends = false;  // the connector is a sending end
  std::uint64_t fingerprint = 0;  // of its message type; 0: untyped
  std::uint64_t codec_id = 0;
};

// A parsed frame. `body` views the frame's bytes after the kind byte: the
// payload of kData / kReturn, the reason of kRefuse, the binder's kHello
// frame in a kWelcome.
struct Frame {
  FrameKind kind = FrameKind::kData;
  std::string_view body;
  Hello hello;                // kHello
  std::uint64_t credit = 0;   // kCredit
};

// nullopt: too short, an unknown kind, or a kHello with another magic.
std::optional<Frame> ParseFrame(std::string_view bytes);

std::string EncodeHello(const Hello& hello);
std::string EncodeCredit(std::uint64_t bytes);
// A frame of `kind` with `body` after the kind byte.
std::string EncodeFrame(FrameKind kind, std::string_view body = {});

}  // namespace buffered_pipe::network_internal

#endif  // BUFFERED_PIPE_NETWORK_INTERNAL_PROTOCOL_H_
