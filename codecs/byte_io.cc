#include "buffered_pipe/codecs/byte_io.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace buffered_pipe {

// --- ByteWriter --------------------------------------------------------------

ByteWriter::ByteWriter(OutgoingMessage& message, std::uint64_t announced_size)
    : target_(Target::kMessage), message_(&message), announced_(announced_size) {
  const std::span<std::byte> room = message.writable_span();
  span_begin_ = cursor_ = room.data();
  limit_ = room.data() + room.size();
}

ByteWriter::ByteWriter(std::string& target) : target_(Target::kString), string_(&target) {}

ByteWriter::ByteWriter(std::string& buffer, std::size_t limit) : target_(Target::kBounded) {
  if (buffer.size() < limit) buffer.resize(limit);
  span_begin_ = cursor_ = reinterpret_cast<std::byte*>(buffer.data());
  limit_ = span_begin_ + limit;
}

void ByteWriter::Flush() {
  if (target_ != Target::kMessage) return;
  const auto in_place = static_cast<std::size_t>(cursor_ - span_begin_);
  if (in_place != 0) {
    message_->advance(in_place);
    flushed_ += in_place;
  }
  span_begin_ = cursor_ = limit_ = nullptr;
}

void ByteWriter::Fail(absl::Status status) {
  status_ = std::move(status);
  span_begin_ = cursor_ = limit_ = nullptr;
  // Withdraw at once so that the ring space is not held until the caller
  // gets around to it (the message would be withdrawn on destruction anyway).
  if (message_ != nullptr) message_->abort();
}

void ByteWriter::WriteSlow(const void* data, std::size_t size) {
  if (!status_.ok()) return;
  if (target_ == Target::kBounded) {
    overflowed_ = true;
    cursor_ = limit_;  // every later write comes here and is ignored
    return;
  }
  if (target_ == Target::kString) {
    string_->append(static_cast<const char*>(data), size);
    flushed_ += size;
    return;
  }
  Flush();
  if (announced_ != kUnknownMessageSize && size > announced_ - flushed_) {
    Fail(absl::InvalidArgumentError(absl::StrCat("the codec wrote more than the ", announced_,
                                                 " bytes its EncodedSize announced")));
    return;
  }
  if (absl::Status status = message_->write(std::span(static_cast<const std::byte*>(data), size));
      !status.ok()) {
    Fail(std::move(status));
    return;
  }
  flushed_ += size;
  const std::span<std::byte> room = message_->writable_span();
  span_begin_ = cursor_ = room.data();
  limit_ = room.data() + room.size();
}

absl::Status ByteWriter::Finish() {
  Flush();
  if (!status_.ok()) return status_;
  if (target_ == Target::kMessage && announced_ != kUnknownMessageSize && flushed_ != announced_) {
    Fail(absl::InvalidArgumentError(absl::StrCat("the codec wrote ", flushed_,
                                                 " bytes but its EncodedSize announced ",
                                                 announced_)));
  }
  return status_;
}

// --- ByteReader --------------------------------------------------------------

ByteReader::ByteReader(std::span<const std::byte> bytes)
    : total_(bytes.size()),
      piece_begin_(bytes.data()),
      cursor_(bytes.data()),
      end_(bytes.data() + bytes.size()) {}

ByteReader::ByteReader(std::string_view bytes) : ByteReader(std::as_bytes(std::span(bytes))) {}

ByteReader::ByteReader(IncomingMessage& message) : message_(&message), total_(message.size()) {
  if (total_ != kUnknownMessageSize) return;  // pieces are taken on demand
  // The sender did not announce a size: nothing bounds a length prefix but
  // the message itself, so read it whole first (it grows with what arrives).
  message_ = nullptr;
  total_ = 0;
  for (;;) {
    absl::StatusOr<std::span<const std::byte>> piece = message.next_piece();
    if (!piece.ok()) {
      status_ = piece.status();
      aborted_ = absl::IsAborted(status_);
      gathered_.clear();
      break;
    }
    if (piece->empty()) break;
    gathered_.append(reinterpret_cast<const char*>(piece->data()), piece->size());
  }
  const auto* data = reinterpret_cast<const std::byte*>(gathered_.data());
  total_ = gathered_.size();
  piece_begin_ = cursor_ = data;
  end_ = data + gathered_.size();
}

absl::StatusOr<bool> ByteReader::NextPiece() {
  if (!status_.ok()) return status_;
  if (message_ == nullptr) return false;
  consumed_ += static_cast<std::uint64_t>(end_ - piece_begin_);
  piece_begin_ = cursor_ = end_ = nullptr;
  absl::StatusOr<std::span<const std::byte>> piece = message_->next_piece();
  if (!piece.ok()) {
    status_ = piece.status();
    aborted_ = absl::IsAborted(status_);
    message_ = nullptr;
    return status_;
  }
  if (piece->empty()) {
    message_ = nullptr;  // the end of the message
    return false;
  }
  if (piece->size() > total_ - consumed_) {
    status_ = absl::DataLossError(absl::StrCat("the message carries more than the ", total_,
                                               " bytes its sender announced"));
    message_ = nullptr;
    return status_;
  }
  piece_begin_ = cursor_ = piece->data();
  end_ = piece->data() + piece->size();
  return true;
}

absl::Status ByteReader::Truncated(std::uint64_t wanted) const {
  if (bytes_read() < total_) {
    return absl::DataLossError(absl::StrCat("the message ended after ", bytes_read(),
                                            " bytes but its sender announced ", total_));
  }
  return absl::DataLossError(absl::StrCat("truncated input: ", wanted,
                                          " more bytes needed after its ", total_, " bytes"));
}

absl::Status ByteReader::ReadSlow(std::byte* target, std::size_t size) {
  for (;;) {
    const std::size_t count = std::min(size, static_cast<std::size_t>(end_ - cursor_));
    if (count != 0) {
      std::memcpy(target, cursor_, count);
      cursor_ += count;
      target += count;
      size -= count;
    }
    if (size == 0) return absl::OkStatus();
    absl::StatusOr<bool> more = NextPiece();
    if (!more.ok()) return more.status();
    if (!*more) return Truncated(size);
  }
}

absl::StatusOr<std::span<const std::byte>> ByteReader::ReadPiece(std::size_t max_size) {
  if (max_size == 0) return std::span<const std::byte>();
  if (cursor_ == end_) {
    absl::StatusOr<bool> more = NextPiece();
    if (!more.ok()) return more.status();
    if (!*more) return std::span<const std::byte>();
  }
  const std::size_t count = std::min(max_size, static_cast<std::size_t>(end_ - cursor_));
  const std::span<const std::byte> piece(cursor_, count);
  cursor_ += count;
  return piece;
}

absl::Status ByteReader::Finish() {
  if (!status_.ok()) return status_;
  if (cursor_ == end_) {
    absl::StatusOr<bool> more = NextPiece();
    if (!more.ok()) return more.status();
    if (!*more && bytes_read() == total_) return absl::OkStatus();
    if (!*more) return Truncated(0);
  }
  return absl::DataLossError(absl::StrCat(remaining(), " bytes left over after the value (",
                                          bytes_read(), " of ", total_, " bytes were read)"));
}

}  // namespace buffered_pipe
