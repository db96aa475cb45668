// Ring: the many-to-many message protocol over one ring of a segment.
//
// The protocol (claim -> write -> commit -> claim -> read -> release, owners
// in every claim, streams for long messages, recovery from dead processes) is
// specified in layout.h; this is its implementation. The generic and the
// static pipe both use it: a static ring is a ring whose frames are always one
// block holding one record.
//
// Sending:   Ring::BeginSend -> SendTransaction::Write... -> Commit
// Receiving: Ring::BeginReceive -> ReceiveTransaction::NextPiece... (until empty)
//
// A transaction that is destroyed before it completes is aborted: an
// uncommitted message is turned into padding and never delivered; an
// unfinished received message is dropped (the rest of a stream is discarded).
//
// Thread-safety: a Ring may be used by any number of threads and processes
// at once. A transaction belongs to the thread that began it and must not
// outlive the Ring, nor cross a fork.

#ifndef BUFFERED_PIPE_INTERNAL_RING_H_
#define BUFFERED_PIPE_INTERNAL_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/internal/owner_watch.h"
#include "buffered_pipe/internal/segment.h"
#include "buffered_pipe/internal/wait.h"

namespace buffered_pipe::internal {

class Ring;

// What the ring needs from the process attached to it.
class RingClient {
 public:
  // Owner id (1..255) of the calling process in this segment.
  virtual std::uint32_t owner() const = 0;
  // Looks for dead processes and resolves their claims (rate limited).
  virtual void PollPeers() = 0;
  // The ends of `ring` open in living processes, counted from the process
  // table (slower than RingControl's totals, and exact where they may be
  // too high, see attachment.h).
  virtual std::uint32_t CountOpenEnds(const Ring& ring, bool senders) const = 0;
  // Whether process slot `owner` is free (true for ids that name no slot).
  // A claim or hold whose owner's slot is free can never be finished: see
  // owner_watch.h.
  virtual bool IsSlotFree(std::uint32_t owner) const = 0;

 protected:
  ~RingClient() = default;
};

class PartialReceiveSlot;

// Per-call parameters.
struct CallContext {
  Deadline deadline = Deadline::Infinite();
  // The calling end's "closed" flag: a blocked call returns Cancelled when it
  // becomes true. May be null.
  const std::atomic<bool>* closed = nullptr;
  // Where the calling end keeps a streamed message that a whole-message
  // receive stopped in the middle of (see Ring::ReceiveInto). May be null.
  PartialReceiveSlot* partial = nullptr;
};

// Size of a message whose length is only known when it is committed.
inline constexpr std::uint64_t kUnknownSize = std::numeric_limits<std::uint64_t>::max();


// The state of a transaction, one plain value: a move copies it whole and
// empties the source (ring_ = nullptr), instead of field by field.
namespace ring_internal {
struct SendTransactionState {
  Ring* ring_ = nullptr;
  CallContext context_;
  std::uint32_t owner_ = 0;
  std::uint64_t total_ = 0;    // message size, or kUnknownSize
  std::uint64_t written_ = 0;  // payload bytes written so far
  bool streaming_ = false;
  bool first_chunk_ = false;   // the current frame is the FIRST chunk
  std::uint64_t writer_token_ = 0;
  // Current frame.
  std::uint64_t position_ = 0;
  std::uint64_t frame_blocks_ = 0;
  std::uint64_t frame_capacity_ = 0;  // payload bytes the frame can hold
  std::uint64_t frame_used_ = 0;      // payload bytes written into it (incl. stream header)
};

struct ReceiveTransactionState {
  Ring* ring_ = nullptr;
  CallContext context_;
  std::uint32_t owner_ = 0;
  std::uint64_t size_ = 0;
  bool streaming_ = false;
  bool finished_ = false;
  std::uint64_t reader_token_ = 0;
  std::uint64_t writer_token_ = 0;
  // Current frame.
  bool frame_held_ = false;
  // The head lock's token while the frame was taken under it (copied out
  // and released at once, layout.h "Receive"); 0 for a frame claimed in its
  // cell.
  std::uint64_t head_lock_ = 0;
  std::uint64_t position_ = 0;
  std::uint64_t frame_blocks_ = 0;
  std::uint64_t frame_bytes_ = 0;
  std::uint64_t frame_offset_ = 0;
  FrameKind kind_ = FrameKind::kSingle;
};
}  // namespace ring_internal

class SendTransaction : private ring_internal::SendTransactionState {
 public:
  SendTransaction() = default;
  SendTransaction(SendTransaction&& other) noexcept;
  SendTransaction& operator=(SendTransaction&& other) noexcept;
  SendTransaction(const SendTransaction&) = delete;
  SendTransaction& operator=(const SendTransaction&) = delete;
  ~SendTransaction() { Abort(); }

