#include "tools/bpipe_lib.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/version.h"
#include "absl/strings/str_format.h"
#include "buffered_pipe/internal/attachment.h"
#include "buffered_pipe/internal/factory.h"
#include "buffered_pipe/internal/segment.h"

namespace buffered_pipe::tools {
namespace {

namespace in = ::buffered_pipe::internal;

constexpr char kShmDirectory[] = "/dev/shm/";

// The ring protocol's view for reading only: no owner, no peer polling.
class ReadOnlyClient final : public in::RingClient {
 public:
  std::uint32_t owner() const override { return 0; }
  void PollPeers() override {}
  std::uint32_t CountOpenEnds(const in::Ring&, bool) const override { return 0; }
  bool IsSlotFree(std::uint32_t) const override { return false; }
};

std::string SlotStateName(in::SlotTag tag) {
  switch (tag) {
    case in::SlotTag::kFree:
      return "free";
    case in::SlotTag::kClaiming:
      return "attaching";
    case in::SlotTag::kReserved:
      return "fork reservation";
    case in::SlotTag::kAlive:
      return "attached";
    case in::SlotTag::kReaping:
      return "reaping";
  }
  return "?";
}

std::string LifecycleName(std::uint32_t lifecycle) {
  switch (static_cast<in::Lifecycle>(lifecycle)) {
    case in::Lifecycle::kInitializing:
      return "initializing";
    case in::Lifecycle::kReady:
      return "ready";
    case in::Lifecycle::kUnlinking:
      return "being removed";
    case in::Lifecycle::kUnlinked:
      return "removed";
  }
  return absl::StrCat("? (", lifecycle, ")");
}

HoldInfo ReadHold(const in::Segment& segment, std::uint64_t token) {
  HoldInfo hold;
  if (token == 0) return hold;
  hold.held = true;
  if (token == in::token::kDiscard) {
    hold.discard = true;
    return hold;
  }
  hold.slot = in::token::Owner(token);
  hold.alive = segment.IsOwnerId(hold.slot) &&
               in::IsSlotOccupantAlive(segment.slot(hold.slot), segment.size());
  return hold;
}

std::string Bytes(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t{1} << 30) && bytes % (std::uint64_t{1} << 30) == 0) {
    return absl::StrCat(bytes >> 30, " GiB");
  }
  if (bytes >= (std::uint64_t{1} << 20) && bytes % (std::uint64_t{1} << 20) == 0) {
    return absl::StrCat(bytes >> 20, " MiB");
  }
  if (bytes >= 1024 && bytes % 1024 == 0) return absl::StrCat(bytes >> 10, " KiB");
  return absl::StrCat(bytes, " B");
}

std::string Geometry(const PipeInfo& info) {
  if (info.rings.empty()) return "?";
  const in::RingSpec& spec = info.rings[0].spec;
  if (info.kind == in::SegmentKind::kStatic) {
    return absl::StrCat(spec.capacity_blocks, " x ", spec.record_size, " B");
  }
  return Bytes(spec.block_count * spec.block_size);
}

}  // namespace

const char* HealthName(Health health) {
  switch (health) {
    case Health::kInUse:
      return "in use";
    case Health::kIdle:
      return "idle";
    case Health::kStale:
      return "stale";
  }
  return "?";
}

