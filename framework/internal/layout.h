// The shared-memory layout of a buffered_pipe segment, documented in one place.
//
// Everything that two processes must agree on lives here: the header, the
// process table, the ring control words, the cell (frame descriptor) format
// and the commit protocol. The algorithms that use it live in ring.h and
// attachment.h. Every mapping of a segment may sit at a different address, so
// the segment holds offsets, never pointers.
//
// ---------------------------------------------------------------------------
// Segment
// ---------------------------------------------------------------------------
//
//   offset 0                 SegmentHeader            (identity, geometry, lifecycle)
//   header.process_table     ProcessSlot[process_slot_count]  (1..255, one cache line each)
//   ring.control_offset      RingControl              (one per ring, 6 cache lines)
//   ring.cells_offset        Cell[block_count]        (16 bytes each)
//   ring.data_offset         byte[block_count * block_size]
//
// A simplex pipe has one ring; a duplex pipe has two (ring 0 carries messages
// from the second end to the first, ring 1 the other way). All regions are
// 64-byte aligned and data regions are 4096-byte aligned. The creator writes
// everything, then publishes `magic` with a release store; an opener reads
// `magic` with acquire, then validates every field against the file size before
// it computes a single address (see Segment::Open). After open, geometry is
// copied into process-local memory and never read from the segment again.
//
// ---------------------------------------------------------------------------
// Positions
// ---------------------------------------------------------------------------
//
// A ring is `block_count` (a power of two) blocks of `block_size` bytes. Frames
// (messages or pieces of messages) start on a block boundary and span one or
// more whole blocks; a frame may wrap past the end of the data region (it is
// then copied in two pieces). Positions count blocks since the ring was made
// and only grow (53 bits: 2^59 bytes of traffic for the generic pipe). All
// positions start at `block_count` (lap 1), so a zero-filled cell reads as
// "released at position 0", i.e. free.
//
//   released <= head <= tail <= released + capacity_blocks
//
//   tail      next position a sender will claim            (RingControl, sender line)
//   head      next position a receiver will claim          (receiver line)
//   released  every frame below it has been received and   (release line; see Release)
//             released, so its blocks may be reused; moved by senders only
//
// ---------------------------------------------------------------------------
// Cell: one per block, describes the frame that starts at that block
// ---------------------------------------------------------------------------
//
//   word 0: stamp (atomic, the synchronisation word)
//    63                                    11 10           3 2     0
//   +----------------------------------------+--------------+-------+
//   |        position of the frame (53)      |  owner (8)   | state |
//   +----------------------------------------+--------------+-------+
//
//   word 1: extent (atomic, written by the frame's claimer before it
//           publishes the stamp that makes the frame visible)
//    63                  32 31 30 29                                 0
//   +----------------------+-----+------------------------------------+
//   |   blocks (32)        |kind |       payload bytes (30)           |
//   +----------------------+-----+------------------------------------+
//
// A stamp whose position is not the position being looked at is stale (left
// from an earlier lap, or from a block that was inside a longer frame). Only
// the protocol writes stamps, never user data, and positions never repeat, so
// a stale stamp can never be mistaken for a live one.
//
// States and who moves a frame between them:
//
//     RELEASED(p') --claim CAS by a sender--> CLAIMED(p, sender)
//     CLAIMED(p)   --commit (exchange)------> COMMITTED(p)          payload written
//     COMMITTED(p) --claim CAS by receiver--> READING(p, receiver)
//     COMMITTED(p) --copied under the head lock--> RELEASED(p), or left as it
//                                            is when the copier moves `released`
//                                            past p (then stale)
//     READING(p)   --release (store)--------> RELEASED(p)           senders then move `released` past p
//     CLAIMED(p)   --abort / dead sender----> PADDING(p)            never delivered
//     PADDING(p)   --CAS by a receiver------> RELEASED(p)           skipped
//
// Claim: a sender reads `tail` = P and the stamp of cell P; the stamp must be
// older than P. It CASes the stamp to CLAIMED(P, owner), which both claims the
// position and records who holds it, in one atomic step. Only the winner then
// writes the extent and stores tail = P + blocks. A sender that sees
// CLAIMED(P) with tail still P waits for the winner (a few instructions).
//
// Commit: the sender copies the payload into the frame's blocks and
// publishes COMMITTED(P) with a release store (it alone may write a CLAIMED
// stamp that carries its owner id; it reads the stamp back first to detect
// corruption). The store is followed by the load of `data.parked`: one of
// the two uses of the wake-up pairing, see "Waiting".
//
// Receive: every claim at the head is made under the head lock
// (RingControl::head_lock, on the receivers' own line): one CAS of a token
// (nonce, owner) from 0, taken only once the receiver has seen a frame to
// take at head (so that idle receivers never write the line), and dropped
// with a release store by its holder (or by the resolution of a dead
// holder, below). Under the lock the receiver reads `head` = H and the
// stamp of cell H; COMMITTED(H) means the extent and payload are complete.
// Nothing else changes a COMMITTED stamp at head while the lock is held
// (senders and recovery only write CLAIMED, PADDING and READING stamps), so
// what it saw stays true. Then one of two ways:
//
//  - Copied under the lock (a SINGLE frame of at most Ring::kLockedCopyBytes,
//    taken by a call that copies it out at once: no user code runs under
//    the lock). The receiver stores locked_frame = H, then head = H +
//    blocks, copies the payload, and releases without writing the cell:
//    if `released` == H, every frame before this one is released and it
//    stores released = H + blocks; else it stores RELEASED(H) in the cell,
//    as below. Then it drops the lock. The cell keeps its COMMITTED(H)
//    stamp, stale once head has passed H (no step looks at a stamp below
//    head as COMMITTED). With one sender and one receiver this is the hot
//    path: the receiver writes only its own line and the release line; the
//    cell line is written by the sender alone.
//  - Claimed in the cell (longer frames, chunks of a stream, piecewise
//    receives that the caller holds as long as it likes): the receiver
//    CASes the stamp to READING(H, owner) (the claim and its owner, in one
//    step), stores head = H + blocks (only the claimer of H moves head past
//    it; if it dies first, the resolution of its claim does), drops the
//    lock, copies the payload out, and releases the frame as below.
//
// Why the store of `released` is safe beside the walkers' CAS: it is made
// only when `released` == H under the lock, and no other party can move
// `released` from H meanwhile: walkers pass only RELEASED cells and cell H
// says COMMITTED; padding is dropped only under the lock; recovery writes
// only stamps. A walker that read an older value fails its CAS, as
// `released` never takes a value twice.
//
// Release (of a frame claimed in the cell): the receiver stores RELEASED(H)
// in the frame's cell (a release store, on the line its claim has just
// written: no other line changes owner). A sender that lacks space (by
// its hint, below) walks the cells from `released` over every RELEASED
// frame, dropping padding on the way (padding after received frames lies at
// `head`; the walker drops it only if it gets the head lock, else the lock's
// holder is at head and drops it), and moves `released` past all of them
// with one CAS: many frames per walk, while space is plentiful. A RELEASED
// cell stays so until `released` passes it (its position is reused only
// after that), so a walker whose CAS loses to another walker's shorter walk
// can retry from the value it finds. The receiver then loads
// `space.parked`: the other use of the wake-up pairing (a receiver that
// drops the head lock also loads `data.parked`, for receivers waiting on
// the lock). Senders keep `released_hint` on their own line and read
// `released` only when the hint says space is short. "Many frames per walk"
// also holds when the ring is full: a blocking sender that finds no room
// waits, while it spins, for 1/16 of the ring (Ring::kRefillFraction) before
// it claims again, instead of walking over each frame a receiver frees,
// and pauses between its looks (Ring::kRefillPauses), as each look reads
// the release line the receiver writes (only when to claim changes; no
// step, state or order does).
//
// Read-modify-writes per message with one sender and one receiver: two, the
// sender's claim CAS (on the cell) and the receiver's CAS of the head lock
// (on its own line, which no other party writes while it is alone), plus
// one CAS on `released` per walk. The lines that change owner per message
// are the cell line (sender writes, receiver reads) and the release line
// (receiver writes, sender reads about once per ring's worth).
//
// Crash safety. Every claim carries its owner, the process-table slot of the
// process that made it. When a process dies (detected by its pid and start
// time, see process_identity.h), any survivor resolves its claims:
//   CLAIMED(p, dead)  -> PADDING(p). If the dead sender had not yet advanced
//                        tail (tail == p), the resolver takes over the claim,
//                        makes it a one-block padding frame and advances tail.
//                        A half-written message is therefore never delivered.
//   READING(p, dead)  -> RELEASED(p): the message is lost with the receiver
//                        that took it, exactly as if it had returned it just
//                        before dying. (It cannot be handed to another
//                        receiver: other receivers may already have taken
//                        later messages of the same sender, and per-sender
//                        order would break.)
//   head lock of dead -> if it had moved head past locked_frame (head >
//                        locked_frame >= released) and that cell still says
//                        COMMITTED(locked_frame), the frame it copied under
//                        the lock is lost with it: the cell becomes
//                        RELEASED(locked_frame) (the same rule as READING);
//                        if head is still locked_frame, nothing was taken.
//                        Then the lock is freed (a CAS from the dead token).
//                        (locked_frame may be left from an earlier holding:
//                        that frame was released before the lock was
//                        dropped, so its cell is not COMMITTED or `released`
//                        is past it, and nothing changes.)
// and its stream holds (below). Only CLAIMED and READING carry an owner, and
// every live such stamp lies in the live window [released, tail); a stamp
// whose position is below `released` is stale (a frame whose blocks
// senders have reclaimed) and resolving it changes nothing. A process slot is reused
// only after all claims of its dead occupant are resolved, so an owner id is
// never ambiguous.
//
// ---------------------------------------------------------------------------
// Streams: messages larger than one frame
// ---------------------------------------------------------------------------
//
// A message larger than `max_frame_blocks` blocks is streamed as chunks (of
// at most 64 KiB, the sender's choice; receivers take any chunk size):
// one FIRST frame, zero or more MIDDLE frames and one LAST frame. The FIRST
// frame's payload begins with a StreamHeader {total length, writer token}.
// While a stream is written the sender holds `stream_writer` (its token); any
// other sender that claims a frame then sees the hold (seq_cst load after its
// seq_cst claim) and turns its frame into padding, so the chunks of one
// message are contiguous up to padding. The receiver that takes the FIRST
// chunk first takes `stream_reader`; only the holder may claim MIDDLE and LAST
// chunks. Other receivers may still take SINGLE frames (there are none inside
// a stream). A reader that finds a SINGLE or FIRST frame where it expected a
// chunk, or finds `stream_writer` no longer holding the writer token of its
// stream, knows the stream was aborted (sender timed out, closed or died) and
// discards the partial message. If a stream reader dies, `stream_reader`
// becomes DISCARD and every receiver drops the remaining chunks.
//
// ---------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------
//
// Each ring has two wait lines (WaitLine): receivers park on `data` and
// senders on `space`. A waiter spins, then yields, then parks on the futex
// word `signal` after incrementing `parked`; a party that changes state loads
// `parked` and only makes the wake system call when someone is parked.
// Parked waiters wake at least every kPollInterval to look for dead peers.
//
// The two StoreLoad points of the protocol are the two halves of this
// pairing (the waiter's `parked` increment before its re-check, the
// changer's state change before its load of `parked`), proved once in
// wait.h and store_load_barrier.h. Commit and release use the asymmetric
// form (membarrier paid by the waiter; a seq_cst fence where the kernel
// lacks it); every other state change that wakes (stream holds, closes,
// recovery) is a seq_cst read-modify-write followed by a seq_cst load.
// The seq_cst loads elsewhere in the ring are the waiter's re-check (free
// on x86): in the fallback, the pairing needs them in the total order.