  // Appends `size` bytes to the message. Streamed messages may wait for space
  // here (honouring the transaction's deadline); on any error the message is
  // aborted.
  absl::Status Write(const void* data, std::size_t size);
  // The room left in the current frame when it is contiguous (never wraps):
  // write into it, then Advance(). Empty if the frame wraps or is full.
  std::span<std::byte> WritableSpan();
  void Advance(std::size_t size);

  // Publishes the message. A known-size message must have been written whole.
  absl::Status Commit();
  // Withdraws the message; nothing of it is delivered.
  void Abort();

  bool active() const { return ring_ != nullptr; }

 private:
  friend class Ring;
  absl::Status CommitCurrentFrame(FrameKind kind);
  absl::Status NextChunk();

};

class ReceiveTransaction : private ring_internal::ReceiveTransactionState {
 public:
  ReceiveTransaction() = default;
  ReceiveTransaction(ReceiveTransaction&& other) noexcept;
  ReceiveTransaction& operator=(ReceiveTransaction&& other) noexcept;
  ReceiveTransaction(const ReceiveTransaction&) = delete;
  ReceiveTransaction& operator=(const ReceiveTransaction&) = delete;
  ~ReceiveTransaction() { Abandon(); }

  // Length of the message as announced by its sender, or kUnknownSize. For a
  // streamed message this comes from shared memory: it is a hint, checked
  // against what actually arrives, never a trusted allocation size.
  std::uint64_t size() const { return size_; }

  // The next contiguous piece of the message; an empty span at its end. The
  // piece stays valid until the next call. For a streamed message this may
  // wait for the sender, until `deadline` (the one the message was begun
  // with if none is given). Errors:
  // - DeadlineExceeded / Unavailable (a non-blocking deadline): the rest has
  //   not arrived in time. The transaction stays active and keeps its place
  //   in the stream: call NextPiece again to resume (nothing is lost).
  // - Aborted: the sender gave up or died mid-message; Cancelled: the end was
  //   closed; DataLoss: corrupted memory. The message is then discarded and
  //   the transaction is no longer active.
  absl::StatusOr<std::span<const std::byte>> NextPiece();
  absl::StatusOr<std::span<const std::byte>> NextPiece(const Deadline& deadline);

  // Forgets the transaction without touching shared memory: for a copy
  // inherited by a forked child, whose holds belong to the parent.
  void Forget() { ring_ = nullptr; }

  // Drops the rest of the message.
  void Abandon();

  bool active() const { return ring_ != nullptr; }
  // Whether the message is streamed (chunks that may still be on their way).
  bool streaming() const { return streaming_; }

 private:
  friend class Ring;
  // Takes the claimed frame at `position` as the current one.
  void HoldFrame(std::uint64_t position, std::uint64_t extent_word);
  // Releases the current frame (dropping the head lock if it was taken
  // under it).
  absl::Status ReleaseFrame();

};

// A whole-message receive that timed out in the middle of a streamed
// message: its transaction (which keeps the stream's reader hold, so no other
// receiver can take the rest) and the bytes taken so far. The receiving end
// owns one and hands it to every whole-message receive, so that its next
// receive resumes the message. Used by one thread at a time.
struct PartialReceive {
  ReceiveTransaction transaction;
  std::string bytes;
  std::uint32_t pid = 0;  // the process that took it (a forked copy is not its owner)
  bool active() const { return transaction.active(); }
};

// An end's place for its PartialReceive: at most one exists per end, as at
// most one stream per ring is being read. Lock-free (an atomic pointer), so
// that it is usable in a forked child whatever the parent's threads were
// doing; a child's inherited copy is forgotten, never resumed or released
// (the parent still owns the stream).
//
// Thread-safety: any thread may call any member; moving and destroying must
// not race with other calls.
class PartialReceiveSlot {
 public:
  PartialReceiveSlot() = default;
  PartialReceiveSlot(const PartialReceiveSlot&) = delete;
  PartialReceiveSlot& operator=(const PartialReceiveSlot&) = delete;
  ~PartialReceiveSlot() { Clear(); }

