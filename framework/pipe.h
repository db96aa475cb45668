// The generic pipe: variable-length byte messages between threads and
// processes through a shared-memory ring.
//
// The C++ counterpart of Python's buffered_pipe.Generic_Pipe (and of
// multiprocessing.Pipe):
//
//   absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
//       buffered_pipe::Pipe({.buffer_size = 2048, .duplex = false});
//   if (!pipe.ok()) return pipe.status();
//   auto [receiver, sender] = std::move(*pipe);
//   if (fork() == 0) {                       // ends work across fork()...
//     (void)sender.send_bytes("Hello, world!");
//     _exit(0);
//   }
//   std::thread reader([&] {                 // ...and across threads
//     absl::StatusOr<std::string> message = receiver.recv_bytes();
//     if (message.ok()) std::cout << *message << "\n";
//   });
//
// Guarantees
// - Any number of threads and processes may send on a sending end and
//   receive on a receiving end at once. Every message is delivered exactly
//   once and whole, to one receiver. The messages of one sender (one thread,
//   or one process sending from one thread) are taken out of the pipe in the
//   order they were sent.
// - Messages of any length, from 0 bytes to many times buffer_size: a
//   message longer than half the buffer is streamed through it in chunks;
//   while it streams, other senders wait.
// - Blocking calls spin for a few microseconds, then sleep on a futex: an idle
//   blocked call uses no CPU (it wakes every 50 ms to look for dead peers).
//   `_for` / `_until` variants take a timeout or a Deadline on the monotonic
//   clock; `try_` variants never wait (they return Unavailable instead).
// - End of stream: once every sending end is closed, in every process (a
//   process that exits or dies closes its ends), receivers get the messages
//   still in the pipe and then OutOfRange (IsEndOfStream). Sending once every
//   receiving end is closed returns FailedPrecondition (IsBrokenPipe).
// - Crashes: any process may be killed at any point. A half-written message
//   is never delivered; messages of the surviving senders are never lost;
//   survivors blocked on the dead process return (or carry on) within about
//   100 ms (two 50 ms polls; more on a heavily loaded machine). A message that a killed receiver had already taken is lost with
//   it, as if it had been delivered just before the kill. A killed sender's
//   message in progress is never delivered.
// - fork() and exec(): a child made by fork() holds copies of every end
//   (registered before fork() returns); it closes them by closing or
//   destroying them, by exiting, or by calling exec() (the new program has
//   none of the mappings: survivors notice at their next poll, within about
//   50 ms, where /proc/<pid>/map_files is readable to them, i.e. same user
//   or root; otherwise at its exit). posix_spawn runs no fork handlers: its
//   child never counts.
// - Processes: each pipe has max_processes process slots (PipeOptions; 255
//   by default, the most). A process that cannot get one (more processes
//   attached, or a forked child when the table was full) gets ResourceExhausted from its calls on the ends (each call tries
//   again to get a slot); its ends never count, so nothing it does changes
//   what other processes see.
// - Memory: an anonymous pipe's memory goes away with its last mapping. A
//   named pipe (CreateNamedPipe) is a file in /dev/shm, created exclusively,
//   mode 0600 by default; unless remove_when_unused is false, the last
//   process to close (or destroy) its ends removes it (processes that died
//   do not count).
//   A stale name left behind when every user crashed is reclaimed by
//   CreateNamedPipe (replace_stale) or removed with RemoveNamedPipe.
//
// Errors are absl::Status values, see status.h. A call that fails has sent
// or taken nothing.
//
// Thread-safety: a PipeEnd may be used by many threads at once, including
// close() while other threads are blocked in it (they return Cancelled).
// Moving or destroying an end must not race with other calls on it.

#ifndef BUFFERED_PIPE_PIPE_H_
#define BUFFERED_PIPE_PIPE_H_

// Bazel 4.2.3 cannot pass a language standard on to the targets that depend
// on a library, so a consumer sets it itself; say which flag, not why
// <span> or concepts fail.
#if __cplusplus < 202002L
#error "buffered_pipe needs C++20: compile with -std=c++20 (Bazel: build --cxxopt=-std=c++20 in .bazelrc)"
#endif

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/internal/endpoint.h"
#include "buffered_pipe/internal/factory.h"
#include "buffered_pipe/message.h"
#include "buffered_pipe/message_end.h"

