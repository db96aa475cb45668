#include "buffered_pipe/internal/attachment.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/internal/process_identity.h"
#include "buffered_pipe/internal/store_load_barrier.h"
#include "buffered_pipe/internal/wait.h"

namespace buffered_pipe::internal {
namespace {

// Every Attachment of this process, for the fork handlers. Leaked on purpose:
// it must outlive static destructors that may still close ends.
struct Registry {
  std::mutex mutex;
  std::vector<Attachment*> attachments;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

// The children of the forking thread just before fork() (see
// ParentForkHandler); guarded by the registry lock, which is held across
// fork().
constexpr int kMaxChildrenTracked = 256;
std::uint32_t children_before_fork[kMaxChildrenTracked];
int children_before_fork_count = -1;

// The pid of the child fork() has just made, or 0 if it cannot be told: the
// newest child of this thread that was not its child before the fork.
std::uint32_t ForkedChildPid() {
  if (children_before_fork_count < 0) return 0;
  std::uint32_t after[kMaxChildrenTracked];
  const int count = ReadChildrenOfThisThread(after, kMaxChildrenTracked);
  if (count <= 0) return 0;  // unreadable, or fork() failed and there are none
  const std::uint32_t newest = after[count - 1];
  for (int i = 0; i < children_before_fork_count; ++i) {
    if (children_before_fork[i] == newest) return 0;  // fork() failed
  }
  return newest;
}

void PrepareForkHandler() {
  Registry& registry = GetRegistry();
  registry.mutex.lock();  // held across fork(); released in both processes
  children_before_fork_count = registry.attachments.empty()
                                   ? -1
                                   : ReadChildrenOfThisThread(children_before_fork,
                                                              kMaxChildrenTracked);
  for (Attachment* attachment : registry.attachments) attachment->PrepareFork();
}

void ParentForkHandler() {
  Registry& registry = GetRegistry();
  const std::uint32_t child = registry.attachments.empty() ? 0 : ForkedChildPid();
  for (Attachment* attachment : registry.attachments) attachment->ParentAfterFork(child);
  registry.mutex.unlock();
}

void ChildForkHandler() {
  ResetCurrentProcessAfterFork();
  Registry& registry = GetRegistry();
  for (Attachment* attachment : registry.attachments) attachment->ChildAfterFork();
  registry.mutex.unlock();
}

void InstallForkHandlers() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(PrepareForkHandler, ParentForkHandler, ChildForkHandler); });
}

// Subtracts `amount` from a shared counter without going below zero (the
// counter lives in untrusted memory).
void SaturatingSubtract(std::atomic<std::uint32_t>& counter, std::uint32_t amount) {
  if (amount == 0) return;
  std::uint32_t current = counter.load(std::memory_order_relaxed);
  // seq_cst: closing the last end is a state change that parked waiters
  // re-check (end of stream / broken pipe).
  while (!counter.compare_exchange_weak(current, current > amount ? current - amount : 0,
                                        std::memory_order_seq_cst)) {
  }
}

}  // namespace

Attachment::Attachment(Segment segment) : segment_(std::move(segment)) {
  for (std::uint32_t i = 0; i < segment_.spec().ring_count; ++i) {
    rings_[i] = std::make_unique<Ring>(segment_.ring(i), this);
  }
}