  // Whether a partial message waits here. seq_cst: read inside the parked
  // re-check of a receive (see Ring::TryBeginReceive), paired with Keep().
  bool occupied() const { return partial_.load(std::memory_order_seq_cst) != nullptr; }
  // Takes the partial message out (null if none, or if it was inherited
  // from a parent process, which is then forgotten).
  std::unique_ptr<PartialReceive> Take();
  // Puts a partial message back for the next receive. The caller then wakes
  // the ring's parked receivers: one of them may be a receive of this very
  // end, which must resume it rather than wait behind it.
  void Keep(std::unique_ptr<PartialReceive> partial);
  // Drops the partial message (the rest of its stream is discarded).
  void Clear();
  // Moves `other`'s partial message here (after Clear()).
  void TakeFrom(PartialReceiveSlot& other);

 private:
  std::atomic<PartialReceive*> partial_{nullptr};
};

// A point-in-time view of a ring, for tools and tests.
struct RingSnapshot {
  std::uint64_t tail = 0;
  std::uint64_t head = 0;
  std::uint64_t released = 0;
  std::uint64_t blocks_in_flight = 0;    // tail - released
  std::uint64_t messages_in_flight = 0;  // committed, not yet received frames
  std::uint64_t bytes_in_flight = 0;     // their payload bytes
  std::uint32_t senders_open = 0;
  std::uint32_t receivers_open = 0;
};

class Ring {
 public:
  // SINGLE frames of at most this many payload bytes, taken by a call that
  // copies them out at once, are copied under the head lock and released
  // without a write to their cell (layout.h, "Receive"); longer ones are
  // claimed in their cell, so that receivers copy them in parallel.
  static constexpr std::uint64_t kLockedCopyBytes = 2048;

  Ring(const RingView& view, RingClient* client);
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  const RingSpec& spec() const { return spec_; }
  // Largest payload that travels as one frame.
  std::uint64_t max_frame_payload() const { return spec_.max_frame_blocks * spec_.block_size; }

  // Starts a message of `size` bytes (or kUnknownSize). Waits for room as
  // the context allows. Errors: broken pipe, Cancelled, DeadlineExceeded,
  // Unavailable (non-blocking), DataLoss.
  absl::StatusOr<SendTransaction> BeginSend(std::uint64_t size, const CallContext& context);

  // Takes the next message. Errors: end of stream, Cancelled,
  // DeadlineExceeded, Unavailable (non-blocking), DataLoss.
  absl::StatusOr<ReceiveTransaction> BeginReceive(const CallContext& context);

  // Whole-message shortcuts: the same protocol without a transaction object
  // for messages that fit one frame (the hot path); longer ones go through
  // the transactions.
  absl::Status Send(const void* data, std::uint64_t size, const CallContext& context);
  // Replaces `message` with the next message (a stream cut short by its
  // sender is skipped). DataLoss if a streamed message's size disagrees with
  // its announcement.
  //
  // A streamed message whose rest does not arrive by the deadline is not
  // lost: ReceiveInto returns DeadlineExceeded (or Unavailable) and keeps the
  // transaction and the bytes so far in `context.partial`; the next receive
  // with the same slot resumes that message before anything else. (With no
  // slot, the static pipe's case, whose records never stream, such a
  // message is dropped.)
  absl::Status ReceiveInto(std::string& message, const CallContext& context);
  // Receives the next message whole, as ReceiveInto does, and hands its
  // bytes to `visit`: in place in the ring when it is one contiguous frame
  // (no copy; the frame is released once `visit` returns or throws), else
  // gathered into `scratch` first. The bytes in place are shared memory a
  // peer may still write: `visit` bounds every read by their size.
  absl::Status ReceiveVisiting(absl::FunctionRef<void(std::span<const std::byte>)> visit,
                               std::string& scratch, const CallContext& context);
  // Receives a message of exactly `size` bytes into `target`; a message of
  // another size is dropped and reported as DataLoss. Resumes and keeps
  // partial messages as ReceiveInto does.
  absl::Status ReceiveExactly(void* target, std::uint64_t size, const CallContext& context);
  // Takes the next message for piecewise reading: the partial message kept
  // in `context.partial` if there is one (its bytes so far then come
  // first), else as BeginReceive.
  absl::StatusOr<PartialReceive> BeginReceiveResuming(const CallContext& context);
  // Keeps a streamed message cut short in `context.partial` for the next
  // receive (or drops it if there is no slot) and wakes the receivers that
  // may wait behind it.
  void KeepPartial(const CallContext& context, PartialReceive message);

  // Waits until an end of the kind (`senders`: a sending end) is open.
  // Errors: Cancelled, DeadlineExceeded, Unavailable (non-blocking).
  absl::Status WaitForEnds(bool senders, const CallContext& context);

  // Resolves every claim and stream hold of `dead_owner` (see layout.h).
  void ResolveDeadOwner(std::uint32_t dead_owner);