namespace buffered_pipe {

namespace internal {
struct DescriptorAccess;  // internal/descriptor_access.h
}  // namespace internal

// The most processes a pipe can serve at once (PipeOptions::max_processes):
// owner ids are 8 bits in the ring's synchronisation words.
inline constexpr std::uint32_t kMaxProcesses = internal::kMaxProcessSlotCount;

struct PipeOptions {
  // Bytes of ring, at most 2^36; rounded up to a power of two of at least
  // 64 (one block): the seed's 2, 3, 5, 16 or 20 all become 64.
  std::uint64_t buffer_size = 64 * 1024;
  // false: (receiving end, sending end); true: two ends that both send and
  // receive, each with its own ring of buffer_size bytes.
  bool duplex = false;
  // How many processes may hold ends at once: 1 to 255 (kMaxProcesses), the
  // size of the pipe's process table (64 bytes of shared memory each). A
  // process beyond it gets ResourceExhausted (see "Processes" above); a
  // process that closes all its ends, exits or dies frees its slot.
  std::uint32_t max_processes = kMaxProcesses;
};

// Whose /dev/shm file a named pipe may be, for this process to open it or
// reclaim its stale name. /dev/shm is writable by every local user: any of
// them can create a name first ("squat" it), then read what a service's
// clients send to it or feed them forged messages. By default only files of
// the caller's own user or of root are trusted (a 0666 pipe made by a root
// service still serves other users); another owner is PermissionDenied.
struct TrustedOwner {
  static TrustedOwner SelfOrRoot() { return TrustedOwner{}; }
  // That user's files too (besides the caller's and root's).
  static TrustedOwner User(uid_t uid) {
    return TrustedOwner{{internal::OwnerPolicy::Kind::kUser, uid}};
  }
  // Any owner: only where every local user is trusted.
  static TrustedOwner Any() { return TrustedOwner{{internal::OwnerPolicy::Kind::kAny, 0}}; }
  internal::OwnerPolicy policy = {};
};

// How OpenNamedPipe / OpenNamedStaticPipe open a name.
struct OpenOptions {
  TrustedOwner trusted_owner = TrustedOwner::SelfOrRoot();
};

struct NamedPipeOptions {
  // Permission bits of /dev/shm/<name>; owner-only by default.
  mode_t mode = 0600;
  // The last process to close its ends removes the name.
  bool remove_when_unused = true;
  // If the name exists but every process that used it is dead, remove it and
  // create the pipe afresh (instead of AlreadyExists). So too a name whose
  // creator died before it finished making the pipe (still unfinished after
  // the 2 s an opener waits; the call then takes those 2 s). A stale name
  // whose file another user owns (see TrustedOwner) is PermissionDenied.
  bool replace_stale = true;
  TrustedOwner trusted_owner = TrustedOwner::SelfOrRoot();
};

namespace pipe_internal {
// The creation rules of `named`, for every kind of pipe (pipe.cc).
internal::NamedCreation ToNamedCreation(const NamedPipeOptions& named);
}  // namespace pipe_internal

// Which end of a named pipe to open: the first or second element of the
// pair CreateNamedPipe returned.
enum class Side { kFirst = 0, kSecond = 1 };
inline constexpr Side kReceivingSide = Side::kFirst;  // of a simplex pipe
inline constexpr Side kSendingSide = Side::kSecond;   // of a simplex pipe

// How many ends of the other kind a pipe end has: see PipeEnd::peers().
using PeerCount = internal::PeerCount;

class PipeEnd {
 public:
  // An empty end; every call returns InvalidArgument.
  PipeEnd() = default;
  PipeEnd(PipeEnd&&) noexcept = default;
  PipeEnd& operator=(PipeEnd&&) noexcept = default;
  PipeEnd(const PipeEnd&) = delete;
  PipeEnd& operator=(const PipeEnd&) = delete;
  ~PipeEnd() = default;  // closes

  bool is_open() const { return endpoint_.is_open(); }
  bool can_send() const { return endpoint_.can_send(); }
  bool can_recv() const { return endpoint_.can_receive(); }
  // Bytes of ring this end sends into or receives from, after rounding (0
  // for an empty or closed end).
  std::uint64_t buffer_size() const;

