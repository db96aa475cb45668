// Making and opening the attachments behind every kind of pipe (generic,
// static, typed): anonymous segments, named segments with their creation
// rules, and stale-name detection. Shared so that no pipe kind repeats it.

#ifndef BUFFERED_PIPE_INTERNAL_FACTORY_H_
#define BUFFERED_PIPE_INTERNAL_FACTORY_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/internal/attachment.h"
#include "buffered_pipe/internal/segment.h"

namespace buffered_pipe::internal {

struct NamedCreation {
  mode_t mode = 0600;
  bool remove_when_unused = true;
  bool replace_stale = true;
  // Whose stale name may be reclaimed (another user's is PermissionDenied).
  OwnerPolicy owners;
};

// `keep_descriptor`: see Segment::CreateAnonymous.
absl::StatusOr<std::shared_ptr<Attachment>> CreateAnonymousAttachment(
    const SegmentSpec& spec, bool keep_descriptor = false);

// Not yet published (see Segment::CreateNamed): the caller opens the
// creator's ends, then publishes; Endpoint::OpenPair does both.
absl::StatusOr<std::shared_ptr<Attachment>> CreateNamedAttachment(const std::string& name,
                                                                  SegmentSpec spec,
                                                                  const NamedCreation& creation);

// Opens a named segment and checks that it is of `kind` and passes `check`
// (if any), all before this process attaches: a refused open leaves no trace
// in the segment.
absl::StatusOr<std::shared_ptr<Attachment>> OpenNamedAttachment(
    const std::string& name, SegmentKind kind,
    const std::function<absl::Status(const SegmentSpec&)>& check = {},
    const OwnerPolicy& owners = {});

// Opens the segment behind `descriptor` (taking ownership of it, see
// Segment::OpenDescriptor) with the same checks as OpenNamedAttachment.
absl::StatusOr<std::shared_ptr<Attachment>> OpenDescriptorAttachment(int descriptor,
                                                                     SegmentKind kind);

// A named segment is stale when processes used it and every one of them is
// dead (so nobody will ever close it normally and remove its name).
// PermissionDenied if its owner is not trusted by `owners`.
absl::StatusOr<bool> IsNamedSegmentStale(const std::string& name, const OwnerPolicy& owners = {});

absl::Status RemoveSegmentName(const std::string& name);

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_FACTORY_H_