#ifndef BUFFERED_PIPE_INTERNAL_LAYOUT_H_
#define BUFFERED_PIPE_INTERNAL_LAYOUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace buffered_pipe::internal {

inline constexpr std::size_t kCacheLineSize = 64;
inline constexpr std::size_t kPageSize = 4096;

// "BPIPESEG" in little-endian byte order.
inline constexpr std::uint64_t kSegmentMagic = 0x4745534550495042ULL;
// Bump on any change to anything in this file.
inline constexpr std::uint32_t kLayoutVersion = 5;

inline constexpr std::uint32_t kMaxRings = 2;
// Owner ids are 8 bits in a stamp; 0 means "no owner", so slots are 1..255.
// The creator chooses the table's size (SegmentHeader::process_slot_count,
// 1 to this); the default is the most.
inline constexpr std::uint32_t kMaxProcessSlotCount = 255;

// Generic pipe geometry.
inline constexpr std::uint64_t kGenericBlockSize = 64;
inline constexpr std::uint64_t kMinimumBufferSize = kGenericBlockSize;
inline constexpr std::uint64_t kMaximumBufferSize = std::uint64_t{1} << 36;

// Largest payload of a single frame (30 bits of the extent word).
inline constexpr std::uint64_t kMaximumFramePayload = (std::uint64_t{1} << 30) - 1;