  // --- Sending: blocks while the pipe is full.
  absl::Status send_bytes(std::string_view message) {
    return send_bytes_until(message, Deadline::Infinite());
  }
  absl::Status send_bytes_for(std::string_view message, Deadline::Clock::duration timeout) {
    return send_bytes_until(message, Deadline::After(timeout));
  }
  absl::Status send_bytes_until(std::string_view message, const Deadline& deadline);
  absl::Status try_send_bytes(std::string_view message) {
    return send_bytes_until(message, Deadline::NonBlocking());
  }

  // --- Receiving: blocks while the pipe is empty, until the deadline.
  // The deadline bounds the whole call, also in the middle of a streamed
  // message (one larger than half the buffer) whose sender is slow or
  // stopped. Such a message is not lost: the call returns DeadlineExceeded
  // (Unavailable for try_), this end keeps what it has taken so far and its
  // place in the stream, and its next receive (recv_bytes*, recv<T> or
  // begin_recv, from any thread) resumes that message first. While it is
  // kept, the pipe's other receivers wait behind it (a stream is read by
  // one receiver); closing the end drops it.
  absl::StatusOr<std::string> recv_bytes() { return recv_bytes_until(Deadline::Infinite()); }
  absl::StatusOr<std::string> recv_bytes_for(Deadline::Clock::duration timeout) {
    return recv_bytes_until(Deadline::After(timeout));
  }
  absl::StatusOr<std::string> recv_bytes_until(const Deadline& deadline);
  absl::StatusOr<std::string> try_recv_bytes() { return recv_bytes_until(Deadline::NonBlocking()); }
  // Into an existing string (its capacity is reused: no allocation when the
  // message fits).
  absl::Status recv_bytes_into(std::string& message,
                               const Deadline& deadline = Deadline::Infinite());
  // A message of exactly `message.size()` bytes, straight into `message` (no
  // allocation at all). The rule for fixed-size buffers, the same on the
  // static pipe: a buffer that cannot fit any message the pipe can carry is
  // InvalidArgument before anything is taken (never the case here: any size
  // is possible); a message taken that is not of the buffer's size is
  // DataLoss and is consumed, like a message a codec cannot decode (leaving
  // it would make every later call fail on it). Use it where every message
  // has one known size.
  absl::Status recv_bytes_into(std::span<std::byte> message,
                               const Deadline& deadline = Deadline::Infinite());

  // --- Piecewise messages (for codecs and zero-copy use), see message.h.
  absl::StatusOr<OutgoingMessage> begin_send(std::uint64_t size,
                                             const Deadline& deadline = Deadline::Infinite());
  absl::StatusOr<IncomingMessage> begin_recv(const Deadline& deadline = Deadline::Infinite());

  // --- Meeting a peer (named pipes whose two sides start in any order).
  // End of stream means "no sending end is open now", and a broken pipe
  // "no receiving end is open now": a receiver that opens a persistent
  // named pipe before any sender has opened it would get end of stream at
  // once. Such a first receiver (or first sender) waits for its peer first:
  //
  //   auto receiver = buffered_pipe::OpenNamedPipe("orders", kReceivingSide);
  //   if (auto s = receiver->wait_for_peer(std::chrono::seconds(30)); !s.ok()) ...
  //
  // The ends of the other kind open now, in every process: sending ends of
  // the ring this end receives from, receiving ends of the ring it sends on
  // (0 for a direction this end does not use). After a crash a count may be
  // high until survivors poll (a dead process's ends are taken out then).
  PeerCount peers() const { return endpoint_.Peers(); }
  // Blocks (without spinning: it sleeps until an end opens) until every
  // direction this end uses has a peer: a sending end to receive from, a
  // receiving end to send to. Errors: DeadlineExceeded, Unavailable (try),
  // Cancelled (this end was closed).
  absl::Status wait_for_peer(const Deadline& deadline = Deadline::Infinite()) {
    return endpoint_.WaitForPeer(deadline);
  }
  absl::Status wait_for_peer(Deadline::Clock::duration timeout) {
    return wait_for_peer(Deadline::After(timeout));
  }