absl::StatusOr<std::shared_ptr<Attachment>> Attachment::Attach(Segment segment) {
  InstallForkHandlers();
  // Before this process can change any ring's state (store_load_barrier.h).
  RegisterForStoreLoadBarrier();
  if (segment.is_named()) {
    Registry& registry = GetRegistry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    for (Attachment* existing : registry.attachments) {
      if (existing->left_ || existing->owner() == 0 ||
          existing->registered_pid_ != CurrentProcess().pid ||
          existing->segment_.instance_id() != segment.instance_id() ||
          existing->segment_.name() != segment.name()) {
        continue;
      }
      std::shared_ptr<Attachment> shared = existing->weak_from_this().lock();
      if (shared == nullptr) continue;  // being destroyed
      ++shared->pending_opens_;
      return shared;
    }
  }
  std::shared_ptr<Attachment> attachment(new Attachment(std::move(segment)));
  {
    Registry& registry = GetRegistry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    if (absl::Status status = attachment->TakeSlot(); !status.ok()) return status;
    registry.attachments.push_back(attachment.get());
  }
  if (attachment->segment_.is_named()) {
    // SYNC POINT READ (Dekker with the last closer, see LeaveSegment): our
    // slot is taken (seq_cst) before this seq_cst load.
    auto& lifecycle = attachment->segment_.header().lifecycle;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (lifecycle.load(std::memory_order_seq_cst) ==
               static_cast<std::uint32_t>(Lifecycle::kUnlinking) &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (lifecycle.load(std::memory_order_seq_cst) != static_cast<std::uint32_t>(Lifecycle::kReady)) {
      return absl::NotFoundError(
          absl::StrCat("pipe \"", attachment->segment_.name(), "\" is being removed"));
    }
  }
  return attachment;
}

Attachment::~Attachment() { LeaveSegment(); }

std::uint32_t Attachment::ClaimFreeSlot(SlotTag tag, const ProcessIdentity& identity,
                                        std::int64_t reserved_at_ns, std::uint32_t* generation) {
  for (std::uint32_t candidate = 1; candidate <= segment_.process_slot_count(); ++candidate) {
    ProcessSlot& slot = segment_.slot(candidate);
    std::uint64_t observed = slot.state.load(std::memory_order_acquire);
    if (slot_state::Tag(observed) != SlotTag::kFree) continue;
    *generation = slot_state::Generation(observed) + 1;
    // SYNC POINT WRITE: records the pid in the same step that takes the
    // slot, so a crash right after leaves a slot that can be reaped.
    if (!slot.state.compare_exchange_strong(observed,
                                            slot_state::Make(*generation, tag, identity.pid),
                                            std::memory_order_seq_cst)) {
      continue;
    }
    // Relaxed: published by the caller's next seq_cst store of the state.
    slot.start_time.store(identity.start_time, std::memory_order_relaxed);
    slot.reserved_at_ns.store(reserved_at_ns, std::memory_order_relaxed);
    // Also right for a forked child (a fork keeps every address).
    slot.mapping_address.store(reinterpret_cast<std::uintptr_t>(&segment_.header()),
                               std::memory_order_relaxed);
    for (std::uint32_t ring = 0; ring < kMaxRings; ++ring) {
      slot.senders[ring].store(local_senders_[ring], std::memory_order_relaxed);
      slot.receivers[ring].store(local_receivers_[ring], std::memory_order_relaxed);
    }
    return candidate;
  }
  return 0;
}

void Attachment::ChangeTotalsByLocalCounts(bool add) {
  for (std::uint32_t ring = 0; ring < segment_.spec().ring_count; ++ring) {
    RingControl& control = rings_[ring]->control();
    if (add) {
      // seq_cst: new ends are a state change blocked callers may re-check.
      control.senders_open.fetch_add(local_senders_[ring], std::memory_order_seq_cst);
      control.receivers_open.fetch_add(local_receivers_[ring], std::memory_order_seq_cst);
    } else {
      SaturatingSubtract(control.senders_open, local_senders_[ring]);
      SaturatingSubtract(control.receivers_open, local_receivers_[ring]);
    }
  }
}

absl::Status Attachment::TakeSlot() {
  const ProcessIdentity me = CurrentProcess();
  // Totals before the slot (see "Counting open ends" in attachment.h).
  ChangeTotalsByLocalCounts(/*add=*/true);
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::uint32_t generation = 0;
    const std::uint32_t slot = ClaimFreeSlot(SlotTag::kClaiming, me, 0, &generation);
    if (slot != 0) {
      segment_.slot(slot).state.store(slot_state::Make(generation, SlotTag::kAlive, me.pid),
                                      std::memory_order_seq_cst);
      owner_.store(slot, std::memory_order_relaxed);
      registered_pid_ = me.pid;
      return absl::OkStatus();
    }
    if (ReapDeadProcesses() == 0) break;
  }
  ChangeTotalsByLocalCounts(/*add=*/false);
  owner_.store(0, std::memory_order_relaxed);
  return absl::ResourceExhaustedError(
      absl::StrCat("all ", segment_.process_slot_count(), " process slots of the pipe are in use"));
}