enum class SegmentKind : std::uint32_t {
  kGeneric = 1,  // variable-length messages, frames of 64-byte blocks
  kStatic = 2,   // fixed-size records, one record per block
};

// Bits of SegmentHeader::flags.
enum SegmentFlag : std::uint32_t {
  // Named segment: the last process to leave removes the name.
  kRemoveWhenUnused = 1u << 0,
};

enum class Lifecycle : std::uint32_t {
  kInitializing = 0,
  kReady = 1,
  kUnlinking = 2,  // the last user is removing the name (named segments only)
  kUnlinked = 3,
};

// --- Stamp -----------------------------------------------------------------

enum class CellState : std::uint32_t {
  kReleased = 0,  // zero so that fresh (zero-filled) memory is free
  kClaimed = 1,
  kCommitted = 2,
  kReading = 3,
  kPadding = 4,
};

namespace stamp {
inline constexpr int kStateBits = 3;
inline constexpr int kOwnerBits = 8;
inline constexpr int kPositionShift = kStateBits + kOwnerBits;
inline constexpr int kPositionBits = 64 - kPositionShift;  // 53
inline constexpr std::uint64_t kPositionLimit = std::uint64_t{1} << kPositionBits;

constexpr std::uint64_t Make(std::uint64_t position, std::uint32_t owner, CellState state) {
  return (position << kPositionShift) | (std::uint64_t{owner & 0xFFu} << kStateBits) |
         static_cast<std::uint64_t>(state);
}
constexpr std::uint64_t Position(std::uint64_t word) { return word >> kPositionShift; }
constexpr std::uint32_t Owner(std::uint64_t word) {
  return static_cast<std::uint32_t>((word >> kStateBits) & 0xFFu);
}
constexpr std::uint32_t RawState(std::uint64_t word) {
  return static_cast<std::uint32_t>(word & 0x7u);
}
constexpr CellState State(std::uint64_t word) { return static_cast<CellState>(RawState(word)); }
}  // namespace stamp

