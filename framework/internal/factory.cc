#include "buffered_pipe/internal/factory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace buffered_pipe::internal {

absl::StatusOr<std::shared_ptr<Attachment>> CreateAnonymousAttachment(const SegmentSpec& spec,
                                                                      bool keep_descriptor) {
  absl::StatusOr<Segment> segment = Segment::CreateAnonymous(spec, keep_descriptor);
  if (!segment.ok()) return segment.status();
  return Attachment::Attach(std::move(*segment));
}

namespace {

bool IsStale(const Segment& segment) {
  bool used = false;
  for (std::uint32_t owner = 1; owner <= segment.process_slot_count(); ++owner) {
    const ProcessSlot& slot = segment.slot(owner);
    if (slot_state::Tag(slot.state.load(std::memory_order_acquire)) == SlotTag::kFree) continue;
    used = true;
    if (IsSlotOccupantAlive(slot, segment.size())) return false;
  }
  return used;
}

// Attaches to an opened `segment` if it is of `kind` and passes `check` (if
// any): a refused open leaves no trace in the segment. `label` names it.
absl::StatusOr<std::shared_ptr<Attachment>> AttachIfKind(
    absl::StatusOr<Segment> segment, SegmentKind kind, const std::string& label,
    const std::function<absl::Status(const SegmentSpec&)>& check) {
  if (!segment.ok()) return segment.status();
  if (segment->spec().kind != kind) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, " is a ", segment->spec().kind == SegmentKind::kStatic ? "static" : "generic",
        " pipe, not a ", kind == SegmentKind::kStatic ? "static" : "generic", " one"));
  }
  if (check) {
    if (absl::Status status = check(segment->spec()); !status.ok()) return status;
  }
  return Attachment::Attach(std::move(*segment));
}

}  // namespace

absl::StatusOr<bool> IsNamedSegmentStale(const std::string& name, const OwnerPolicy& owners) {
  absl::StatusOr<Segment> segment = Segment::OpenNamed(name, owners);
  if (!segment.ok()) return segment.status();
  return IsStale(*segment);
}

absl::StatusOr<std::shared_ptr<Attachment>> CreateNamedAttachment(const std::string& name,
                                                                  SegmentSpec spec,
                                                                  const NamedCreation& creation) {
  if (creation.remove_when_unused) spec.flags |= kRemoveWhenUnused;
  absl::StatusOr<Segment> segment = Segment::CreateNamed(name, spec, creation.mode);
  if (absl::IsAlreadyExists(segment.status()) && creation.replace_stale) {
    // Looked at whoever owns it (a file we cannot read is left alone: it
    // stays AlreadyExists), then judged by its owner: another user's file
    // under our name is not ours to reclaim, stale or not.
    absl::StatusOr<Segment> old = Segment::OpenNamed(name, OwnerPolicy{OwnerPolicy::Kind::kAny});
    if (old.ok()) {
      if (!creation.owners.Trusts(old->owner_uid())) {
        return UntrustedOwnerError(name, old->owner_uid());
      }
      if (IsStale(*old)) {
        old->UnlinkNameIfOurs();
        segment = Segment::CreateNamed(name, spec, creation.mode);
      }
    } else if (absl::IsDataLoss(old.status())) {
      // Not published within the opener's wait: perhaps its creator died
      // between CreateNamed and Publish, which leaves no slot to judge by.
      absl::StatusOr<bool> removed = Segment::RemoveNameIfNeverPublished(name, creation.owners);
      if (!removed.ok()) return removed.status();
      if (*removed) segment = Segment::CreateNamed(name, spec, creation.mode);
    }
  }
  if (!segment.ok()) return segment.status();
  return Attachment::Attach(std::move(*segment));
}

absl::StatusOr<std::shared_ptr<Attachment>> OpenNamedAttachment(
    const std::string& name, SegmentKind kind,
    const std::function<absl::Status(const SegmentSpec&)>& check, const OwnerPolicy& owners) {
  return AttachIfKind(Segment::OpenNamed(name, owners), kind, absl::StrCat("\"", name, "\""),
                      check);
}

absl::StatusOr<std::shared_ptr<Attachment>> OpenDescriptorAttachment(int descriptor,
                                                                     SegmentKind kind) {
  return AttachIfKind(Segment::OpenDescriptor(descriptor), kind,
                      absl::StrCat("descriptor ", descriptor), {});
}

absl::Status RemoveSegmentName(const std::string& name) {
  if (absl::Status status = ValidatePipeName(name); !status.ok()) return status;
  if (shm_unlink(("/" + name).c_str()) != 0) {
    const int error = errno;
    if (error == ENOENT) return absl::NotFoundError(absl::StrCat("no pipe named \"", name, "\""));
    if (error == EACCES || error == EPERM) {
      return absl::PermissionDeniedError(absl::StrCat("cannot remove \"", name, "\": ", std::strerror(error)));
    }
    return absl::UnavailableError(absl::StrCat("cannot remove \"", name, "\": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace buffered_pipe::internal