std::uint32_t Attachment::CountOpenEnds(const Ring& ring, bool senders) const {
  std::uint32_t index = 0;
  while (index < segment_.spec().ring_count && rings_[index].get() != &ring) ++index;
  if (index == segment_.spec().ring_count) return 0;
  std::uint64_t sum = 0;
  for (std::uint32_t candidate = 1; candidate <= segment_.process_slot_count(); ++candidate) {
    const ProcessSlot& slot = segment_.slot(candidate);
    // Acquire: pairs with the seq_cst stores of the state; the counts of a
    // slot being taken or reaped count too (erring towards "open").
    if (slot_state::Tag(slot.state.load(std::memory_order_acquire)) == SlotTag::kFree) continue;
    // Relaxed: a count is one word; a stale one is corrected by the next poll.
    sum += senders ? slot.senders[index].load(std::memory_order_relaxed)
                   : slot.receivers[index].load(std::memory_order_relaxed);
  }
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(sum, 0xFFFFFFFFu));
}

absl::Status Attachment::AddEnd(EndRoles roles) {
  std::lock_guard<std::mutex> lock(GetRegistry().mutex);
  if (pending_opens_ > 0) --pending_opens_;
  if (left_) return absl::CancelledError("every end of this pipe in this process is closed");
  const std::uint32_t me = owner();
  if (me == 0) return absl::ResourceExhaustedError("this process has no slot in the pipe");
  ProcessSlot& slot = segment_.slot(me);
  // Totals first, then the slot: a crash in between leaves a total too high,
  // never too low (see "Counting open ends" in attachment.h).
  if (roles.send_ring >= 0) {
    ++local_senders_[roles.send_ring];
    rings_[roles.send_ring]->control().senders_open.fetch_add(1, std::memory_order_seq_cst);
    slot.senders[roles.send_ring].fetch_add(1, std::memory_order_relaxed);
  }
  if (roles.receive_ring >= 0) {
    ++local_receivers_[roles.receive_ring];
    rings_[roles.receive_ring]->control().receivers_open.fetch_add(1, std::memory_order_seq_cst);
    slot.receivers[roles.receive_ring].fetch_add(1, std::memory_order_relaxed);
  }
  // Ends waiting for a peer (Ring::WaitForEnds) may proceed.
  if (roles.send_ring >= 0) rings_[roles.send_ring]->WakeAll();
  if (roles.receive_ring >= 0) rings_[roles.receive_ring]->WakeAll();
  return absl::OkStatus();
}

void Attachment::RemoveEnd(EndRoles roles) {
  bool last_end = false;
  {
    std::lock_guard<std::mutex> lock(GetRegistry().mutex);
    // A process without a slot (the table was full when it forked) never
    // had its ends in the totals: closing one must not take another
    // process's end out of them.
    const std::uint32_t me = owner();
    if (roles.send_ring >= 0 && local_senders_[roles.send_ring] > 0) {
      --local_senders_[roles.send_ring];
      if (me != 0) {
        SaturatingSubtract(segment_.slot(me).senders[roles.send_ring], 1);
        SaturatingSubtract(rings_[roles.send_ring]->control().senders_open, 1);
      }
    }
    if (roles.receive_ring >= 0 && local_receivers_[roles.receive_ring] > 0) {
      --local_receivers_[roles.receive_ring];
      if (me != 0) {
        SaturatingSubtract(segment_.slot(me).receivers[roles.receive_ring], 1);
        SaturatingSubtract(rings_[roles.receive_ring]->control().receivers_open, 1);
      }
    }
    last_end = pending_opens_ == 0;
    for (std::uint32_t ring = 0; ring < kMaxRings; ++ring) {
      last_end = last_end && local_senders_[ring] == 0 && local_receivers_[ring] == 0;
    }
  }
  // Blocked callers may now see end of stream or a broken pipe.
  if (roles.send_ring >= 0) rings_[roles.send_ring]->WakeAll();
  if (roles.receive_ring >= 0) rings_[roles.receive_ring]->WakeAll();
  // Every end of this process is closed: leave now, not when the ends are
  // destroyed, so that closing is enough to let the name go.
  if (last_end) LeaveSegment();
}

absl::Status Attachment::RegisterProcess() {
  std::lock_guard<std::mutex> lock(GetRegistry().mutex);
  const ProcessIdentity me = CurrentProcess();
  const std::uint32_t current = owner();
  if (current != 0 && registered_pid_ == me.pid) {
    const std::uint64_t state = segment_.slot(current).state.load(std::memory_order_acquire);
    if (slot_state::Tag(state) == SlotTag::kAlive && slot_state::Pid(state) == me.pid) {
      return absl::OkStatus();
    }
  }
  // A new process (created without the fork handlers) or a slot we lost:
  // take a slot of our own with the ends this process holds.
  return TakeSlot();
}