// --- Extent ----------------------------------------------------------------

enum class FrameKind : std::uint32_t {
  kSingle = 0,  // a whole message
  kFirst = 1,   // first chunk of a streamed message (payload starts with StreamHeader)
  kMiddle = 2,
  kLast = 3,
};

namespace extent {
inline constexpr std::uint64_t kBytesMask = (std::uint64_t{1} << 30) - 1;
constexpr std::uint64_t Make(std::uint64_t blocks, FrameKind kind, std::uint64_t bytes) {
  return (blocks << 32) | (static_cast<std::uint64_t>(kind) << 30) | (bytes & kBytesMask);
}
constexpr std::uint64_t Blocks(std::uint64_t word) { return word >> 32; }
constexpr FrameKind Kind(std::uint64_t word) {
  return static_cast<FrameKind>((word >> 30) & 0x3u);
}
constexpr std::uint64_t Bytes(std::uint64_t word) { return word & kBytesMask; }
}  // namespace extent

struct Cell {
  std::atomic<std::uint64_t> stamp;
  std::atomic<std::uint64_t> extent;
};
static_assert(sizeof(Cell) == 16);

// Prefix of the payload of a FIRST chunk.
struct StreamHeader {
  std::uint64_t total_bytes;   // length of the whole message
  std::uint64_t writer_token;  // value of stream_writer while the stream is written
};
static_assert(sizeof(StreamHeader) == 16);

