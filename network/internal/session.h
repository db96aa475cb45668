// The state of one network end: its peers, their credit, the messages that
// arrived and the close handshake (protocol.h lists the frames).
//
// Flow control: a receiver grants each sender `credit_bytes` at first, and
// gives credit back as the application takes messages (in batches of an
// eighth of it). A message costs its size plus kMessageOverhead; a sender
// sends only with enough credit, or when nothing it sent to that receiver is
// still uncredited (so one message larger than the window still goes). What
// is queued for one sender at one receiver is thus bounded by the window
// plus one message. A sender that waits for credit says so (kCreditWanted,
// once per wait); the receiver then credits everything it took as soon as it
// holds nothing more of that sender's, so that a message larger than the
// credit left never waits for a batch that will not fill.
//
// Close handshakes, so that a clean close loses nothing silently:
//   sender:   re-sends what receivers returned; kSenderClose to every
//             receiver; waits for each kArrived (or the receiver's end): then
//             everything it sent is in the receivers' hands.
//   receiver: kReceiverClose to every sender; waits for each kSenderFlushed
//             (after which no kData can come); returns every message not
//             taken with kReturn; kReceiverGone.
// A sender re-sends returned messages to its other receivers before any new
// one; a message returned while the sender is itself closing (or has no
// receiver left) is counted as lost and reported by the sender's close.
//
// Peers and connections: a binder's peer is known by its routing id and by
// its connection's file descriptor, whose end the monitor reports. The
// system reuses descriptors (a refused connector's fd may carry the next
// connector's Hello before the first one's end is read), so each accept
// gets a serial; a peer keeps its connection's serial and an end removes
// only peers of that connection, never of a later one on the same fd.
//
// Threads: every member is guarded by mutex_. ZeroMQ's socket is used only
// under it, except that one thread at a time (waiting_on_link_) sleeps in
// ZmqLink::WaitForInput without it; the others sleep on changed_. A thread
// that uses the socket while one sleeps there wakes it (ZmqLink::Wake), as
// it may have consumed the socket's readiness signal.
//
// The pumper: a thread of each session that answers handshakes, credit and
// disconnections while the application does not call the end (a binder
// whose application is busy elsewhere still welcomes connectors). While the
// application calls, its calls pump (a fast-path send every 256 sends, a
// receive whenever nothing has arrived, a blocked call all the time) and
// the pumper rests on pumper_rests_, out of their way: it looks again every
// kLongestSleep and takes over once a whole period passed without a call.
// It sleeps on the link only then; a caller that blocks wakes it and takes
// the link over.

#ifndef BUFFERED_PIPE_NETWORK_INTERNAL_SESSION_H_
#define BUFFERED_PIPE_NETWORK_INTERNAL_SESSION_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/network/internal/protocol.h"
#include "buffered_pipe/network/internal/zmq_link.h"

namespace buffered_pipe::network_internal {

inline constexpr std::uint64_t kMessageOverhead = 64;

struct SessionOptions {
  bool bind = false;
  bool sends = false;  // a sending end (else a receiving end)
  std::uint64_t fingerprint = 0;
  std::uint64_t codec_id = 0;
  std::uint64_t credit_bytes = 1 << 20;
  std::chrono::milliseconds close_timeout{10000};
  LinkOptions link;
};

class Session {
 public:
  // Binds, or connects and completes the handshake by `deadline`
  // (DeadlineExceeded if no binder answered; InvalidArgument if it refused).
  static absl::StatusOr<std::unique_ptr<Session>> Open(const std::string& address,
                                                       const SessionOptions& options,
                                                       const Deadline& deadline);
  ~Session();

  absl::Status Send(std::string_view payload, const Deadline& deadline);
  // The next message, into `message` (its capacity reused).
  absl::Status Receive(std::string& message, const Deadline& deadline);
  absl::Status WaitForPeer(const Deadline& deadline);
  absl::Status Close();

  std::size_t peer_count();
  bool is_open() {
    std::lock_guard lock(mutex_);
    return !closing_;
  }
  const std::string& address() const { return address_; }
  bool sends() const { return options_.sends; }
  // The message type agreed in the handshake (a connector without one takes
  // the binder's).
  std::uint64_t fingerprint() const { return fingerprint_; }
  std::uint64_t codec_id() const { return codec_id_; }