bool HasPipeMagic(const std::string& name) {
  const int descriptor = open((kShmDirectory + name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (descriptor < 0) return false;
  std::uint64_t magic = 0;
  const bool ours = pread(descriptor, &magic, sizeof(magic), 0) == sizeof(magic) &&
                    magic == in::kSegmentMagic;
  close(descriptor);
  return ours;
}

absl::StatusOr<PipeInfo> Inspect(const std::string& name) {
  if (absl::Status status = in::ValidatePipeName(name); !status.ok()) return status;
  if (!HasPipeMagic(name)) {
    struct stat file {};
    if (stat((kShmDirectory + name).c_str(), &file) != 0) {
      return absl::NotFoundError(absl::StrCat("no pipe named \"", name, "\""));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("\"", name, "\" is not a buffered_pipe segment (or is still being created)"));
  }
  // Read-only inspection: any owner's pipe may be looked at.
  absl::StatusOr<in::Segment> segment =
      in::Segment::OpenNamed(name, in::OwnerPolicy{in::OwnerPolicy::Kind::kAny});
  if (!segment.ok()) return segment.status();

  PipeInfo info;
  info.name = name;
  info.kind = segment->spec().kind;
  info.ring_count = segment->spec().ring_count;
  info.remove_when_unused = (segment->spec().flags & in::kRemoveWhenUnused) != 0;
  info.size = segment->size();
  struct stat file {};
  if (stat((kShmDirectory + name).c_str(), &file) == 0) {
    info.mode = file.st_mode & 07777;
    info.uid = file.st_uid;
  }
  info.lifecycle = LifecycleName(segment->header().lifecycle.load(std::memory_order_acquire));
  for (std::uint32_t owner = 1; owner <= segment->process_slot_count(); ++owner) {
    const in::ProcessSlot& slot = segment->slot(owner);
    const std::uint64_t state = slot.state.load(std::memory_order_acquire);
    const in::SlotTag tag = in::slot_state::Tag(state);
    if (tag == in::SlotTag::kFree) continue;
    ProcessInfo process;
    process.slot = owner;
    process.pid = in::slot_state::Pid(state);
    process.state = SlotStateName(tag);
    process.alive = in::IsSlotOccupantAlive(slot, segment->size());
    for (std::uint32_t ring = 0; ring < in::kMaxRings; ++ring) {
      process.senders[ring] = slot.senders[ring].load(std::memory_order_relaxed);
      process.receivers[ring] = slot.receivers[ring].load(std::memory_order_relaxed);
    }
    (process.alive ? info.alive : info.dead) += 1;
    info.processes.push_back(std::move(process));
  }
  info.health = info.alive > 0 ? Health::kInUse : (info.dead > 0 ? Health::kStale : Health::kIdle);
  ReadOnlyClient client;
  for (std::uint32_t index = 0; index < info.ring_count; ++index) {
    const in::RingView view = segment->ring(index);
    RingInfo ring;
    ring.spec = view.spec;
    // Snapshot validates what it reads and bounds its walk by the ring's
    // capacity (geometry comes from the validated header, copied locally).
    ring.snapshot = in::Ring(view, &client).Snapshot();
    ring.writer = ReadHold(*segment, view.control->stream_writer.load(std::memory_order_acquire));
    ring.reader = ReadHold(*segment, view.control->stream_reader.load(std::memory_order_acquire));
    info.rings.push_back(ring);
  }
  return info;
}

std::vector<ListEntry> List() {
  std::vector<ListEntry> entries;
  DIR* directory = opendir(kShmDirectory);
  if (directory == nullptr) return entries;
  while (const dirent* entry = readdir(directory)) {
    const std::string name = entry->d_name;
    if (name.empty() || name[0] == '.' || !in::ValidatePipeName(name).ok()) continue;
    struct stat file {};
    if (lstat((kShmDirectory + name).c_str(), &file) != 0 || !S_ISREG(file.st_mode)) continue;
    if (!HasPipeMagic(name)) continue;
    entries.push_back(ListEntry{name, Inspect(name)});
  }
  closedir(directory);
  std::sort(entries.begin(), entries.end(),
            [](const ListEntry& a, const ListEntry& b) { return a.name < b.name; });
  return entries;
}

absl::Status Remove(const std::string& name, bool force) {
  if (absl::Status status = in::ValidatePipeName(name); !status.ok()) return status;
  absl::StatusOr<PipeInfo> info = Inspect(name);
  if (!info.ok()) {
    if (absl::IsNotFound(info.status())) return info.status();
    if (!HasPipeMagic(name)) {
      // Perhaps one whose creator died before publishing it.
      absl::StatusOr<bool> removed = in::Segment::RemoveNameIfNeverPublished(
          name, in::OwnerPolicy{in::OwnerPolicy::Kind::kAny});
      if (!removed.ok()) return removed.status();
      if (*removed) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat(
          "\"", name, "\" is not a buffered_pipe segment, or one still being created: not removed"));
    }
    if (!force) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot read pipe \"", name, "\" (", info.status().ToString(),
          "): not removed; --force removes it anyway"));
    }
  } else if (info->alive > 0 && !force) {
    return absl::FailedPreconditionError(absl::StrCat(
        "pipe \"", name, "\" is in use by ", info->alive, " live process",
        info->alive == 1 ? "" : "es",
        ": not removed; --force removes the name anyway (processes that have it open keep "
        "using it)"));
  }
  return in::RemoveSegmentName(name);
}