// Hold words (`stream_writer`, `stream_reader`, `head_lock`): 0 = free, otherwise a
// token [nonce:48][flags:8][owner:8]. The owner lets survivors release the
// hold of a dead process; the nonce makes tokens of two threads of one
// process different.
namespace token {
inline constexpr std::uint64_t kDiscardFlag = std::uint64_t{1} << 8;
constexpr std::uint64_t Make(std::uint64_t nonce, std::uint32_t owner) {
  return (nonce << 16) | (owner & 0xFFu);
}
constexpr std::uint32_t Owner(std::uint64_t word) { return static_cast<std::uint32_t>(word & 0xFFu); }
// The reader hold of a stream whose reader died: every receiver drops chunks.
inline constexpr std::uint64_t kDiscard = kDiscardFlag;
}  // namespace token

// --- Control words -----------------------------------------------------------

struct alignas(kCacheLineSize) WaitLine {
  std::atomic<std::uint32_t> signal;  // futex word, bumped by wakers
  std::atomic<std::uint32_t> parked;  // number of parked waiters
  // Set (never cleared) by a waiter whose membarrier(2) failed: changers
  // then fence before loading `parked` (store_load_barrier.h).
  std::atomic<std::uint32_t> waiters_without_barrier;
};

struct alignas(kCacheLineSize) RingControl {
  // Sender line: written by senders only.
  alignas(kCacheLineSize) std::atomic<std::uint64_t> tail;
  // A recent value of `released` (never ahead of it): senders check space
  // against it and read `released` itself only when it looks short.
  std::atomic<std::uint64_t> released_hint;
  std::atomic<std::uint64_t> stream_writer;
  // Release line: moved by senders only, past RELEASED cells (see Release).
  alignas(kCacheLineSize) std::atomic<std::uint64_t> released;
  // Receiver line: written by receivers only (and by a sender that drops
  // padding under the head lock, see Release).
  alignas(kCacheLineSize) std::atomic<std::uint64_t> head;
  std::atomic<std::uint64_t> stream_reader;
  // 0, or the token (see `token`) of the party that may claim at head.
  std::atomic<std::uint64_t> head_lock;
  // The last frame a holder of head_lock took without a cell claim (for the
  // resolution of a dead holder); written under the lock before head moves.
  std::atomic<std::uint64_t> locked_frame;
  // Receivers park here; senders read `parked` after each commit.
  WaitLine data;
  // Senders park here; receivers read `parked` after each release.
  WaitLine space;
  // Open ends in all processes (sum of the live process slots' counts).
  alignas(kCacheLineSize) std::atomic<std::uint32_t> senders_open;
  std::atomic<std::uint32_t> receivers_open;
};
static_assert(sizeof(RingControl) == 6 * kCacheLineSize);

// --- Process table -----------------------------------------------------------

enum class SlotTag : std::uint32_t {
  kFree = 0,
  kClaiming = 1,  // being taken by `pid`; start time may not be written yet (0)
  kReserved = 2,  // taken by parent `pid` for a child being forked
  kAlive = 3,
  kReaping = 4,   // `pid` is resolving the claims of the dead occupant
};