 private:
  struct Peer {
    int fd = -1;              // its connection's file descriptor (binder)
    std::uint64_t connection = 0;  // that connection's serial, 0 if unknown
    bool welcomed = false;  // the handshake completed
    // As a sender sees a receiver:
    std::int64_t credit = 0;         // bytes it may still send
    std::uint64_t uncredited = 0;    // bytes sent and not credited back
    bool receiver_closing = false;   // kReceiverClose came: send nothing more
    bool arrived = false;            // kArrived came
    bool asked_for_credit = false;   // kCreditWanted sent, no credit since
    // As a receiver sees a sender:
    std::uint64_t queued = 0;         // its messages in queue_
    std::uint64_t pending_credit = 0; // bytes taken, not yet credited back
    bool wants_credit = false;        // kCreditWanted came
    bool sender_closed = false;       // kSenderClose came
    bool flushed = false;             // kSenderFlushed came
  };
  struct Arrived {
    std::string routing_id;
    ZmqMessage frame;  // the kData frame: its kind byte, then the payload
    std::string_view payload() { return frame.bytes().substr(1); }
  };

  explicit Session(const SessionOptions& options) : options_(options) {}

  // Takes the frames waiting on the link, without blocking; once there are
  // none, the connection events too.
  void Pump();
  // Handles the frames waiting; whether there were any.
  bool TakeFrames();
  void Handle(ZmqLink::Received& received);
  void HandleHello(const std::string& routing_id, int fd, const Hello& hello);
  // Reads the monitor's accepts and ends: accepts number the connections
  // (connection_on_fd_), ends are kept in ended_connections_ until
  // ForgetEndedConnections applies them, after the frames already waiting
  // (a peer's last frames precede the end of its connection).
  void ReadConnectionEvents();
  void ForgetEndedConnections();
  // Waits for news until `deadline` (a sleep of at most 100 ms). Errors:
  // Unavailable (non-blocking), DeadlineExceeded.
  absl::Status Wait(std::unique_lock<std::mutex>& lock, const Deadline& deadline);
  // After using the link: wake whoever sleeps on it or on changed_.
  void Publish();
  void PumpWhileIdle();
  // Counts a caller blocked in the end (for the pumper), for its lifetime.
  struct Blocked {
    explicit Blocked(Session& session) : session(session) { ++session.blocked_callers_; }
    ~Blocked() { --session.blocked_callers_; }
    Session& session;
  };

  void SendFrame(const std::string& routing_id, FrameKind kind, std::string_view body = {});
  // A receiver that may take `charge` bytes now, round robin.
  std::map<std::string, Peer>::iterator PickReceiver(std::uint64_t charge);
  // Sends one kData; false if the receiver turned out to be gone.
  bool SendData(std::map<std::string, Peer>::iterator receiver, std::string_view payload);
  void ResendReturned();
  // Asks each receiver holding uncredited messages for its credit.
  void AskForCredit();
  // Receiver: credits `sender` with what was taken from it.
  void GrantCredit(std::map<std::string, Peer>::iterator sender);
  void TakeCredit(const std::string& routing_id, std::uint64_t charge);
  // Takes the first arrived message into `message`, crediting its sender.
  void TakeFirst(std::string& message);
  bool AnyReceiverLeft() const;
  bool AnySenderLeft() const;

  // The two close handshakes; `lock` holds mutex_ (Wait releases it).
  absl::Status CloseSending(std::unique_lock<std::mutex>& lock, const Deadline& deadline);
  absl::Status CloseReceiving(std::unique_lock<std::mutex>& lock, const Deadline& deadline);

  const SessionOptions options_;
  std::string address_;
  std::unique_ptr<ZmqLink> link_;
  std::uint64_t fingerprint_ = 0;
  std::uint64_t codec_id_ = 0;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::condition_variable pumper_rests_;  // notified only by Close
  std::uint64_t calls_ = 0;               // calls of the application so far
  bool waiting_on_link_ = false;
  bool pumper_on_link_ = false;  // the one waiting there is the pumper
  int blocked_callers_ = 0;
  std::thread pumper_;
  bool closing_ = false;
  bool seen_peer_ = false;       // a handshake has completed
  std::string refused_;          // a connector's refusal, from the binder
  std::map<std::string, Peer> peers_;  // by routing id ("" on a connector)
  struct EndedConnection {
    int fd = -1;
    std::uint64_t serial = 0;
  };
  std::uint64_t connections_accepted_ = 0;              // binder: serials given
  std::map<int, std::uint64_t> connection_on_fd_;      // binder: open ones
  std::vector<EndedConnection> ended_connections_;     // read, not yet applied
  std::string last_receiver_;          // round robin
  std::deque<Arrived> queue_;          // receiver: arrived, not taken
  std::deque<std::string> returned_;   // sender: to re-send first
  std::uint64_t lost_ = 0;             // sender: returned, could not re-send
  bool sender_close_sent_ = false;     // sender: returns now count as lost
  std::uint32_t sends_since_pump_ = 0;
  std::uint32_t pumps_without_connection_events_ = 0;
};

}  // namespace buffered_pipe::network_internal

#endif  // BUFFERED_PIPE_NETWORK_INTERNAL_SESSION_H_