  // Wakes every parked sender and receiver (after ends open/close or a
  // recovery).
  void WakeAll();

  RingSnapshot Snapshot() const;

  RingControl& control() const { return *control_; }

 private:
  friend class SendTransaction;
  friend class ReceiveTransaction;

  Cell& CellAt(std::uint64_t position) const {
    return cells_[position & (spec_.block_count - 1)];
  }
  std::byte* BlockAt(std::uint64_t position) const {
    return data_ + (position & (spec_.block_count - 1)) * spec_.block_size;
  }
  std::uint64_t BlocksFor(std::uint64_t payload_bytes) const;

  // Copies between a frame's payload (starting `offset` bytes into the frame
  // at `position`) and local memory, handling the wrap at the ring's end.
  void CopyIn(std::uint64_t position, std::uint64_t offset, const std::byte* source,
              std::uint64_t size) const;
  void CopyOut(std::uint64_t position, std::uint64_t offset, std::byte* target,
               std::uint64_t size) const;
  // Contiguous bytes of the frame payload from `offset` (up to `size`).
  std::span<std::byte> Contiguous(std::uint64_t position, std::uint64_t offset,
                                  std::uint64_t size) const;

  absl::Status ValidateExtent(std::uint64_t extent_word) const;
  absl::StatusOr<std::uint64_t> AdvanceReleased(std::uint64_t tail);

  // One attempt to claim `blocks` blocks at the tail for `owner`: when it
  // succeeds, the position of the claimed frame.
  struct ClaimAttempt : Attempt {
    ClaimAttempt() = default;
    ClaimAttempt(Attempt attempt) : Attempt(std::move(attempt)) {}  // NOLINT: a wait or an error
    std::uint64_t position = 0;
  };
  // A sender that finds the ring full waits, while it spins, for
  // 1/kRefillFraction of the ring to be free (Claim).
  static constexpr std::uint64_t kRefillFraction = 16;
  // Pauses between two looks of a sender that waits for that batch.
  static constexpr int kRefillPauses = 16;
  // `recount`: check open ends against the process table (AnyEndOpen).
  // `room_wanted`: blocks that must be free before it claims (at least
  // `blocks`, at most the ring): Claim's refill batch (kRefillFraction).
  ClaimAttempt TryClaim(std::uint64_t blocks, std::uint32_t owner, std::uint64_t writer_token,
                        const CallContext& context, bool recount, OwnerWatch& watch,
                        std::uint64_t room_wanted);
  // Whether an end of the kind is open: the total, and with `recount` (a
  // caller that has waited a poll interval) the process table too.
  bool AnyEndOpen(bool senders, bool recount) const;
  // Claims `blocks` blocks, waiting as the context allows: finished, with
  // the position when the status is OK.
  ClaimAttempt Claim(std::uint64_t blocks, std::uint32_t owner, std::uint64_t writer_token,
                     const CallContext& context);
  // Publishes a claimed frame as COMMITTED or PADDING.
  absl::Status Publish(std::uint64_t position, std::uint32_t owner, CellState state);

  // Waits for the next message and claims its first frame into `transaction`.
  // `copy_at_once`: the caller copies a one-frame message out and releases
  // it before it does anything else (so a small one may be taken under the
  // head lock).
  absl::Status WaitForMessage(const CallContext& context, ReceiveTransaction& transaction,
                              bool copy_at_once);

  // The head lock (layout.h, "Receive") while a receiving step holds it:
  // dropped when it goes out of scope, unless handed to a transaction.
  class HeadLock {
   public:
    HeadLock() = default;
    HeadLock(Ring* ring, std::uint64_t token) : ring_(ring), token_(token) {}
    HeadLock(HeadLock&& other) noexcept
        : ring_(other.ring_), token_(std::exchange(other.token_, 0)) {}
    HeadLock& operator=(HeadLock&& other) noexcept {
      if (this != &other) {
        Drop();
        ring_ = other.ring_;
        token_ = std::exchange(other.token_, 0);
      }
      return *this;
    }
    ~HeadLock() { Drop(); }
    bool held() const { return token_ != 0; }
    // Hands the lock over (to a transaction, which drops it on release).
    std::uint64_t Keep() { return std::exchange(token_, 0); }