// Slot state word: [generation:24][tag:8][pid:32]; generation changes every
// time the slot is taken so that a CAS can never confuse two occupants.
namespace slot_state {
constexpr std::uint64_t Make(std::uint32_t generation, SlotTag tag, std::uint32_t pid) {
  return (std::uint64_t{generation & 0xFFFFFFu} << 40) |
         (static_cast<std::uint64_t>(tag) << 32) | pid;
}
constexpr std::uint32_t Generation(std::uint64_t word) {
  return static_cast<std::uint32_t>(word >> 40);
}
constexpr SlotTag Tag(std::uint64_t word) { return static_cast<SlotTag>((word >> 32) & 0xFFu); }
constexpr std::uint32_t Pid(std::uint64_t word) { return static_cast<std::uint32_t>(word); }
}  // namespace slot_state

struct alignas(kCacheLineSize) ProcessSlot {
  std::atomic<std::uint64_t> state;
  // Start time (clock ticks after boot) of `pid`: guards against pid reuse.
  std::atomic<std::uint64_t> start_time;
  // CLOCK_MONOTONIC time of a fork reservation.
  std::atomic<std::int64_t> reserved_at_ns;
  // Ends open in this process, per ring.
  std::atomic<std::uint32_t> senders[kMaxRings];
  std::atomic<std::uint32_t> receivers[kMaxRings];
  // REAPING: start time of the reaping process `pid` (0 until written: then
  // its pid alone is checked). Without it, a reaper killed mid-reap whose pid
  // is reused by an unrelated process would look alive for ever, and the
  // name could never be found stale.
  std::atomic<std::uint64_t> reaper_start_time;
  // Address at which the occupant maps the segment (0: not known). exec()
  // drops every mapping of a process: a survivor that finds the occupant
  // alive but the mapping gone (/proc/<pid>/map_files) knows it has exec'd
  // and no longer holds the ends it counts, and reaps it like a dead one.
  std::atomic<std::uint64_t> mapping_address;
};
static_assert(sizeof(ProcessSlot) == kCacheLineSize);

// --- Header ------------------------------------------------------------------

struct RingGeometry {
  std::uint64_t block_size;        // bytes per block
  std::uint64_t block_count;       // power of two
  std::uint64_t capacity_blocks;   // at most this many blocks in flight (<= block_count)
  std::uint64_t max_frame_blocks;  // largest frame; longer messages are streamed
  std::uint64_t record_size;       // static pipe: bytes per record; generic: 0
  std::uint64_t control_offset;
  std::uint64_t cells_offset;
  std::uint64_t data_offset;
  std::uint64_t type_fingerprint;  // message type of a typed pipe; 0 = bytes
  std::uint64_t codec_id;          // codec of a typed pipe; 0 = none
};

struct alignas(kCacheLineSize) SegmentHeader {
  // Identity: written once by the creator; `magic` is published last.
  std::atomic<std::uint64_t> magic;
  std::uint32_t layout_version;
  std::uint32_t header_size;
  std::uint64_t total_size;
  std::uint32_t kind;  // SegmentKind
  std::uint32_t ring_count;
  std::uint32_t process_slot_count;  // 1..kMaxProcessSlotCount
  std::uint32_t flags;  // SegmentFlag bits
  std::uint64_t process_table_offset;
  std::uint64_t instance_id;  // random; tells two segments of one name apart
  RingGeometry rings[kMaxRings];
  // Lifecycle line.
  alignas(kCacheLineSize) std::atomic<std::uint32_t> lifecycle;
  // CLOCK_MONOTONIC time of the last scan for dead processes (rate limit).
  std::atomic<std::int64_t> last_reap_scan_ns;
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "shared atomics must be lock-free to work across process boundaries");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
              "shared atomics must be lock-free to work across process boundaries");
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
              "futex words are std::atomic<uint32_t>");

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_LAYOUT_H_
