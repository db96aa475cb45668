// A codec of your own, for your own type, written outside the library.
//
//   bazel run //examples:custom_codec
//
// geo::Position has no cereal serialize function and is not trivially
// copyable (it holds a std::string), so buffered_pipe has no codec for it:
// `sender.send(position)` would not compile, and the error would say how to
// add one. Here we add one: PositionCodec, a compact format (fixed-point
// coordinates, a length-prefixed label) that validates what it decodes, and
// we make it the type's default codec by specialising
// buffered_pipe::DefaultCodec. Nothing in the library changes.

#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <thread>

#include "buffered_pipe/buffered_pipe.h"

namespace geo {

struct Position {
  double latitude = 0;   // degrees, -90..90
  double longitude = 0;  // degrees, -180..180
  std::string label;
};

// [latitude * 1e7: int32][longitude * 1e7: int32][label length: uint16][label]
// (host byte order: both ends run on this machine).
struct PositionCodec {
  // Stable and unique: a typed named pipe records it, and refuses to be
  // opened with another codec.
  static constexpr std::uint64_t kId = buffered_pipe::CodecIdFromName("example.geo.Position/1");
  static constexpr std::string_view kName = "geo position v1";

  static constexpr std::size_t kHeaderSize = 4 + 4 + 2;
  static constexpr double kScale = 1e7;

  // Exactly what Encode writes (the pipe reserves that much in its ring).
  static std::uint64_t EncodedSize(const Position& position) {
    return kHeaderSize + position.label.size();
  }

  static absl::Status Encode(const Position& position, buffered_pipe::ByteWriter& out) {
    if (position.label.size() > UINT16_MAX) {
      return absl::InvalidArgumentError("a label is at most 65535 bytes");
    }
    if (!(std::abs(position.latitude) <= 90) || !(std::abs(position.longitude) <= 180)) {
      return absl::InvalidArgumentError("coordinates out of range");
    }
    const auto latitude = static_cast<std::int32_t>(std::lround(position.latitude * kScale));
    const auto longitude = static_cast<std::int32_t>(std::lround(position.longitude * kScale));
    const auto length = static_cast<std::uint16_t>(position.label.size());
    // Writes go straight into the pipe's ring; errors (a broken pipe, a
    // deadline) are collected by the writer and reported by send().
    out.Write(&latitude, sizeof latitude);
    out.Write(&longitude, sizeof longitude);
    out.Write(&length, sizeof length);
    out.Write(position.label);
    return absl::OkStatus();
  }

  // The input is untrusted: check everything, never allocate by a length
  // before checking it against what is left.
  static absl::StatusOr<Position> Decode(buffered_pipe::ByteReader& in) {
    std::int32_t latitude = 0;
    std::int32_t longitude = 0;
    std::uint16_t length = 0;
    if (absl::Status s = in.Read(&latitude, sizeof latitude); !s.ok()) return s;
    if (absl::Status s = in.Read(&longitude, sizeof longitude); !s.ok()) return s;
    if (absl::Status s = in.Read(&length, sizeof length); !s.ok()) return s;
    if (length != in.remaining()) {
      return absl::DataLossError("the label length does not match the message");
    }
    Position position;
    position.latitude = latitude / kScale;
    position.longitude = longitude / kScale;
    if (std::abs(position.latitude) > 90 || std::abs(position.longitude) > 180) {
      return absl::DataLossError("coordinates out of range");
    }
    position.label.resize(length);
    if (absl::Status s = in.Read(position.label.data(), length); !s.ok()) return s;
    return position;
  }
};

}  // namespace geo

// The plug-in point: geo::Position now travels with PositionCodec wherever
// no other codec is named. (Without this, name it per call:
// sender.send<geo::Position, geo::PositionCodec>(position), or per pipe:
// TypedPipe<geo::Position, geo::PositionCodec>(options).)
template <>
struct buffered_pipe::DefaultCodec<geo::Position> {
  using type = geo::PositionCodec;
};

int main() {
  // A typed pipe: its ends take and give geo::Position only.
  auto typed = buffered_pipe::TypedPipe<geo::Position>({.buffer_size = 4096});
  if (!typed.ok()) {
    std::cerr << typed.status() << "\n";
    return 1;
  }
  auto& receiver = typed->first;
  auto& sender = typed->second;
  absl::Status refused;
  std::thread producer([&sender, &refused] {
    for (const geo::Position& position :
         {geo::Position{59.9139, 10.7522, "Oslo"}, geo::Position{-33.8688, 151.2093, "Sydney"},
          geo::Position{0, 0, ""}}) {
      if (absl::Status status = sender.send(position); !status.ok()) {
        std::cerr << "send: " << status << "\n";
      }
    }
    // The codec refuses to encode an invalid value: nothing is sent.
    refused = sender.send(geo::Position{91, 0, "nowhere"});
    (void)sender.close();
  });
  for (;;) {
    absl::StatusOr<geo::Position> position = receiver.recv();
    if (buffered_pipe::IsEndOfStream(position.status())) break;
    if (!position.ok()) {
      std::cerr << "recv: " << position.status() << "\n";
      return 1;
    }
    std::cout << "received \"" << position->label << "\" at " << position->latitude << ", "
              << position->longitude << "\n";
  }
  producer.join();
  std::cout << "sending latitude 91: " << refused << "\n";

  // On a generic pipe the same codec is used by send<T> / recv<T>; bytes that
  // are not a valid Position are reported as DataLoss, and consumed.
  auto generic = buffered_pipe::Pipe({.buffer_size = 4096});
  if (!generic.ok()) return 1;
  auto& generic_receiver = generic->first;
  auto& generic_sender = generic->second;
  (void)generic_sender.send_bytes("not a position");
  (void)generic_sender.send(geo::Position{48.8566, 2.3522, "Paris"});
  absl::StatusOr<geo::Position> bad = generic_receiver.recv<geo::Position>();
  std::cout << "garbage: " << bad.status() << "\n";
  absl::StatusOr<geo::Position> good = generic_receiver.recv<geo::Position>();
  if (!good.ok()) return 1;
  std::cout << "then \"" << good->label << "\"\n";
  return absl::IsDataLoss(bad.status()) ? 0 : 1;
}
