#include "buffered_pipe/pipe.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/descriptor_access.h"
#include "buffered_pipe/internal/factory.h"

namespace buffered_pipe {
namespace {

absl::StatusOr<internal::SegmentSpec> GenericSpec(const PipeOptions& options) {
  absl::StatusOr<internal::RingSpec> ring = internal::GenericRingSpec(options.buffer_size);
  if (!ring.ok()) return ring.status();
  internal::SegmentSpec spec;
  spec.kind = internal::SegmentKind::kGeneric;
  spec.ring_count = options.duplex ? 2 : 1;
  spec.process_slot_count = options.max_processes;
  spec.rings[0] = *ring;
  spec.rings[1] = options.duplex ? *ring : internal::RingSpec{};
  return spec;
}

}  // namespace

internal::NamedCreation pipe_internal::ToNamedCreation(const NamedPipeOptions& named) {
  return internal::NamedCreation{named.mode, named.remove_when_unused, named.replace_stale,
                                 named.trusted_owner.policy};
}

absl::StatusOr<std::pair<PipeEnd, PipeEnd>> PipeEnd::PairOf(
    absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment) {
  if (!attachment.ok()) return attachment.status();
  absl::StatusOr<std::pair<internal::Endpoint, internal::Endpoint>> ends =
      internal::Endpoint::OpenPair(std::move(*attachment));
  if (!ends.ok()) return ends.status();
  return std::pair<PipeEnd, PipeEnd>(PipeEnd(std::move(ends->first)),
                                     PipeEnd(std::move(ends->second)));
}

absl::StatusOr<std::pair<PipeEnd, PipeEnd>> Pipe(const PipeOptions& options) {
  absl::StatusOr<internal::SegmentSpec> spec = GenericSpec(options);
  if (!spec.ok()) return spec.status();
  return PipeEnd::PairOf(internal::CreateAnonymousAttachment(*spec));
}

absl::StatusOr<std::pair<PipeEnd, PipeEnd>> CreateNamedPipe(const std::string& name,
                                                            const PipeOptions& options,
                                                            const NamedPipeOptions& named) {
  absl::StatusOr<internal::SegmentSpec> spec = GenericSpec(options);
  if (!spec.ok()) return spec.status();
  return PipeEnd::PairOf(internal::CreateNamedAttachment(
      name, *spec, pipe_internal::ToNamedCreation(named)));
}

absl::StatusOr<PipeEnd> PipeEnd::OpenSide(
    absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment, Side side) {
  absl::StatusOr<internal::Endpoint> endpoint =
      internal::Endpoint::OpenSide(std::move(attachment), static_cast<int>(side));
  if (!endpoint.ok()) return endpoint.status();
  return PipeEnd(std::move(*endpoint));
}

absl::StatusOr<PipeEnd> OpenNamedPipe(const std::string& name, Side side,
                                      const OpenOptions& options) {
  return PipeEnd::OpenSide(internal::OpenNamedAttachment(name, internal::SegmentKind::kGeneric, {},
                                                         options.trusted_owner.policy),
                           side);
}

// --- Ends passed by descriptor (internal/descriptor_access.h) -----------------

absl::StatusOr<std::pair<PipeEnd, PipeEnd>> internal::DescriptorAccess::Pipe(
    const PipeOptions& options) {
  absl::StatusOr<internal::SegmentSpec> spec = GenericSpec(options);
  if (!spec.ok()) return spec.status();
  return PipeEnd::PairOf(internal::CreateAnonymousAttachment(*spec, /*keep_descriptor=*/true));
}

int internal::DescriptorAccess::Descriptor(const PipeEnd& end) {
  if (!end.is_open()) return -1;
  return end.endpoint_.attachment()->segment().descriptor();
}

absl::StatusOr<PipeEnd> internal::DescriptorAccess::OpenPipeEnd(int descriptor, Side side) {
  return PipeEnd::OpenSide(
      internal::OpenDescriptorAttachment(descriptor, internal::SegmentKind::kGeneric), side);
}

absl::Status RemoveNamedPipe(const std::string& name) { return internal::RemoveSegmentName(name); }

std::uint64_t PipeEnd::buffer_size() const {
  // Both rings of a duplex pipe have the same size.
  absl::StatusOr<internal::Ring*> ring =
      endpoint_.can_send() ? endpoint_.SendRing() : endpoint_.ReceiveRing();
  if (!ring.ok()) return 0;
  return (*ring)->spec().block_count * (*ring)->spec().block_size;
}

absl::Status PipeEnd::send_bytes_until(std::string_view message, const Deadline& deadline) {
  absl::StatusOr<internal::Ring*> ring = endpoint_.SendRing();
  if (!ring.ok()) return ring.status();
  return (*ring)->Send(message.data(), message.size(), endpoint_.Context(deadline));
}

absl::StatusOr<OutgoingMessage> PipeEnd::begin_send(std::uint64_t size, const Deadline& deadline) {
  absl::StatusOr<internal::Ring*> ring = endpoint_.SendRing();
  if (!ring.ok()) return ring.status();
  absl::StatusOr<internal::SendTransaction> transaction =
      (*ring)->BeginSend(size, endpoint_.Context(deadline));
  if (!transaction.ok()) return transaction.status();
  return OutgoingMessage(std::move(*transaction));
}

absl::StatusOr<IncomingMessage> PipeEnd::begin_recv(const Deadline& deadline) {
  absl::StatusOr<internal::Ring*> ring = endpoint_.ReceiveRing();
  if (!ring.ok()) return ring.status();
  absl::StatusOr<internal::PartialReceive> message =
      (*ring)->BeginReceiveResuming(endpoint_.Context(deadline));
  if (!message.ok()) return message.status();
  return IncomingMessage(std::move(*message));
}

absl::Status PipeEnd::recv_bytes_visiting(
    absl::FunctionRef<void(std::span<const std::byte>)> visit, std::string& scratch,
    const Deadline& deadline) {
  absl::StatusOr<internal::Ring*> ring = endpoint_.ReceiveRing();
  if (!ring.ok()) return ring.status();
  return (*ring)->ReceiveVisiting(visit, scratch, endpoint_.Context(deadline));
}

absl::Status PipeEnd::recv_bytes_into(std::string& message, const Deadline& deadline) {
  absl::StatusOr<internal::Ring*> ring = endpoint_.ReceiveRing();
  if (!ring.ok()) return ring.status();
  return (*ring)->ReceiveInto(message, endpoint_.Context(deadline));
}

absl::Status PipeEnd::recv_bytes_into(std::span<std::byte> message, const Deadline& deadline) {
  absl::StatusOr<internal::Ring*> ring = endpoint_.ReceiveRing();
  if (!ring.ok()) return ring.status();
  return (*ring)->ReceiveExactly(message.data(), message.size(), endpoint_.Context(deadline));
}

absl::StatusOr<std::string> PipeEnd::recv_bytes_until(const Deadline& deadline) {
  std::string message;
  if (absl::Status status = recv_bytes_into(message, deadline); !status.ok()) return status;
  return message;
}

}  // namespace buffered_pipe