// A user name, or the uid if it has none.
static std::string OwnerName(uid_t uid) {
  char buffer[1024];
  struct passwd entry {};
  struct passwd* found = nullptr;
  if (getpwuid_r(uid, &entry, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return absl::StrCat(uid);
}

std::string FormatList(const std::vector<ListEntry>& entries) {
  std::ostringstream out;
  out << absl::StrFormat("%-40s %-8s %-14s %-7s %-14s %-8s %s\n", "NAME", "KIND", "SIZE", "RINGS",
                         "PROCESSES", "OWNER", "STATE");
  for (const ListEntry& entry : entries) {
    if (!entry.info.ok()) {
      out << absl::StrFormat("%-40s unreadable: %s\n", entry.name, entry.info.status().ToString());
      continue;
    }
    const PipeInfo& info = *entry.info;
    out << absl::StrFormat(
        "%-40s %-8s %-14s %-7s %-14s %-8s %s\n", info.name,
        info.kind == in::SegmentKind::kStatic ? "static" : "generic", Geometry(info),
        info.ring_count == 2 ? "duplex" : "simplex",
        absl::StrCat(info.alive, " alive", info.dead > 0 ? absl::StrCat(", ", info.dead, " dead") : ""),
        OwnerName(info.uid), HealthName(info.health));
  }
  if (entries.empty()) out << "(no buffered_pipe segments in /dev/shm)\n";
  return out.str();
}

std::string FormatStat(const PipeInfo& info) {
  std::ostringstream out;
  out << "name:      " << info.name << "\n";
  out << "kind:      " << (info.kind == in::SegmentKind::kStatic ? "static" : "generic") << ", "
      << (info.ring_count == 2 ? "duplex (2 rings)" : "simplex (1 ring)")
      << (info.remove_when_unused ? ", removed by its last user" : ", persistent") << "\n";
  out << "file:      " << kShmDirectory << info.name << ", " << info.size << " bytes, mode "
      << absl::StrFormat("%04o", info.mode) << ", owner uid " << info.uid << "\n";
  out << "state:     " << HealthName(info.health) << " (" << info.alive << " process"
      << (info.alive == 1 ? "" : "es") << " alive, " << info.dead << " dead), lifecycle "
      << info.lifecycle << "\n";
  for (std::size_t index = 0; index < info.rings.size(); ++index) {
    const RingInfo& ring = info.rings[index];
    const in::RingSpec& spec = ring.spec;
    const in::RingSnapshot& snapshot = ring.snapshot;
    out << "ring " << index << ":    ";
    if (info.kind == in::SegmentKind::kStatic) {
      out << spec.capacity_blocks << " records of " << spec.record_size << " B (slots of "
          << spec.block_size << " B)\n";
    } else {
      out << Bytes(spec.block_count * spec.block_size) << " (" << spec.block_count
          << " blocks of " << spec.block_size << " B; frames up to "
          << Bytes(spec.max_frame_blocks * spec.block_size) << ", longer messages stream)\n";
    }
    out << "  ends open:  " << snapshot.senders_open << " sending, " << snapshot.receivers_open
        << " receiving\n";
    out << "  in flight:  " << snapshot.messages_in_flight << " committed frame"
        << (snapshot.messages_in_flight == 1 ? "" : "s") << " (messages or chunks), "
        << snapshot.bytes_in_flight << " bytes; " << snapshot.blocks_in_flight << " of "
        << spec.capacity_blocks << " blocks taken\n";
    out << "  positions:  released " << snapshot.released << ", head " << snapshot.head
        << ", tail " << snapshot.tail << "\n";
    auto hold = [](const HoldInfo& h) -> std::string {
      if (!h.held) return "free";
      if (h.discard) return "discarding a stream whose reader died";
      return absl::StrCat("slot ", h.slot, h.alive ? " (alive)" : " (dead)");
    };
    out << "  streams:    writer " << hold(ring.writer) << ", reader " << hold(ring.reader) << "\n";
  }
  out << "processes: " << info.processes.size() << " slot" << (info.processes.size() == 1 ? "" : "s")
      << " occupied\n";
  if (!info.processes.empty()) {
    out << absl::StrFormat("  %-5s %-8s %-17s %-6s", "SLOT", "PID", "STATE", "ALIVE");
    for (std::size_t ring = 0; ring < info.rings.size(); ++ring) {
      out << absl::StrFormat(" RING%d SEND/RECV", ring);
    }
    out << "\n";
    for (const ProcessInfo& process : info.processes) {
      out << absl::StrFormat("  %-5d %-8d %-17s %-6s", process.slot, process.pid, process.state,
                             process.alive ? "yes" : "no");
      for (std::size_t ring = 0; ring < info.rings.size(); ++ring) {
        out << absl::StrFormat(" %-15s", absl::StrCat(process.senders[ring], "/", process.receivers[ring]));
      }
      out << "\n";
    }
  }
  return out.str();
}

int Main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "usage: bpipe list\n"
      "       bpipe stat NAME\n"
      "       bpipe rm [--force] NAME\n"
      "       bpipe bridge NAME [--side=first|second] [--out=ADDRESS] [--in=ADDRESS]\n"
      "                    [--bind] [--create[=BYTES]] [--credit=BYTES]   (see tools/bridge.h)\n"
      "       bpipe --version\n";
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    err << usage;
    return 2;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "--version" && args.empty()) {
    out << "bpipe (buffered_pipe) " << kVersion << "\n";
    return 0;
  }
  if (command == "list" && args.empty()) {
    out << FormatList(List());
    return 0;
  }
  if (command == "stat" && args.size() == 1) {
    absl::StatusOr<PipeInfo> info = Inspect(args[0]);
    if (!info.ok()) {
      err << "bpipe stat: " << info.status().message() << "\n";
      return 1;
    }
    out << FormatStat(*info);
    return 0;
  }
  if (command == "rm" && !args.empty() && args.size() <= 2) {
    bool force = false;
    std::string name;
    for (const std::string& arg : args) {
      if (arg == "--force" || arg == "-f") {
        force = true;
      } else if (name.empty()) {
        name = arg;
      } else {
        err << usage;
        return 2;
      }
    }
    if (name.empty()) {
      err << usage;
      return 2;
    }
    if (absl::Status status = Remove(name, force); !status.ok()) {
      err << "bpipe rm: " << status.message() << "\n";
      return 1;
    }
    out << "removed " << name << "\n";
    return 0;
  }
  err << usage;
  return 2;
}

}  // namespace buffered_pipe::tools
