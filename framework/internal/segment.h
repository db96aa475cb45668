// Segment: one mapping of a pipe's shared memory, created or opened and
// validated. It owns the mapping (and, for named segments, a descriptor used
// to check the name still refers to it). It knows the layout (layout.h) but
// no protocol.
//
// Errors: InvalidArgument for a bad geometry or name, or a segment of another
// layout version or kind; NotFound / AlreadyExists / PermissionDenied for
// names; ResourceExhausted when the memory cannot be reserved; DataLoss when
// a segment's header is inconsistent with itself or with its file.
// Thread-safety: immutable after construction; the shared memory it maps is
// accessed only through atomics by the protocol code.

#ifndef BUFFERED_PIPE_INTERNAL_SEGMENT_H_
#define BUFFERED_PIPE_INTERNAL_SEGMENT_H_

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/internal/layout.h"

namespace buffered_pipe::internal {

// Geometry of one ring, as requested by a factory or read from a header.
struct RingSpec {
  std::uint64_t block_size = kGenericBlockSize;
  std::uint64_t block_count = 0;
  std::uint64_t capacity_blocks = 0;
  std::uint64_t max_frame_blocks = 0;
  std::uint64_t record_size = 0;
  std::uint64_t type_fingerprint = 0;
  std::uint64_t codec_id = 0;