  // Closes this end (idempotent; also done by the destructor). Callers
  // blocked on it return Cancelled; further calls return Cancelled.
  absl::Status close() { return endpoint_.Close(); }

  // The seed's register(). Not needed after fork(): ends register the child
  // automatically (pthread_atfork). Call it in a child created without
  // fork() (raw clone / syscall) before using the end there. Calling it again
  // is harmless.
  absl::Status register_process() { return endpoint_.RegisterProcess(); }

 private:
  friend absl::StatusOr<std::pair<PipeEnd, PipeEnd>> Pipe(const PipeOptions& options);
  friend absl::StatusOr<std::pair<PipeEnd, PipeEnd>> CreateNamedPipe(
      const std::string& name, const PipeOptions& options, const NamedPipeOptions& named);
  friend absl::StatusOr<PipeEnd> OpenNamedPipe(const std::string& name, Side side,
                                               const OpenOptions& options);
  friend struct internal::DescriptorAccess;
  explicit PipeEnd(internal::Endpoint endpoint) : endpoint_(std::move(endpoint)) {}
  static absl::StatusOr<std::pair<PipeEnd, PipeEnd>> PairOf(
      absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment);
  // Side `side` of an opened pipe (by name or by descriptor).
  static absl::StatusOr<PipeEnd> OpenSide(
      absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment, Side side);

  internal::Endpoint endpoint_;

  // --- Typed messages (see codecs/codec.h) -----------------------------------
  // send<T> encodes `value` with a codec and sends it as one message; recv<T>
  // takes one message and decodes it. They wait, fail and deliver as
  // send_bytes / recv_bytes do, plus the codec's errors (DataLoss: the
  // message is not a valid T; InvalidArgument: the pipe is a typed pipe of
  // another message type or codec). The codec is DefaultCodec<T>::type unless
  // named: send<T, Codec>(value), recv<T, Codec>().
  //
  // Defined in buffered_pipe/codecs/codec.h (target //codecs:codec), which
  // must be included to call them; buffered_pipe/buffered_pipe.h includes it.
  // (The pipe does not depend on the codecs: they are built on the pipe.)
 public:
  struct DefaultCodecTag;  // "the codec DefaultCodec<T> names"

  template <typename T, typename Codec = DefaultCodecTag>
  absl::Status send(const T& value) {
    return send_until<T, Codec>(value, Deadline::Infinite());
  }
  template <typename T, typename Codec = DefaultCodecTag>
  absl::Status send_for(const T& value, Deadline::Clock::duration timeout) {
    return send_until<T, Codec>(value, Deadline::After(timeout));
  }
  template <typename T, typename Codec = DefaultCodecTag>
  absl::Status send_until(const T& value, const Deadline& deadline) {
    if constexpr (requires { sizeof(Typed<T, Codec>); }) {
      return Typed<T, Codec>::Send(*this, value, deadline);
    } else {
      static_assert(sizeof(T) == 0,
                    "send<T> needs the codecs: #include \"buffered_pipe/codecs/codec.h\" (and "
                    "\"buffered_pipe/codecs/cereal.h\" for cereal types), or "
                    "\"buffered_pipe/buffered_pipe.h\"; Bazel target //codecs or //:buffered_pipe");
      return absl::InternalError("no codecs");
    }
  }
  template <typename T, typename Codec = DefaultCodecTag>
  absl::Status try_send(const T& value) {
    return send_until<T, Codec>(value, Deadline::NonBlocking());
  }

  template <typename T, typename Codec = DefaultCodecTag>
  absl::StatusOr<T> recv() {
    return recv_until<T, Codec>(Deadline::Infinite());
  }
  template <typename T, typename Codec = DefaultCodecTag>
  absl::StatusOr<T> recv_for(Deadline::Clock::duration timeout) {
    return recv_until<T, Codec>(Deadline::After(timeout));
  }
  template <typename T, typename Codec = DefaultCodecTag>
  absl::StatusOr<T> recv_until(const Deadline& deadline) {
    if constexpr (requires { sizeof(Typed<T, Codec>); }) {
      return Typed<T, Codec>::Receive(*this, deadline);
    } else {
      static_assert(sizeof(T) == 0,
                    "recv<T> needs the codecs: #include \"buffered_pipe/codecs/codec.h\" (and "
                    "\"buffered_pipe/codecs/cereal.h\" for cereal types), or "
                    "\"buffered_pipe/buffered_pipe.h\"; Bazel target //codecs or //:buffered_pipe");
      return absl::InternalError("no codecs");
    }
  }
  template <typename T, typename Codec = DefaultCodecTag>
  absl::StatusOr<T> try_recv() {
    return recv_until<T, Codec>(Deadline::NonBlocking());
  }

