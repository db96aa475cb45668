#include "buffered_pipe/internal/segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace buffered_pipe::internal {
namespace {

constexpr std::uint64_t kMaximumBlockCount = std::uint64_t{1} << 30;
constexpr std::uint64_t kMaximumSegmentSize = (std::uint64_t{1} << 38);

constexpr std::uint64_t RoundUp(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

std::string ErrnoText(int error) { return std::strerror(error); }

// Removes /dev/shm/<name> if it is still the file open as `descriptor`
// (same inode): never a file that replaced it meanwhile.
bool UnlinkNameIfSameFile(const std::string& name, int descriptor) {
  struct stat ours {};
  struct stat current {};
  const std::string path = "/dev/shm/" + name;
  if (fstat(descriptor, &ours) != 0 || stat(path.c_str(), &current) != 0) return false;
  if (ours.st_dev != current.st_dev || ours.st_ino != current.st_ino) return false;
  return shm_unlink(("/" + name).c_str()) == 0;
}

// Whether the file open as `descriptor` is a segment its creator began and
// never published: empty (killed right after creating the file), or our
// header, complete but for `magic` (killed before Publish). Any other
// content, a zero-filled file included, may be another program's: never.
bool LooksAbandonedByItsCreator(int descriptor, const struct stat& file) {
  const auto size = static_cast<std::uint64_t>(file.st_size);
  if (size == 0) return true;
  if (size < sizeof(SegmentHeader)) return false;
  void* address = mmap(nullptr, sizeof(SegmentHeader), PROT_READ, MAP_SHARED, descriptor, 0);
  if (address == MAP_FAILED) return false;
  const auto* header = static_cast<const SegmentHeader*>(address);
  // Acquire as in MapExisting: a publication now shows as a non-zero magic.
  const bool abandoned = header->magic.load(std::memory_order_acquire) == 0 &&
                         header->layout_version == kLayoutVersion &&
                         header->header_size == sizeof(SegmentHeader) &&
                         header->total_size == size;
  munmap(address, sizeof(SegmentHeader));
  return abandoned;
}

std::chrono::nanoseconds SinceLastChange(const struct stat& file) {
  const auto nanoseconds = [](const timespec& time) {
    return std::chrono::seconds(time.tv_sec) + std::chrono::nanoseconds(time.tv_nsec);
  };
  timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  // The creator's fchmod and ftruncate set ctime; writes set mtime.
  return nanoseconds(now) - std::max(nanoseconds(file.st_ctim), nanoseconds(file.st_mtim));
}

struct Offsets {
  std::uint64_t process_table = 0;
  std::uint64_t control[kMaxRings] = {};
  std::uint64_t cells[kMaxRings] = {};
  std::uint64_t data[kMaxRings] = {};
  std::uint64_t total = 0;
};

absl::Status ValidateRingSpec(const RingSpec& ring, SegmentKind kind) {
  const auto bad = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (ring.block_count == 0 || !std::has_single_bit(ring.block_count) ||
      ring.block_count > kMaximumBlockCount) {
    return bad("block count ", ring.block_count, " is not a power of two in [1, 2^30]");
  }
  if (ring.capacity_blocks == 0 || ring.capacity_blocks > ring.block_count) {
    return bad("capacity ", ring.capacity_blocks, " blocks is not in [1, ", ring.block_count, "]");
  }
  if (ring.max_frame_blocks == 0 || ring.max_frame_blocks > ring.capacity_blocks) {
    return bad("largest frame ", ring.max_frame_blocks, " blocks is not in [1, ",
               ring.capacity_blocks, "]");
  }
  if (ring.block_size < 8 || ring.block_size % 8 != 0 ||
      ring.block_size > kMaximumFramePayload) {
    return bad("block size ", ring.block_size, " is not a multiple of 8 in [8, 2^30)");
  }
  if (ring.max_frame_blocks > kMaximumFramePayload / ring.block_size) {
    return bad("largest frame of ", ring.max_frame_blocks, " blocks exceeds 2^30 bytes");
  }
  if (ring.block_size > kMaximumBufferSize / ring.block_count) {
    return bad("ring of ", ring.block_count, " blocks of ", ring.block_size,
               " bytes exceeds the maximum of 2^36 bytes");
  }
  if (kind == SegmentKind::kGeneric) {
    if (ring.block_size != kGenericBlockSize || ring.record_size != 0) {
      return bad("a generic ring has 64-byte blocks and no record size");
    }
  } else {
    if (ring.record_size == 0 || ring.record_size > ring.block_size ||
        ring.max_frame_blocks != 1) {
      return bad("a static ring has one record of at most one block per frame");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Offsets> ComputeOffsets(const SegmentSpec& spec) {
  if (spec.kind != SegmentKind::kGeneric && spec.kind != SegmentKind::kStatic) {
    return absl::InvalidArgumentError("unknown segment kind");
  }
  if (spec.ring_count < 1 || spec.ring_count > kMaxRings) {
    return absl::InvalidArgumentError("a segment has one or two rings");
  }
  if (spec.process_slot_count < 1 || spec.process_slot_count > kMaxProcessSlotCount) {
    return absl::InvalidArgumentError(absl::StrCat("max_processes (process slots) is 1 to ",
                                                   kMaxProcessSlotCount, ", not ",
                                                   spec.process_slot_count));
  }
  Offsets offsets;
  std::uint64_t offset = RoundUp(sizeof(SegmentHeader), kCacheLineSize);
  offsets.process_table = offset;
  offset += std::uint64_t{spec.process_slot_count} * sizeof(ProcessSlot);
  for (std::uint32_t i = 0; i < spec.ring_count; ++i) {
    if (absl::Status status = ValidateRingSpec(spec.rings[i], spec.kind); !status.ok()) {
      return status;
    }
    offsets.control[i] = RoundUp(offset, kCacheLineSize);
    offset = offsets.control[i] + sizeof(RingControl);
  }
  for (std::uint32_t i = 0; i < spec.ring_count; ++i) {
    offsets.cells[i] = RoundUp(offset, kCacheLineSize);
    offset = offsets.cells[i] + spec.rings[i].block_count * sizeof(Cell);
  }
  for (std::uint32_t i = 0; i < spec.ring_count; ++i) {
    offsets.data[i] = RoundUp(offset, kPageSize);
    offset = offsets.data[i] + spec.rings[i].block_count * spec.rings[i].block_size;
  }
  offsets.total = RoundUp(offset, kPageSize);
  if (offsets.total > kMaximumSegmentSize) {
    return absl::InvalidArgumentError("segment would exceed 2^38 bytes");
  }
  return offsets;
}

absl::Status ReserveMemory(int descriptor, std::uint64_t size) {
  if (ftruncate(descriptor, static_cast<off_t>(size)) != 0) {
    const int error = errno;
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot size shared memory to ", size, " bytes: ", ErrnoText(error)));
  }
  // Reserve every page now, so that a full tmpfs or memory limit is an error
  // here instead of a SIGBUS on first touch later.
  const int error = posix_fallocate(descriptor, 0, static_cast<off_t>(size));
  if (error != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot reserve ", size, " bytes of shared memory: ", ErrnoText(error)));
  }
  return absl::OkStatus();
}

// MemAvailable from /proc/meminfo, in bytes (0 if unknown).
std::uint64_t AvailableMemory() {
  const int descriptor = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) return 0;
  char buffer[4096];
  const ssize_t size = read(descriptor, buffer, sizeof(buffer) - 1);
  close(descriptor);
  if (size <= 0) return 0;
  buffer[size] = '\0';
  const char* field = std::strstr(buffer, "MemAvailable:");
  if (field == nullptr) return 0;
  return std::strtoull(field + std::strlen("MemAvailable:"), nullptr, 10) * 1024;
}

std::uint64_t RandomId() {
  std::uint64_t value = 0;
  if (getrandom(&value, sizeof(value), 0) != sizeof(value)) {
    value = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count()) ^
            (static_cast<std::uint64_t>(getpid()) << 32);
  }
  return value | 1;  // never 0
}

void InitializeHeader(std::byte* base, const SegmentSpec& spec, const Offsets& offsets,
                      std::uint64_t instance_id) {
  // The memory is fresh from ftruncate: all zeros, which is also the "free"
  // state of every cell and process slot.
  auto* header = new (base) SegmentHeader();
  header->layout_version = kLayoutVersion;
  header->header_size = sizeof(SegmentHeader);
  header->total_size = offsets.total;
  header->kind = static_cast<std::uint32_t>(spec.kind);
  header->ring_count = spec.ring_count;
  header->process_slot_count = spec.process_slot_count;
  header->flags = spec.flags;
  header->process_table_offset = offsets.process_table;
  header->instance_id = instance_id;
  for (std::uint32_t i = 0; i < spec.ring_count; ++i) {
    const RingSpec& ring = spec.rings[i];
    header->rings[i] = RingGeometry{ring.block_size,      ring.block_count,
                                    ring.capacity_blocks, ring.max_frame_blocks,
                                    ring.record_size,     offsets.control[i],
                                    offsets.cells[i],     offsets.data[i],
                                    ring.type_fingerprint, ring.codec_id};
    auto* control = new (base + offsets.control[i]) RingControl();
    // Positions start one lap in, so zero-filled cells (RELEASED at 0) are
    // older than any position. Relaxed: nobody else can see the segment yet;
    // the release store of `magic` in Publish publishes everything.
    control->tail.store(ring.block_count, std::memory_order_relaxed);
    control->released.store(ring.block_count, std::memory_order_relaxed);
    control->released_hint.store(ring.block_count, std::memory_order_relaxed);
    control->head.store(ring.block_count, std::memory_order_relaxed);
  }
  header->lifecycle.store(static_cast<std::uint32_t>(Lifecycle::kReady), std::memory_order_relaxed);
  // `magic` stays 0 until Segment::Publish.
}

}  // namespace

absl::StatusOr<RingSpec> GenericRingSpec(std::uint64_t buffer_size) {
  // Below one block is rounded up to one block, as sizes in between are
  // rounded up to a power of two (the seed's tests use 2 bytes).
  buffer_size = std::max(buffer_size, kMinimumBufferSize);
  if (buffer_size > kMaximumBufferSize) {
    return absl::InvalidArgumentError(absl::StrCat("buffer_size ", buffer_size,
                                                   " exceeds the maximum of 2^36 bytes"));
  }
  RingSpec ring;
  ring.block_size = kGenericBlockSize;
  ring.block_count = std::bit_ceil((buffer_size + kGenericBlockSize - 1) / kGenericBlockSize);
  ring.capacity_blocks = ring.block_count;
  // Messages up to half the ring travel as one frame; longer ones stream in
  // half-ring chunks, so that the sender fills one half while the receiver
  // drains the other.
  ring.max_frame_blocks = std::max<std::uint64_t>(1, ring.block_count / 2);
  ring.max_frame_blocks =
      std::min<std::uint64_t>(ring.max_frame_blocks, kMaximumFramePayload / kGenericBlockSize);
  return ring;
}

absl::StatusOr<RingSpec> StaticRingSpec(std::uint64_t object_size, std::uint64_t object_count,
                                        std::uint64_t alignment) {
  if (object_size == 0 || object_size >= kMaximumFramePayload) {
    return absl::InvalidArgumentError(
        absl::StrCat("object_size ", object_size, " is not in [1, 2^30)"));
  }
  object_count = std::max<std::uint64_t>(object_count, 1);  // rounded up, like buffer_size
  if (object_count > kMaximumBlockCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("object_count ", object_count, " is not in [1, 2^30]"));
  }
  if (alignment < 8 || !std::has_single_bit(alignment) || alignment > kPageSize) {
    return absl::InvalidArgumentError("record alignment must be a power of two in [8, 4096]");
  }
  RingSpec ring;
  ring.block_size = RoundUp(object_size, alignment);
  ring.block_count = std::bit_ceil(object_count);
  ring.capacity_blocks = object_count;
  ring.max_frame_blocks = 1;
  ring.record_size = object_size;
  if (ring.block_size > kMaximumBufferSize / ring.block_count) {
    return absl::InvalidArgumentError(absl::StrCat(object_count, " records of ", object_size,
                                                   " bytes exceed the maximum of 2^36 bytes"));
  }
  return ring;
}

absl::Status ValidatePipeName(const std::string& name) {
  if (name.empty() || name.size() > 200) {
    return absl::InvalidArgumentError("a pipe name has 1 to 200 characters");
  }
  if (name[0] == '.') return absl::InvalidArgumentError("a pipe name may not start with '.'");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("pipe name \"", name, "\" may only contain [A-Za-z0-9._-]"));
    }
  }
  return absl::OkStatus();
}