  friend bool operator==(const RingSpec&, const RingSpec&) = default;
};

struct SegmentSpec {
  SegmentKind kind = SegmentKind::kGeneric;
  std::uint32_t ring_count = 1;
  std::uint32_t flags = 0;  // SegmentFlag bits
  // Size of the process table: how many processes may attach at once.
  std::uint32_t process_slot_count = kMaxProcessSlotCount;
  RingSpec rings[kMaxRings];
};

// Geometry of a generic ring for a requested buffer size (bytes).
absl::StatusOr<RingSpec> GenericRingSpec(std::uint64_t buffer_size);
// Geometry of a static ring for `object_count` records of `object_size` bytes,
// each slot aligned to `alignment` (a power of two, at least 8).
absl::StatusOr<RingSpec> StaticRingSpec(std::uint64_t object_size, std::uint64_t object_count,
                                        std::uint64_t alignment = 8);

// Addresses of one ring inside a mapping.
struct RingView {
  RingControl* control = nullptr;
  Cell* cells = nullptr;
  std::byte* data = nullptr;
  RingSpec spec;
};

// Checks a pipe name: 1 to 200 characters from [A-Za-z0-9._-], not starting
// with '.'. The shared memory object is /dev/shm/<name>.
absl::Status ValidatePipeName(const std::string& name);

// Whose /dev/shm file a named segment may be. /dev/shm is writable by every
// user, so any of them can create a name first ("squat" it): a process that
// opened such a file would send to the squatter or receive its forgeries.
struct OwnerPolicy {
  enum class Kind {
    kSelfOrRoot,  // the caller's effective uid, or root (the default)
    kUser,        // `uid`, the caller, or root
    kAny,         // any owner (inspection tools; explicit opt-in)
  };
  Kind kind = Kind::kSelfOrRoot;
  uid_t uid = 0;
  bool Trusts(uid_t owner) const;
};

// The PermissionDenied of a named pipe whose file `owner` is not trusted.
absl::Status UntrustedOwnerError(const std::string& name, uid_t owner);

// How long an opener waits for a named segment's creator to publish it;
// a name left unpublished for longer counts as abandoned.
inline constexpr std::chrono::seconds kInitialisationTimeout{2};

class Segment {
 public:
  // A segment that no other process can open by name; shared by fork, and,
  // with `keep_descriptor`, by handing descriptor() to another process
  // (SCM_RIGHTS, or inheritance across exec), which maps it with
  // OpenDescriptor. Keeping the descriptor costs one file descriptor for the
  // segment's life in this process and in every child forked from it.
  static absl::StatusOr<Segment> CreateAnonymous(const SegmentSpec& spec,
                                                 bool keep_descriptor = false);
  // A segment under `name`, created exclusively with permission `mode`, and
  // not yet published: openers of the name wait (OpenNamed, up to its
  // initialisation timeout) until the creator calls Publish(), so that the
  // creator can take its slot and count its ends first. Otherwise a receiver
  // opening the name in between would find no sender and report end of
  // stream. A creator that dies before publishing leaves a name that openers
  // refuse as never initialised, as one that dies during initialisation does,
  // until RemoveNameIfNeverPublished takes it away.
  static absl::StatusOr<Segment> CreateNamed(const std::string& name, const SegmentSpec& spec,
                                             mode_t mode);
  // Maps an existing named segment after validating it. PermissionDenied if
  // the file's owner (fstat of the descriptor that is mapped, so no race
  // between check and use) is not trusted by `owners`.
  static absl::StatusOr<Segment> OpenNamed(const std::string& name,
                                           const OwnerPolicy& owners = {});
  // Maps the segment behind `descriptor` (another process's descriptor(),
  // passed to this one), validated as untrusted input exactly as OpenNamed
  // validates a named one. Takes ownership of `descriptor`: it is closed
  // when the segment is destroyed, or at once if opening fails. Its owner is
  // not checked: holding the descriptor is the permission.
  static absl::StatusOr<Segment> OpenDescriptor(int descriptor);
  // Removes `name` if it is a segment that was never published and whose
  // file has not changed for kInitialisationTimeout: its creator died (or
  // stalled) between CreateNamed and Publish, and no opener would ever take
  // it. Only an empty file or one holding our header complete but for
  // `magic` counts (a zero-filled file may be another program's, and so may
  // be a creator's killed while it reserved the memory: left, for
  // RemoveNamedPipe). Returns whether it removed the name. A published
  // segment, any other file, or one changed more recently is left alone;
  // PermissionDenied if the file's owner is not trusted by `owners`.
  static absl::StatusOr<bool> RemoveNameIfNeverPublished(const std::string& name,
                                                         const OwnerPolicy& owners);

  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  SegmentHeader& header() const { return *reinterpret_cast<SegmentHeader*>(base_); }
  const SegmentSpec& spec() const { return spec_; }
  // `owner` is 1..process_slot_count().
  ProcessSlot& slot(std::uint32_t owner) const { return slots_[owner - 1]; }
  std::uint32_t process_slot_count() const { return spec_.process_slot_count; }
  // Whether `owner` (read from shared memory, so untrusted) names a slot.
  bool IsOwnerId(std::uint32_t owner) const {
    return owner >= 1 && owner <= spec_.process_slot_count;
  }
  RingView ring(std::uint32_t index) const { return rings_[index]; }
  std::uint64_t instance_id() const { return instance_id_; }
  std::size_t size() const { return size_; }
  const std::string& name() const { return name_; }
  bool is_named() const { return !name_.empty(); }
  // The descriptor this segment keeps (named segments, and anonymous ones
  // created with keep_descriptor or opened by OpenDescriptor), or -1. It
  // stays open as long as the segment; duplicate it to hand it on.
  int descriptor() const { return descriptor_; }
  // Owner of a named segment's file (the caller's uid for anonymous ones).
  uid_t owner_uid() const { return owner_uid_; }

  // Lets openers of a named segment in (see CreateNamed). Idempotent; a
  // segment created anonymously or opened is published already.
  void Publish() const;

  // Removes the name if it still refers to this segment (same inode).
  // Returns true if it removed it.
  bool UnlinkNameIfOurs() const;

 private:
  Segment() = default;
  absl::Status MapAndBind(int descriptor, std::size_t size);
  // Validates and maps an existing segment (owning `descriptor`); `label`
  // names it in errors. `name` is empty for a segment opened by descriptor.
  static absl::StatusOr<Segment> MapExisting(int descriptor, const std::string& name,
                                             const std::string& label, const OwnerPolicy& owners);

  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  int descriptor_ = -1;  // see descriptor()
  uid_t owner_uid_ = geteuid();
  std::string name_;
  std::uint64_t instance_id_ = 0;
  SegmentSpec spec_;
  ProcessSlot* slots_ = nullptr;
  RingView rings_[kMaxRings];
};

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_SEGMENT_H_