   private:
    void Drop() {
      if (token_ != 0) ring_->UnlockHead(std::exchange(token_, 0));
    }
    Ring* ring_ = nullptr;
    std::uint64_t token_ = 0;
  };
  // Takes the head lock for `owner` if it is free (not held on return
  // otherwise; the holder's owner is then named to `watch`, if any).
  HeadLock TryLockHead(std::uint32_t owner, OwnerWatch* watch);
  // Drops the head lock and wakes whoever may wait for it: receivers, and
  // a sender whose walk stopped at padding behind it.
  void UnlockHead(std::uint64_t token);

  // What a receiver finds at `head`: when the attempt succeeded, an empty
  // cell or a COMMITTED frame with a valid extent. Frames in between states
  // are handled by LookAtHead (head helped past a claimed frame, padding
  // dropped) and reported as kRetry; a frame being written as kBlocked.
  struct HeadFrame : Attempt {
    HeadFrame() = default;
    HeadFrame(Attempt attempt) : Attempt(std::move(attempt)) {}  // NOLINT: a wait or an error
    std::uint64_t head = 0;
    std::uint64_t observed = 0;     // the stamp of its cell
    std::uint64_t extent_word = 0;  // valid for a COMMITTED frame
    bool empty = false;             // nothing claimed at head yet
    HeadLock lock;                  // held for a COMMITTED frame
  };
  // The start of every receiving attempt: Cancelled once the end is
  // closed, else what lies at head (a COMMITTED frame with the head lock
  // held, so that the caller may claim it).
  HeadFrame LookAtHead(const CallContext& context, std::uint32_t owner, OwnerWatch& watch);

  // Receiving steps. They fill `transaction` when they take a frame.
  Attempt TryBeginReceive(const CallContext& context, bool recount, bool copy_at_once,
                          OwnerWatch& watch, ReceiveTransaction& transaction);
  Attempt TryNextChunk(ReceiveTransaction& transaction, OwnerWatch& watch);
  // The poll of a blocked call: dead peers, then the owner it waits for
  // (DataLoss once that owner is orphaned, see owner_watch.h).
  absl::Status PollFor(OwnerWatch& watch);
  // A one-frame message WaitForMessage took: copied into `message`, released.
  absl::Status TakeFrame(ReceiveTransaction& transaction, std::string& message);
  // ReceiveInto's work on the message WaitForMessage took: into `message`,
  // or `skipped` (nothing delivered, the caller takes the next message: its
  // sender gave up, or another thread of this end resumed it).
  struct WholeMessage {
    absl::Status status = absl::OkStatus();
    bool skipped = false;
  };
  WholeMessage TakeWhole(ReceiveTransaction& transaction, std::string& message,
                         const CallContext& context);
  // Reads the rest of a streamed message into `message` (appending).
  absl::Status ReadRest(ReceiveTransaction& transaction, std::string& message,
                        const Deadline& deadline);

  // Claims the COMMITTED frame at `head` (stamp `observed`) for reading.
  bool ClaimForReading(std::uint64_t head, std::uint64_t observed, std::uint64_t blocks,
                       std::uint32_t owner);
  // Releases the frame at `position` read by `owner` and wakes senders.
  absl::Status ReleaseRead(std::uint64_t position, std::uint32_t owner);
  // Releases the frame at `position` taken under the head lock, then drops
  // the lock (`token`).
  absl::Status ReleaseLocked(std::uint64_t position, std::uint64_t blocks, std::uint64_t token);
  // Moves `head` past the frame at `head` whose dead reader's claim was resolved.
  void HelpHead(std::uint64_t head, std::uint64_t observed);
  // Receives and drops the frame at `head` (padding or orphan chunk).
  void Drop(std::uint64_t head, std::uint64_t observed, std::uint64_t blocks, std::uint32_t owner);
  void ReleaseReaderHold(std::uint64_t token, std::uint64_t replacement);
  void ReleaseWriterHold(std::uint64_t token);

  void ResolveDeadClaim(Cell& cell, std::uint64_t observed);
  void ResolveDeadRead(Cell& cell, std::uint64_t observed);
  // Frees the head lock of a dead holder, and the frame it had taken under
  // it (layout.h, "Crash safety").
  void ResolveDeadHeadLock(std::uint32_t dead_owner);

  absl::Status Corrupt(const char* what) const;
  bool Cancelled(const CallContext& context) const {
    // seq_cst: read inside the parked re-check, pairs with close()'s store.
    return context.closed != nullptr && context.closed->load(std::memory_order_seq_cst);
  }

  RingSpec spec_;
  RingControl* control_;
  Cell* cells_;
  std::byte* data_;
  std::uint64_t data_size_;
  RingClient* client_;
};

// A token for a stream hold of `owner`, unique among the threads of a process.
std::uint64_t NewStreamToken(std::uint32_t owner);

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_RING_H_