bool Attachment::IsSlotAlive(std::uint32_t slot_owner) const {
  if (!segment_.IsOwnerId(slot_owner)) return false;
  return IsSlotOccupantAlive(segment_.slot(slot_owner), segment_.size());
}

bool Attachment::IsSlotFree(std::uint32_t owner) const {
  if (!segment_.IsOwnerId(owner)) return true;
  // Acquire: pairs with the seq_cst store that frees a slot after its
  // claims and holds were resolved.
  return slot_state::Tag(segment_.slot(owner).state.load(std::memory_order_acquire)) ==
         SlotTag::kFree;
}

bool IsSlotOccupantAlive(const ProcessSlot& slot, std::uint64_t mapping_size) {
  const std::uint64_t state = slot.state.load(std::memory_order_acquire);
  const std::uint32_t pid = slot_state::Pid(state);
  // Relaxed: published by the state store we acquired.
  const std::uint64_t start_time = slot.start_time.load(std::memory_order_relaxed);
  switch (slot_state::Tag(state)) {
    case SlotTag::kFree:
      return false;
    case SlotTag::kClaiming:
      // The start time is written just after the claim (0 until then: the
      // pid alone is checked).
      return IsProcessAlive(pid, start_time);
    case SlotTag::kReaping:
      // Relaxed: written by the reaper after its claim, published by
      // nothing; a stale 0 only weakens the check to the pid.
      return IsProcessAlive(pid, slot.reaper_start_time.load(std::memory_order_relaxed));
    case SlotTag::kAlive: {
      if (!IsProcessAlive(pid, start_time)) return false;
      // Alive, but an exec() since attaching dropped the mapping: the new
      // program holds none of the ends the slot counts. Relaxed: written
      // before the ALIVE state we acquired.
      const std::uint64_t address = slot.mapping_address.load(std::memory_order_relaxed);
      const std::uint64_t size = (mapping_size + kPageSize - 1) / kPageSize * kPageSize;
      return mapping_size == 0 || MapsRange(pid, address, size);
    }
    case SlotTag::kReserved: {
      const std::int64_t reserved_at = slot.reserved_at_ns.load(std::memory_order_relaxed);
      // 0: the parent has just taken the slot (PrepareFork) and not yet
      // written the time (every occupant leaves it 0). The reservation is
      // brand new, not expired: reaping it now would uncount the child's
      // ends before the child can adopt them.
      if (reserved_at == 0) return IsProcessAlive(pid, 0);
      const std::int64_t now = Deadline::NowNanoseconds();
      // The time comes from shared memory: its age is taken without
      // overflow, and a time in the future (only corruption writes one)
      // counts as expired.
      if (reserved_at > now || static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(reserved_at) >=
                                   static_cast<std::uint64_t>(kForkReservationTimeoutNs)) {
        return false;
      }
      return IsProcessAlive(pid, start_time);
    }
  }
  return false;  // an unknown tag: corrupted, treat as dead so it is reclaimed
}

bool Attachment::Reap(std::uint32_t slot_owner, std::uint64_t observed_state) {
  ProcessSlot& slot = segment_.slot(slot_owner);
  const std::uint32_t generation = slot_state::Generation(observed_state);
  std::uint64_t expected = observed_state;
  // SYNC POINT WRITE: one reaper at a time; a reaper that dies leaves a
  // REAPING slot with its own pid, which the next reaper takes over.
  if (!slot.state.compare_exchange_strong(
          expected, slot_state::Make(generation, SlotTag::kReaping, CurrentProcess().pid),
          std::memory_order_seq_cst)) {
    return false;
  }
  slot.reaper_start_time.store(CurrentProcess().start_time, std::memory_order_relaxed);
  for (std::uint32_t ring = 0; ring < segment_.spec().ring_count; ++ring) {
    rings_[ring]->ResolveDeadOwner(slot_owner);
  }
  for (std::uint32_t ring = 0; ring < segment_.spec().ring_count; ++ring) {
    // exchange: idempotent if a later reaper repeats this after our death.
    SaturatingSubtract(rings_[ring]->control().senders_open,
                       slot.senders[ring].exchange(0, std::memory_order_relaxed));
    SaturatingSubtract(rings_[ring]->control().receivers_open,
                       slot.receivers[ring].exchange(0, std::memory_order_relaxed));
  }
  slot.start_time.store(0, std::memory_order_relaxed);
  slot.reserved_at_ns.store(0, std::memory_order_relaxed);
  slot.reaper_start_time.store(0, std::memory_order_relaxed);
  slot.mapping_address.store(0, std::memory_order_relaxed);
  // The claims are resolved: the slot (and its owner id) may be reused.
  slot.state.store(slot_state::Make(generation, SlotTag::kFree, 0), std::memory_order_seq_cst);
  for (std::uint32_t ring = 0; ring < segment_.spec().ring_count; ++ring) rings_[ring]->WakeAll();
  return true;
}