// --- Typed messages (see codecs/codec.h) -------------------------------------

namespace buffered_pipe {
namespace {

bool IsUntyped(std::uint64_t fingerprint, std::uint64_t codec_id) {
  return fingerprint == 0 && codec_id == 0;
}

std::string DescribeMessageType(std::uint64_t fingerprint, std::uint64_t codec_id) {
  if (IsUntyped(fingerprint, codec_id)) return "untyped (bytes of any type)";
  return absl::StrCat("message type ", absl::Hex(fingerprint, absl::kZeroPad16), " with codec id ",
                      codec_id);
}

absl::Status CheckRingMessageType(const std::string& name, const internal::RingSpec& ring,
                                  PipeEnd::MessageType expected, std::string_view direction,
                                  std::string_view expected_description) {
  if (ring.type_fingerprint == expected.fingerprint && ring.codec_id == expected.codec_id) {
    return absl::OkStatus();
  }
  const char* difference = IsUntyped(ring.type_fingerprint, ring.codec_id)
                               ? "it was not created as a typed pipe"
                           : ring.type_fingerprint != expected.fingerprint
                               ? (ring.codec_id != expected.codec_id
                                      ? "another message type and another codec"
                                      : "another message type")
                               : "the same message type with another codec";
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot open \"", name, "\" for ", std::string(expected_description),
      ": the messages this end would ", std::string(direction), " are ", DescribeMessageType(ring.type_fingerprint, ring.codec_id), " (",
      difference, "); this end expects ",
      DescribeMessageType(expected.fingerprint, expected.codec_id)));
}

}  // namespace