Segment::Segment(Segment&& other) noexcept { *this = std::move(other); }

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    this->~Segment();
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    descriptor_ = std::exchange(other.descriptor_, -1);
    name_ = std::move(other.name_);
    instance_id_ = other.instance_id_;
    spec_ = other.spec_;
    owner_uid_ = other.owner_uid_;
    slots_ = std::exchange(other.slots_, nullptr);
    for (std::uint32_t i = 0; i < kMaxRings; ++i) rings_[i] = std::exchange(other.rings_[i], {});
  }
  return *this;
}

Segment::~Segment() {
  if (base_ != nullptr) munmap(base_, size_);
  if (descriptor_ >= 0) close(descriptor_);
  base_ = nullptr;
  descriptor_ = -1;
}

absl::Status Segment::MapAndBind(int descriptor, std::size_t size) {
  void* address = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
  if (address == MAP_FAILED) {
    const int error = errno;
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map ", size, " bytes of shared memory: ", ErrnoText(error)));
  }
  base_ = static_cast<std::byte*>(address);
  size_ = size;
  absl::StatusOr<Offsets> offsets = ComputeOffsets(spec_);
  if (!offsets.ok()) return offsets.status();
  slots_ = reinterpret_cast<ProcessSlot*>(base_ + offsets->process_table);
  for (std::uint32_t i = 0; i < spec_.ring_count; ++i) {
    rings_[i].control = reinterpret_cast<RingControl*>(base_ + offsets->control[i]);
    rings_[i].cells = reinterpret_cast<Cell*>(base_ + offsets->cells[i]);
    rings_[i].data = base_ + offsets->data[i];
    rings_[i].spec = spec_.rings[i];
  }
  return absl::OkStatus();
}