int Attachment::ReapDeadProcesses() {
  int reaped = 0;
  const std::uint32_t me = owner();
  for (std::uint32_t candidate = 1; candidate <= segment_.process_slot_count(); ++candidate) {
    if (candidate == me) continue;
    const std::uint64_t state = segment_.slot(candidate).state.load(std::memory_order_acquire);
    if (slot_state::Tag(state) == SlotTag::kFree) continue;
    if (IsSlotAlive(candidate)) continue;
    if (Reap(candidate, state)) ++reaped;
  }
  return reaped;
}

void Attachment::PollPeers() {
  if (static_cast<std::uint32_t>(getpid()) != registered_pid_) {
    // A child made without fork(): it must not act under its parent's id.
    (void)RegisterProcess();
  }
  auto& last_scan = segment_.header().last_reap_scan_ns;
  const std::int64_t now = Deadline::NowNanoseconds();
  // Relaxed: only a rate limit; a lost race means one scan more or less.
  std::int64_t previous = last_scan.load(std::memory_order_relaxed);
  // `previous` comes from shared memory: measure the distance without
  // overflow, either way (a racing scanner may have read its clock after
  // ours; a time further in the future is corruption and must not stop the
  // scans for good).
  const std::uint64_t distance =
      previous <= now ? static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(previous)
                      : static_cast<std::uint64_t>(previous) - static_cast<std::uint64_t>(now);
  if (distance < static_cast<std::uint64_t>(kPollIntervalNs)) return;
  if (!last_scan.compare_exchange_strong(previous, now, std::memory_order_relaxed)) return;
  ReapDeadProcesses();
}

bool Attachment::AnySlotOccupied() const {
  for (std::uint32_t candidate = 1; candidate <= segment_.process_slot_count(); ++candidate) {
    // seq_cst: part of the Dekker pairing between the last closer and an opener.
    if (slot_state::Tag(segment_.slot(candidate).state.load(std::memory_order_seq_cst)) !=
        SlotTag::kFree) {
      return true;
    }
  }
  return false;
}

void Attachment::LeaveSegment() {
  {
    Registry& registry = GetRegistry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    if (left_) return;
    left_ = true;
    auto& list = registry.attachments;
    list.erase(std::remove(list.begin(), list.end(), this), list.end());
    const std::uint32_t me = owner();
    if (me != 0) {
      ProcessSlot& slot = segment_.slot(me);
      std::uint64_t state = slot.state.load(std::memory_order_acquire);
      if (slot_state::Tag(state) == SlotTag::kAlive &&
          slot_state::Pid(state) == CurrentProcess().pid) {
        for (std::uint32_t ring = 0; ring < segment_.spec().ring_count; ++ring) {
          SaturatingSubtract(rings_[ring]->control().senders_open,
                             slot.senders[ring].exchange(0, std::memory_order_relaxed));
          SaturatingSubtract(rings_[ring]->control().receivers_open,
                             slot.receivers[ring].exchange(0, std::memory_order_relaxed));
        }
        slot.start_time.store(0, std::memory_order_relaxed);
        slot.state.compare_exchange_strong(
            state, slot_state::Make(slot_state::Generation(state), SlotTag::kFree, 0),
            std::memory_order_seq_cst);
      }
      owner_.store(0, std::memory_order_relaxed);
    }
  }
  for (std::uint32_t ring = 0; ring < segment_.spec().ring_count; ++ring) rings_[ring]->WakeAll();
  if (!segment_.is_named() || (segment_.spec().flags & kRemoveWhenUnused) == 0) return;
  // The last process to leave removes the name. Crashed processes do not
  // count: reap them first.
  ReapDeadProcesses();
  if (AnySlotOccupied()) return;
  auto& lifecycle = segment_.header().lifecycle;
  std::uint32_t ready = static_cast<std::uint32_t>(Lifecycle::kReady);
  // SYNC POINT WRITE (Dekker with Attach): announce, then look again.
  if (!lifecycle.compare_exchange_strong(ready, static_cast<std::uint32_t>(Lifecycle::kUnlinking),
                                         std::memory_order_seq_cst)) {
    return;
  }
  if (AnySlotOccupied()) {
    lifecycle.store(static_cast<std::uint32_t>(Lifecycle::kReady), std::memory_order_seq_cst);
    return;
  }
  segment_.UnlinkNameIfOurs();
  lifecycle.store(static_cast<std::uint32_t>(Lifecycle::kUnlinked), std::memory_order_seq_cst);
}