PipeEnd::MessageType PipeEnd::sent_message_type() const {
  absl::StatusOr<internal::Ring*> ring = endpoint_.SendRing();
  if (!ring.ok()) return {};
  return {(*ring)->spec().type_fingerprint, (*ring)->spec().codec_id};
}

PipeEnd::MessageType PipeEnd::received_message_type() const {
  absl::StatusOr<internal::Ring*> ring = endpoint_.ReceiveRing();
  if (!ring.ok()) return {};
  return {(*ring)->spec().type_fingerprint, (*ring)->spec().codec_id};
}

absl::StatusOr<std::pair<PipeEnd, PipeEnd>> PipeEnd::MakeTypedPipe(
    const PipeOptions& options, const std::string* name, const NamedPipeOptions& named,
    MessageType first_end_receives, MessageType second_end_receives) {
  absl::StatusOr<internal::SegmentSpec> spec = GenericSpec(options);
  if (!spec.ok()) return spec.status();
  // Ring 0 carries messages from the second end to the first, ring 1 the
  // other way (see Endpoint::RolesOfSide).
  spec->rings[0].type_fingerprint = first_end_receives.fingerprint;
  spec->rings[0].codec_id = first_end_receives.codec_id;
  if (options.duplex) {
    spec->rings[1].type_fingerprint = second_end_receives.fingerprint;
    spec->rings[1].codec_id = second_end_receives.codec_id;
  }
  if (name == nullptr) return PairOf(internal::CreateAnonymousAttachment(*spec));
  return PairOf(internal::CreateNamedAttachment(
      *name, *spec,
      pipe_internal::ToNamedCreation(named)));
}

absl::StatusOr<PipeEnd> PipeEnd::OpenTypedNamedPipe(const std::string& name, Side side,
                                                    MessageType sends, MessageType receives,
                                                    std::string_view expected) {
  internal::EndRoles roles;
  absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment = internal::OpenNamedAttachment(
      name, internal::SegmentKind::kGeneric, [&](const internal::SegmentSpec& spec) {
        roles = internal::Endpoint::RolesOfSide(spec.ring_count, static_cast<int>(side));
        if (roles.send_ring >= 0) {
          if (absl::Status status = CheckRingMessageType(name, spec.rings[roles.send_ring], sends,
                                                         "send", expected);
              !status.ok()) {
            return status;
          }
        }
        if (roles.receive_ring >= 0) {
          return CheckRingMessageType(name, spec.rings[roles.receive_ring], receives, "receive",
                                      expected);
        }
        return absl::OkStatus();
      });
  if (!attachment.ok()) return attachment.status();
  absl::StatusOr<internal::Endpoint> endpoint =
      internal::Endpoint::Open(std::move(*attachment), roles);
  if (!endpoint.ok()) return endpoint.status();
  return PipeEnd(std::move(*endpoint));
}

}  // namespace buffered_pipe