absl::StatusOr<Segment> Segment::CreateAnonymous(const SegmentSpec& spec, bool keep_descriptor) {
  absl::StatusOr<Offsets> offsets = ComputeOffsets(spec);
  if (!offsets.ok()) return offsets.status();
  // An anonymous segment is bounded by memory, not by a tmpfs size: reserving
  // more than is available would make the kernel reclaim and possibly
  // OOM-kill processes before fallocate fails. Refuse it up front.
  if (const std::uint64_t available = AvailableMemory();
      available != 0 && offsets->total > available) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "a pipe of ", offsets->total, " bytes needs more than the ", available,
        " bytes of memory available"));
  }
  const int descriptor = memfd_create("buffered_pipe", MFD_CLOEXEC);
  if (descriptor < 0) {
    const int error = errno;
    return absl::ResourceExhaustedError(absl::StrCat("memfd_create: ", ErrnoText(error)));
  }
  Segment segment;
  segment.spec_ = spec;
  segment.instance_id_ = RandomId();
  absl::Status status = ReserveMemory(descriptor, offsets->total);
  if (status.ok()) status = segment.MapAndBind(descriptor, offsets->total);
  if (keep_descriptor) {
    segment.descriptor_ = descriptor;  // closed by the destructor
  } else {
    close(descriptor);  // the mapping keeps the memory alive
  }
  if (!status.ok()) return status;
  InitializeHeader(segment.base_, spec, *offsets, segment.instance_id_);
  segment.Publish();  // nobody can open it before the creator hands it on
  return segment;
}

