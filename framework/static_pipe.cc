#include "buffered_pipe/static_pipe.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/descriptor_access.h"
#include "buffered_pipe/internal/factory.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/internal/segment.h"

namespace buffered_pipe {
namespace {

absl::StatusOr<internal::SegmentSpec> StaticSpec(const StaticPipeOptions& options) {
  const std::uint64_t alignment = options.record_alignment;
  if (alignment == 0 || !std::has_single_bit(alignment) || alignment > internal::kPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record_alignment ", alignment, " is not a power of two in [1, ", internal::kPageSize, "]"));
  }
  absl::StatusOr<internal::RingSpec> ring = internal::StaticRingSpec(
      options.object_size, options.object_count, std::max<std::uint64_t>(alignment, 8));
  if (!ring.ok()) return ring.status();
  internal::SegmentSpec spec;
  spec.kind = internal::SegmentKind::kStatic;
  spec.ring_count = options.duplex ? 2 : 1;
  spec.process_slot_count = options.max_processes;
  ring->type_fingerprint = options.record_type;
  spec.rings[0] = *ring;
  spec.rings[1] = options.duplex ? *ring : internal::RingSpec{};
  return spec;
}

// A static ring's frames are one record each; anything else in one came from
// a process that corrupted the shared memory.
absl::Status WrongFrameError(std::uint64_t announced, std::uint64_t carried,
                             std::uint64_t record_size) {
  return absl::DataLossError(absl::StrCat("shared memory is corrupted: a frame of a static pipe "
                                          "announced ",
                                          announced, " bytes and carried ", carried,
                                          ", not the record size ", record_size));
}

}  // namespace

// --- OutgoingRecord ------------------------------------------------------------

absl::Status OutgoingRecord::commit() {
  if (!transaction_.active()) return absl::InvalidArgumentError("no record is being sent");
  transaction_.Advance(slot_.size());
  slot_ = {};
  return transaction_.Commit();
}

void OutgoingRecord::abort() {
  transaction_.Abort();
  slot_ = {};
}

// --- StaticPipeEnd --------------------------------------------------------------

StaticPipeEnd::StaticPipeEnd(internal::Endpoint endpoint) : endpoint_(std::move(endpoint)) {
  // Every ring of a static segment has the geometry it was created with
  // (checked when the segment was opened); read it from whichever this end uses.
  absl::StatusOr<internal::Ring*> ring = endpoint_.SendRing();
  if (!ring.ok()) ring = endpoint_.ReceiveRing();
  if (!ring.ok()) return;
  const internal::RingSpec& spec = (*ring)->spec();
  object_size_ = spec.record_size;
  object_count_ = spec.capacity_blocks;
  record_type_ = spec.type_fingerprint;
  // The data region starts on a page boundary and slots are block_size apart.
  slot_alignment_ = std::min<std::uint64_t>(std::uint64_t{1} << std::countr_zero(spec.block_size),
                                            internal::kPageSize);
}

absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> StaticPipeEnd::PairOf(
    absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment) {
  if (!attachment.ok()) return attachment.status();
  absl::StatusOr<std::pair<internal::Endpoint, internal::Endpoint>> ends =
      internal::Endpoint::OpenPair(std::move(*attachment));
  if (!ends.ok()) return ends.status();
  return std::pair<StaticPipeEnd, StaticPipeEnd>(StaticPipeEnd(std::move(ends->first)),
                                                 StaticPipeEnd(std::move(ends->second)));
}

absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> StaticPipe(
    const StaticPipeOptions& options) {
  absl::StatusOr<internal::SegmentSpec> spec = StaticSpec(options);
  if (!spec.ok()) return spec.status();
  return StaticPipeEnd::PairOf(internal::CreateAnonymousAttachment(*spec));
}

absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> CreateNamedStaticPipe(
    const std::string& name, const StaticPipeOptions& options, const NamedPipeOptions& named) {
  absl::StatusOr<internal::SegmentSpec> spec = StaticSpec(options);
  if (!spec.ok()) return spec.status();
  return StaticPipeEnd::PairOf(internal::CreateNamedAttachment(
      name, *spec,
      pipe_internal::ToNamedCreation(named)));
}

absl::StatusOr<StaticPipeEnd> StaticPipeEnd::OpenSide(
    absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment, Side side) {
  absl::StatusOr<internal::Endpoint> endpoint =
      internal::Endpoint::OpenSide(std::move(attachment), static_cast<int>(side));
  if (!endpoint.ok()) return endpoint.status();
  return StaticPipeEnd(std::move(*endpoint));
}

absl::StatusOr<StaticPipeEnd> OpenNamedStaticPipe(const std::string& name, Side side,
                                                  const OpenOptions& options) {
  return StaticPipeEnd::OpenSide(internal::OpenNamedAttachment(
                                     name, internal::SegmentKind::kStatic, {},
                                     options.trusted_owner.policy),
                                 side);
}

// --- Ends passed by descriptor (internal/descriptor_access.h) -----------------

absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> internal::DescriptorAccess::StaticPipe(
    const StaticPipeOptions& options) {
  absl::StatusOr<internal::SegmentSpec> spec = StaticSpec(options);
  if (!spec.ok()) return spec.status();
  return StaticPipeEnd::PairOf(
      internal::CreateAnonymousAttachment(*spec, /*keep_descriptor=*/true));
}

int internal::DescriptorAccess::Descriptor(const StaticPipeEnd& end) {
  if (!end.is_open()) return -1;
  return end.endpoint_.attachment()->segment().descriptor();
}

absl::StatusOr<StaticPipeEnd> internal::DescriptorAccess::OpenStaticPipeEnd(int descriptor,
                                                                            Side side) {
  return StaticPipeEnd::OpenSide(
      internal::OpenDescriptorAttachment(descriptor, internal::SegmentKind::kStatic), side);
}

absl::StatusOr<OutgoingRecord> StaticPipeEnd::begin_send(const Deadline& deadline) {
  absl::StatusOr<internal::Ring*> ring = endpoint_.SendRing();
  if (!ring.ok()) return ring.status();
  // A record of exactly the record size is one frame of one block.
  absl::StatusOr<internal::SendTransaction> transaction =
      (*ring)->BeginSend(object_size_, endpoint_.Context(deadline));
  if (!transaction.ok()) return transaction.status();
  const std::span<std::byte> slot = transaction->WritableSpan();
  if (slot.size() != object_size_) {
    // A one-block frame never wraps, so this cannot happen with a sound ring.
    return absl::InternalError(absl::StrCat("a static pipe slot offers ", slot.size(),
                                            " contiguous bytes for a record of ", object_size_));
  }
  return OutgoingRecord(std::move(*transaction), slot);
}

absl::StatusOr<IncomingRecord> StaticPipeEnd::begin_recv(const Deadline& deadline) {
  absl::StatusOr<internal::Ring*> ring = endpoint_.ReceiveRing();
  if (!ring.ok()) return ring.status();
  absl::StatusOr<internal::ReceiveTransaction> transaction =
      (*ring)->BeginReceive(endpoint_.Context(deadline));
  if (!transaction.ok()) return transaction.status();
  // The first piece of a one-block frame is the whole record. It stays valid
  // (its slot is not reused) until the transaction is abandoned.
  absl::StatusOr<std::span<const std::byte>> piece = transaction->NextPiece();
  if (!piece.ok()) {
    // Aborted: a streamed message, which only a corrupted static ring holds.
    if (absl::IsAborted(piece.status())) {
      return absl::DataLossError(
          absl::StrCat("shared memory is corrupted: a static pipe carried a streamed message (",
                       piece.status().message(), ")"));
    }
    return piece.status();
  }
  if (transaction->size() != object_size_ || piece->size() != object_size_) {
    const std::uint64_t announced = transaction->size();
    transaction->Abandon();
    return WrongFrameError(announced, piece->size(), object_size_);
  }
  return IncomingRecord(std::move(*transaction), *piece);
}

absl::Status StaticPipeEnd::send_bytes_until(std::string_view record, const Deadline& deadline) {
  // Direction and state first, so that a closed end says so whatever the size.
  absl::StatusOr<internal::Ring*> ring = endpoint_.SendRing();
  if (!ring.ok()) return ring.status();
  if (record.size() != object_size_) {
    return absl::InvalidArgumentError(absl::StrCat("a record of this static pipe is ",
                                                   object_size_, " bytes, not ", record.size()));
  }
  // A record of exactly the record size is one frame of one block.
  return (*ring)->Send(record.data(), record.size(), endpoint_.Context(deadline));
}

absl::Status StaticPipeEnd::recv_bytes_into(std::span<std::byte> record,
                                            const Deadline& deadline) {
  absl::StatusOr<internal::Ring*> ring = endpoint_.ReceiveRing();
  if (!ring.ok()) return ring.status();
  if (record.size() != object_size_) {
    return absl::InvalidArgumentError(absl::StrCat("a record of this static pipe is ",
                                                   object_size_, " bytes; the target has ",
                                                   record.size()));
  }
  return (*ring)->ReceiveExactly(record.data(), record.size(), endpoint_.Context(deadline));
}

absl::StatusOr<std::string> StaticPipeEnd::recv_bytes_until(const Deadline& deadline) {
  std::string record(object_size_, '\0');
  if (absl::Status status =
          recv_bytes_into(std::as_writable_bytes(std::span<char>(record)), deadline);
      !status.ok()) {
    return status;
  }
  return record;
}

}  // namespace buffered_pipe