  // What a typed pipe records about the messages of one ring; both 0 for an
  // untyped pipe, whose ends send and receive values of any type.
  struct MessageType {
    std::uint64_t fingerprint = 0;  // MessageTypeFingerprint<T>(), codecs/codec.h
    std::uint64_t codec_id = 0;     // the codec's kId
    friend bool operator==(const MessageType&, const MessageType&) = default;
  };
  // Of the ring this end sends on / receives from ({} if this end does not).
  MessageType sent_message_type() const;
  MessageType received_message_type() const;

  // The hooks of codecs/typed_pipe.h, which wraps their ends in typed ends.
  // A pipe whose rings record message types (`name` null: anonymous). Ring 0
  // carries the messages the first end receives; ring 1 (duplex only) those
  // the second end receives.
  static absl::StatusOr<std::pair<PipeEnd, PipeEnd>> MakeTypedPipe(
      const PipeOptions& options, const std::string* name, const NamedPipeOptions& named,
      MessageType first_end_receives, MessageType second_end_receives);
  // One end of a named pipe, if the rings it would send on and receive from
  // record `sends` and `receives`. Otherwise InvalidArgument (its message
  // names `expected`), and nothing is attached.
  static absl::StatusOr<PipeEnd> OpenTypedNamedPipe(const std::string& name, Side side,
                                                    MessageType sends, MessageType receives,
                                                    std::string_view expected);

  // Receives the next message whole, as recv_bytes_into would (a streamed
  // message that does not finish by the deadline is kept by this end and
  // resumed by its next receive; one cut short by its sender is skipped), and
  // hands its bytes to `visit`: in place in the ring when the message is one
  // contiguous frame (no copy; its space is given back once `visit` returns,
  // or throws), else gathered into `scratch` first. For codecs that decode
  // from memory. The bytes in place are shared memory: `visit` bounds every
  // read by their size (a ByteReader does) and keeps no view past its return.
  absl::Status recv_bytes_visiting(absl::FunctionRef<void(std::span<const std::byte>)> visit,
                                   std::string& scratch, const Deadline& deadline);

  // The typed calls, defined in buffered_pipe/codecs/codec.h.
  template <typename T, typename Codec>
  struct Typed;
};

// A PipeEnd is a MessageEnd (message_end.h), as a NetworkEnd is.
static_assert(MessageEnd<PipeEnd>);

// Makes an anonymous pipe, shared with child processes by fork().
// Returns (receiving end, sending end), or two duplex ends.
// Errors: InvalidArgument (buffer_size), ResourceExhausted (memory).
absl::StatusOr<std::pair<PipeEnd, PipeEnd>> Pipe(const PipeOptions& options = {});

// Makes a pipe that unrelated processes can open by `name` (1 to 200
// characters of [A-Za-z0-9._-]). Errors: InvalidArgument, AlreadyExists,
// PermissionDenied, ResourceExhausted.
absl::StatusOr<std::pair<PipeEnd, PipeEnd>> CreateNamedPipe(
    const std::string& name, const PipeOptions& options = {},
    const NamedPipeOptions& named = {});

// Opens one end of a named generic pipe. Errors: NotFound, PermissionDenied
// (no access, or a file of an owner `options.trusted_owner` does not trust),
// InvalidArgument (not a generic pipe, other layout version), DataLoss
// (inconsistent segment), ResourceExhausted (its max_processes processes
// attached).
// The peer may not be there yet: see PipeEnd::wait_for_peer.
absl::StatusOr<PipeEnd> OpenNamedPipe(const std::string& name, Side side,
                                      const OpenOptions& options = {});

// Removes a pipe's name (processes that have it open keep using it).
// NotFound if there is no such name.
absl::Status RemoveNamedPipe(const std::string& name);

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_PIPE_H_