absl::StatusOr<Segment> Segment::CreateNamed(const std::string& name, const SegmentSpec& spec,
                                             mode_t mode) {
  if (absl::Status status = ValidatePipeName(name); !status.ok()) return status;
  if ((mode & ~mode_t{0777}) != 0) {
    return absl::InvalidArgumentError("mode may only hold permission bits (0777)");
  }
  absl::StatusOr<Offsets> offsets = ComputeOffsets(spec);
  if (!offsets.ok()) return offsets.status();
  const std::string path = "/" + name;
  const int descriptor = shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (descriptor < 0) {
    const int error = errno;
    if (error == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("a pipe named \"", name, "\" already exists"));
    }
    if (error == EACCES) {
      return absl::PermissionDeniedError(absl::StrCat("cannot create \"", name, "\": ", ErrnoText(error)));
    }
    return absl::ResourceExhaustedError(absl::StrCat("cannot create \"", name, "\": ", ErrnoText(error)));
  }
  // The mode given to shm_open is filtered by the umask; set it exactly.
  fchmod(descriptor, mode);
  Segment segment;
  segment.spec_ = spec;
  segment.name_ = name;
  segment.descriptor_ = descriptor;
  segment.instance_id_ = RandomId();
  absl::Status status = ReserveMemory(descriptor, offsets->total);
  if (status.ok()) status = segment.MapAndBind(descriptor, offsets->total);
  if (!status.ok()) {
    shm_unlink(path.c_str());
    return status;
  }
  InitializeHeader(segment.base_, spec, *offsets, segment.instance_id_);
  return segment;
}