void Attachment::PrepareFork() {
  child_slot_ = 0;
  if (owner() == 0) return;
  // The child's copies of our ends count from before the fork on; totals
  // before the slot, as everywhere.
  ChangeTotalsByLocalCounts(/*add=*/true);
  std::uint32_t generation = 0;
  child_slot_ = ClaimFreeSlot(SlotTag::kReserved, CurrentProcess(), Deadline::NowNanoseconds(),
                              &generation);
  if (child_slot_ == 0) ChangeTotalsByLocalCounts(/*add=*/false);
}

void Attachment::ParentAfterFork(std::uint32_t child_pid) {
  const std::uint32_t reserved = std::exchange(child_slot_, 0);
  if (reserved == 0 || child_pid == 0) return;
  // Hand the reservation to the child's own pid, so that a child that dies
  // before it adopts the slot is found dead by the next poll (not when the
  // reservation expires). Start time 0 first: while the state names the
  // parent it means "check the pid only", and readers that then see the
  // child's pid (acquire) see 0 or the child's start time, never the
  // parent's.
  ProcessSlot& slot = segment_.slot(reserved);
  std::uint64_t expected = slot.state.load(std::memory_order_acquire);
  if (slot_state::Tag(expected) == SlotTag::kReserved &&
      slot_state::Pid(expected) == registered_pid_) {
    slot.start_time.store(0, std::memory_order_relaxed);
    // SYNC POINT WRITE: fails if the child has adopted the slot meanwhile.
    slot.state.compare_exchange_strong(
        expected, slot_state::Make(slot_state::Generation(expected), SlotTag::kReserved, child_pid),
        std::memory_order_seq_cst);
  }
  if (slot_state::Pid(slot.state.load(std::memory_order_acquire)) == child_pid) {
    // Relaxed: any reader checks the pid alone until it sees this value.
    slot.start_time.store(ReadStartTime(child_pid), std::memory_order_relaxed);
  }
}

void Attachment::ChildAfterFork() {
  const std::uint32_t reserved = child_slot_;
  child_slot_ = 0;
  const ProcessIdentity me = CurrentProcess();
  if (reserved != 0) {
    ProcessSlot& slot = segment_.slot(reserved);
    std::uint64_t observed = slot.state.load(std::memory_order_acquire);
    // Under the parent's pid, or already handed to ours (ParentAfterFork,
    // which runs at the same time in the parent: a CAS lost to its hand-over
    // is tried again with the state it left).
    while (slot_state::Tag(observed) == SlotTag::kReserved &&
           (slot_state::Pid(observed) == registered_pid_ || slot_state::Pid(observed) == me.pid)) {
      const std::uint32_t generation = slot_state::Generation(observed);
      // Start time 0 ("pid only") before CLAIMING names our pid: the field
      // may still hold the parent's start time, which with our pid would
      // read as "dead".
      slot.start_time.store(0, std::memory_order_relaxed);
      if (slot.state.compare_exchange_strong(
              observed, slot_state::Make(generation, SlotTag::kClaiming, me.pid),
              std::memory_order_seq_cst)) {
        slot.start_time.store(me.start_time, std::memory_order_relaxed);
        slot.reserved_at_ns.store(0, std::memory_order_relaxed);
        slot.state.store(slot_state::Make(generation, SlotTag::kAlive, me.pid),
                         std::memory_order_seq_cst);
        owner_.store(reserved, std::memory_order_relaxed);
        registered_pid_ = me.pid;
        return;
      }
    }
  }
  // No reservation (table full) or it was reaped: register afresh. If the
  // table is still full this process has no slot (owner 0): its ends are
  // not counted, and every call on them tries again to register and
  // otherwise returns ResourceExhausted (Endpoint).
  (void)TakeSlot();
}

}  // namespace buffered_pipe::internal