absl::Status UntrustedOwnerError(const std::string& name, uid_t owner) {
  return absl::PermissionDeniedError(absl::StrCat(
      "pipe \"", name, "\" belongs to uid ", owner, ", neither this user (uid ", geteuid(),
      ") nor root: refused, in case another user created the name first; name the owner you "
      "trust (trusted_owner) to accept it"));
}

bool OwnerPolicy::Trusts(uid_t owner) const {
  if (kind == Kind::kAny || owner == 0 || owner == geteuid()) return true;
  return kind == Kind::kUser && owner == uid;
}

absl::StatusOr<Segment> Segment::OpenNamed(const std::string& name, const OwnerPolicy& owners) {
  if (absl::Status status = ValidatePipeName(name); !status.ok()) return status;
  const std::string path = "/" + name;
  const int descriptor = shm_open(path.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (descriptor < 0) {
    const int error = errno;
    if (error == ENOENT) return absl::NotFoundError(absl::StrCat("no pipe named \"", name, "\""));
    if (error == EACCES) {
      return absl::PermissionDeniedError(
          absl::StrCat("no permission to open pipe \"", name, "\": ", ErrnoText(error)));
    }
    return absl::UnavailableError(absl::StrCat("cannot open \"", name, "\": ", ErrnoText(error)));
  }
  return MapExisting(descriptor, name, absl::StrCat("\"", name, "\""), owners);
}

absl::StatusOr<Segment> Segment::OpenDescriptor(int descriptor) {
  if (descriptor < 0) return absl::InvalidArgumentError("no descriptor");
  // Whoever holds the descriptor was given the pipe: its owner is not checked.
  return MapExisting(descriptor, /*name=*/"", absl::StrCat("descriptor ", descriptor),
                     OwnerPolicy{OwnerPolicy::Kind::kAny});
}

absl::StatusOr<Segment> Segment::MapExisting(int descriptor, const std::string& name,
                                             const std::string& label,
                                             const OwnerPolicy& owners) {
  Segment segment;
  segment.name_ = name;
  segment.descriptor_ = descriptor;

  // A creator may still be initialising: wait (bounded) for it to publish.
  const auto give_up = std::chrono::steady_clock::now() + kInitialisationTimeout;
  struct stat file {};
  void* address = MAP_FAILED;
  std::size_t mapped = 0;
  for (;;) {
    if (fstat(descriptor, &file) != 0) return absl::UnavailableError("fstat failed");
    if (!owners.Trusts(file.st_uid)) {
      return UntrustedOwnerError(name, file.st_uid);
    }
    segment.owner_uid_ = file.st_uid;
    const auto size = static_cast<std::uint64_t>(file.st_size);
    if (size >= sizeof(SegmentHeader)) {
      if (size > kMaximumSegmentSize) {
        return absl::DataLossError(absl::StrCat(label, " is too large to be a pipe"));
      }
      mapped = static_cast<std::size_t>(size);
      address = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
      if (address == MAP_FAILED) return absl::ResourceExhaustedError("cannot map the segment");
      // SYNC POINT READ: pairs with the creator's release store of `magic`.
      const std::uint64_t magic =
          static_cast<SegmentHeader*>(address)->magic.load(std::memory_order_acquire);
      if (magic == kSegmentMagic) break;
      munmap(address, mapped);
      address = MAP_FAILED;
      if (magic != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, " is not a buffered_pipe segment (bad magic)"));
      }
    }
    if (std::chrono::steady_clock::now() > give_up) {
      return absl::DataLossError(
          absl::StrCat(label, " was never completely initialised (creator died?); "
                       "CreateNamedPipe reclaims such a name, RemoveNamedPipe removes it"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto* header = static_cast<const SegmentHeader*>(address);
  // Copy the identity out before validating: the segment is untrusted and
  // another process could change it while we look.
  const std::uint32_t version = header->layout_version;
  const std::uint32_t header_size = header->header_size;
  const std::uint64_t total_size = header->total_size;
  const std::uint32_t kind = header->kind;
  const std::uint32_t ring_count = header->ring_count;
  const std::uint32_t slot_count = header->process_slot_count;
  const std::uint64_t table_offset = header->process_table_offset;
  SegmentSpec spec;
  spec.kind = static_cast<SegmentKind>(kind);
  spec.ring_count = ring_count;
  spec.flags = header->flags;
  spec.process_slot_count = slot_count;
  RingGeometry geometry[kMaxRings] = {};
  if (ring_count >= 1 && ring_count <= kMaxRings) {
    for (std::uint32_t i = 0; i < ring_count; ++i) {
      geometry[i] = header->rings[i];
      spec.rings[i] = RingSpec{geometry[i].block_size,      geometry[i].block_count,
                               geometry[i].capacity_blocks, geometry[i].max_frame_blocks,
                               geometry[i].record_size,     geometry[i].type_fingerprint,
                               geometry[i].codec_id};
    }
  }
  segment.instance_id_ = header->instance_id;
  munmap(address, mapped);

  if (version != kLayoutVersion) {
    return absl::InvalidArgumentError(absl::StrCat(label, " has layout version ", version,
                                                   "; this library reads version ", kLayoutVersion));
  }
  if (header_size != sizeof(SegmentHeader)) {
    return absl::DataLossError(absl::StrCat(label, " has an inconsistent header"));
  }
  absl::StatusOr<Offsets> offsets = ComputeOffsets(spec);
  if (!offsets.ok()) {
    return absl::DataLossError(absl::StrCat(label, " has an invalid geometry: ",
                                            offsets.status().message()));
  }
  bool consistent = offsets->total == total_size && total_size == mapped &&
                    offsets->process_table == table_offset;
  for (std::uint32_t i = 0; i < ring_count; ++i) {
    consistent = consistent && geometry[i].control_offset == offsets->control[i] &&
                 geometry[i].cells_offset == offsets->cells[i] &&
                 geometry[i].data_offset == offsets->data[i];
  }
  if (!consistent) {
    return absl::DataLossError(
        absl::StrCat(label, " has sizes that do not match its geometry or file"));
  }
  segment.spec_ = spec;
  if (absl::Status status = segment.MapAndBind(descriptor, mapped); !status.ok()) return status;
  return segment;
}

void Segment::Publish() const {
  // SYNC POINT WRITE: publishes the whole initialised segment, and whatever
  // the creator did in it before (its slot, its ends), to openers; pairs
  // with the acquire load of `magic` in MapExisting.
  header().magic.store(kSegmentMagic, std::memory_order_release);
}

bool Segment::UnlinkNameIfOurs() const {
  if (name_.empty() || descriptor_ < 0) return false;
  return UnlinkNameIfSameFile(name_, descriptor_);
}

absl::StatusOr<bool> Segment::RemoveNameIfNeverPublished(const std::string& name,
                                                         const OwnerPolicy& owners) {
  if (absl::Status status = ValidatePipeName(name); !status.ok()) return status;
  const int descriptor = shm_open(("/" + name).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (descriptor < 0) return false;  // gone already, or not ours to judge
  struct stat file {};
  absl::StatusOr<bool> removed = false;
  if (fstat(descriptor, &file) != 0) {
    removed = false;
  } else if (!owners.Trusts(file.st_uid)) {
    removed = UntrustedOwnerError(name, file.st_uid);
  } else if (SinceLastChange(file) >= kInitialisationTimeout) {
    removed = LooksAbandonedByItsCreator(descriptor, file) && UnlinkNameIfSameFile(name, descriptor);
  }
  close(descriptor);
  return removed;
}

}  // namespace buffered_pipe::internal
