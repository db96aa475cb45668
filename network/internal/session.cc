#include "buffered_pipe/network/internal/session.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/network/internal/protocol.h"
#include "buffered_pipe/network/internal/zmq_link.h"

namespace buffered_pipe::network_internal {
namespace {

// How long one sleep lasts at most: a lost wake-up costs no more than this.
constexpr std::chrono::milliseconds kLongestSleep{100};
// A sender looks at its input at least this often while it has credit (each
// look at an empty socket is a system call; credit itself comes in eighths
// of the window, control frames are not urgent to the microsecond).
constexpr std::uint32_t kSendsBetweenPumps = 256;
// A pump that found frames reads the monitor at least this often.
constexpr std::uint32_t kPumpsBetweenConnectionEvents = 16;

std::uint64_t Charge(std::size_t size) { return size + kMessageOverhead; }

}  // namespace

absl::StatusOr<std::unique_ptr<Session>> Session::Open(const std::string& address,
                                                       const SessionOptions& options,
                                                       const Deadline& deadline) {
  if (options.credit_bytes == 0 || options.credit_bytes > (std::uint64_t{1} << 40)) {
    return absl::InvalidArgumentError("credit_bytes must be 1 to 2^40");
  }
  std::unique_ptr<Session> session(new Session(options));
  LinkOptions link_options = options.link;
  link_options.bind = options.bind;
  absl::StatusOr<std::unique_ptr<ZmqLink>> link = ZmqLink::Open(address, link_options);
  if (!link.ok()) return link.status();
  session->link_ = *std::move(link);
  session->address_ = session->link_->address();
  session->fingerprint_ = options.fingerprint;
  session->codec_id_ = options.codec_id;
  if (options.bind) {
    session->pumper_ = std::thread([raw = session.get()] { raw->PumpWhileIdle(); });
    return session;
  }

  // A connector's one peer: the binder, once it welcomes us.
  std::unique_lock lock(session->mutex_);
  session->peers_[""] = Peer{};
  const Hello hello{.connector_sends = options.sends,
                    .fingerprint = options.fingerprint,
                    .codec_id = options.codec_id};
  const std::string frame = EncodeHello(hello);
  session->SendFrame("", FrameKind::kHello, std::string_view(frame).substr(1));
  for (;;) {
    session->Pump();
    if (!session->refused_.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(address, " refused this end: ",
                                                     session->refused_));
    }
    if (session->seen_peer_) break;
    if (deadline.has_passed() || deadline.is_non_blocking()) {
      return absl::DeadlineExceededError(absl::StrCat("no network end answered at ", address));
    }
    (void)session->Wait(lock, deadline);  // the deadline is checked above
  }
  session->pumper_ = std::thread([raw = session.get()] { raw->PumpWhileIdle(); });
  return session;
}

Session::~Session() { (void)Close(); }

// --- Input ---------------------------------------------------------------------

void Session::Pump() {
  if (link_ == nullptr) return;
  sends_since_pump_ = 0;
  // The monitor only once no frame is waiting (or every
  // kPumpsBetweenConnectionEvents pumps, so that a stream of frames from
  // some peers cannot hide the end of another): a peer's end matters once
  // its frames have stopped, and each look at an empty ZeroMQ socket is a
  // system call. (Wait looks at both sockets before it sleeps, so nothing
  // waiting is slept on.)
  if (TakeFrames() && ++pumps_without_connection_events_ < kPumpsBetweenConnectionEvents) {
    return;
  }
  pumps_without_connection_events_ = 0;
  ReadConnectionEvents();
  if (ended_connections_.empty()) return;
  // Frames first: a peer's last frames (its kReturns, say) are handed to
  // its socket before ZeroMQ reports the end of its connection; take those
  // that came since the look above, then forget the ended connections.
  TakeFrames();
  ForgetEndedConnections();
}

bool Session::TakeFrames() {
  bool took = false;
  while (std::optional<ZmqLink::Received> received = link_->TryReceive()) {
    Handle(*received);
    took = true;
  }
  return took;
}

void Session::ReadConnectionEvents() {
  while (std::optional<ZmqLink::ConnectionEvent> event = link_->TryReceiveConnectionEvent()) {
    if (event->kind == ZmqLink::ConnectionEvent::Kind::kAccepted) {
      connection_on_fd_[event->fd] = ++connections_accepted_;
      continue;
    }
    // An end whose accept we did not see is at most the latest accept.
    auto connection = connection_on_fd_.find(event->fd);
    const std::uint64_t serial =
        connection == connection_on_fd_.end() ? connections_accepted_ : connection->second;
    if (connection != connection_on_fd_.end()) connection_on_fd_.erase(connection);
    ended_connections_.push_back(EndedConnection{.fd = event->fd, .serial = serial});
  }
}

void Session::ForgetEndedConnections() {
  for (const EndedConnection& ended : ended_connections_) {
    if (!options_.bind) {
      // Our binder: gone for good once we were welcomed (before, ZeroMQ
      // reconnects until the handshake's deadline).
      auto binder = peers_.find("");
      if (binder != peers_.end() && binder->second.welcomed) peers_.erase(binder);
      continue;
    }
    // Only the connection that ended: a later one on the same fd (the
    // system reuses descriptors) has a larger serial.
    std::erase_if(peers_, [&ended](const auto& peer) {
      return peer.second.fd == ended.fd &&
             (peer.second.connection == 0 || peer.second.connection <= ended.serial);
    });
  }
  ended_connections_.clear();
}

void Session::Handle(ZmqLink::Received& received) {
  if (received.multipart) return;
  std::optional<Frame> frame = ParseFrame(received.frame.bytes());
  if (!frame.has_value()) return;  // not ours, or malformed: ignored
  if (frame->kind == FrameKind::kHello) {
    if (options_.bind && !peers_.contains(received.routing_id)) {
      HandleHello(received.routing_id, received.frame.source_fd(), frame->hello);
    }
    return;
  }
  auto peer = peers_.find(received.routing_id);
  if (peer == peers_.end()) return;  // a peer we refused, forgot, or never met
  Peer& state = peer->second;
  if (!options_.bind && !state.welcomed) {
    if (frame->kind == FrameKind::kRefuse) {
      refused_ = frame->body.empty() ? std::string("refused") : std::string(frame->body);
    } else if (frame->kind == FrameKind::kWelcome) {
      std::optional<Frame> binder = ParseFrame(frame->body);
      if (!binder.has_value() || binder->kind != FrameKind::kHello) return;
      state.welcomed = true;
      seen_peer_ = true;
      if (fingerprint_ == 0 && codec_id_ == 0) {  // untyped: the binder's type
        fingerprint_ = binder->hello.fingerprint;
        codec_id_ = binder->hello.codec_id;
      }
      if (!options_.sends) SendFrame("", FrameKind::kCredit, EncodeCredit(options_.credit_bytes).substr(1));
    }
    return;
  }
  if (options_.sends) {
    switch (frame->kind) {
      case FrameKind::kCredit:
        state.credit += static_cast<std::int64_t>(std::min<std::uint64_t>(frame->credit, 1ull << 40));
        state.uncredited -= std::min(state.uncredited, frame->credit);
        state.asked_for_credit = false;
        break;
      case FrameKind::kArrived:
        state.arrived = true;
        break;
      case FrameKind::kReceiverClose:
        state.receiver_closing = true;
        SendFrame(received.routing_id, FrameKind::kSenderFlushed);
        break;
      case FrameKind::kReturn:
        if (sender_close_sent_) {
          ++lost_;
        } else {
          returned_.emplace_back(frame->body);
        }
        break;
      case FrameKind::kReceiverGone:
        peers_.erase(peer);
        break;
      default:
        break;  // a receiver's frame at a sender: ignored
    }
    return;
  }
  switch (frame->kind) {
    case FrameKind::kData:
      ++state.queued;
      // The ZeroMQ message itself is kept (no copy until the application
      // takes it, into its own string).
      queue_.push_back(Arrived{received.routing_id, std::move(received.frame)});
      break;
    case FrameKind::kSenderClose:
      state.sender_closed = true;
      // Everything it sent came before this (one connection, in order).
      SendFrame(received.routing_id, FrameKind::kArrived);
      break;
    case FrameKind::kSenderFlushed:
      state.flushed = true;
      break;
    case FrameKind::kCreditWanted:
      state.wants_credit = true;
      if (state.queued == 0) GrantCredit(peer);
      break;
    default:
      break;
  }
}

void Session::HandleHello(const std::string& routing_id, int fd, const Hello& hello) {
  std::string refusal;
  if (hello.version != kProtocolVersion) {
    refusal = absl::StrCat("protocol version ", hello.version, ", expected ", kProtocolVersion);
  } else if (hello.connector_sends == options_.sends) {
    refusal = options_.sends ? "both ends send" : "both ends receive";
  } else if ((hello.fingerprint != 0 || hello.codec_id != 0) &&
             (hello.fingerprint != fingerprint_ || hello.codec_id != codec_id_)) {
    refusal = absl::StrCat(
        fingerprint_ == 0 && codec_id_ == 0 ? "this end is untyped"
        : hello.fingerprint == fingerprint_ ? "the same message type with another codec"
                                            : "another message type",
        " (fingerprint ", fingerprint_, ", codec id ", codec_id_, ")");
  }
  if (!refusal.empty()) {
    // Refused without becoming a peer: it learns why at connect.
    (void)link_->Send(routing_id, static_cast<char>(FrameKind::kRefuse), refusal);
    return;
  }
  // The accept of this Hello's connection was reported before the Hello
  // could be received: read it, to tell this connection from an earlier one
  // on the same fd whose end is still to be read or applied.
  ReadConnectionEvents();
  auto connection = connection_on_fd_.find(fd);
  Peer& peer = peers_[routing_id];
  peer.fd = fd;
  peer.connection = connection == connection_on_fd_.end() ? 0 : connection->second;
  peer.welcomed = true;
  seen_peer_ = true;
  const std::string identity =
      EncodeHello(Hello{.connector_sends = !options_.sends, .fingerprint = fingerprint_,
                        .codec_id = codec_id_});
  SendFrame(routing_id, FrameKind::kWelcome, identity);
  if (!options_.sends) {
    SendFrame(routing_id, FrameKind::kCredit, EncodeCredit(options_.credit_bytes).substr(1));
  }
}

void Session::SendFrame(const std::string& routing_id, FrameKind kind, std::string_view body) {
  if (link_->Send(routing_id, static_cast<char>(kind), body).ok()) return;
  // Gone: its disconnection is reported (or was) by the monitor too.
  if (options_.bind) peers_.erase(routing_id);
}

// --- Waiting ---------------------------------------------------------------------

absl::Status Session::Wait(std::unique_lock<std::mutex>& lock, const Deadline& deadline) {
  if (deadline.is_non_blocking()) return absl::UnavailableError("would block");
  std::chrono::nanoseconds left = kLongestSleep;
  if (!deadline.is_infinite()) {
    left = std::chrono::nanoseconds(deadline.monotonic_nanoseconds() - Deadline::NowNanoseconds());
    if (left <= std::chrono::nanoseconds::zero()) {
      return absl::DeadlineExceededError("deadline exceeded");
    }
    left = std::min<std::chrono::nanoseconds>(left, kLongestSleep);
  }
  if (waiting_on_link_ && pumper_on_link_) link_->Wake();  // hand the link over
  if (!waiting_on_link_ && link_ != nullptr) {
    // The socket's descriptor signals only new input since ZeroMQ last
    // looked (any send may have looked, e.g. our own kCreditWanted): input
    // that is already waiting would not wake the poll below.
    if (link_->HasInput()) return absl::OkStatus();
    waiting_on_link_ = true;
    ZmqLink* link = link_.get();  // not destroyed while waiting_on_link_ (Close)
    lock.unlock();
    link->WaitForInput(std::chrono::ceil<std::chrono::milliseconds>(left));
    lock.lock();
    waiting_on_link_ = false;
    changed_.notify_all();  // one of the others may take over the link
  } else {
    changed_.wait_for(lock, left);
  }
  return absl::OkStatus();
}

void Session::Publish() {
  changed_.notify_all();
  if (waiting_on_link_ && !pumper_on_link_) link_->Wake();
}

void Session::PumpWhileIdle() {
  std::unique_lock lock(mutex_);
  std::uint64_t calls_seen = calls_;
  while (!closing_) {
    const bool application_active =
        blocked_callers_ > 0 || waiting_on_link_ || calls_ != calls_seen;
    calls_seen = calls_;
    if (application_active) {
      pumper_rests_.wait_for(lock, kLongestSleep);
      continue;
    }
    Pump();
    if (options_.sends) ResendReturned();
    changed_.notify_all();
    if (link_->HasInput()) continue;  // (see Wait)
    waiting_on_link_ = true;
    pumper_on_link_ = true;
    ZmqLink* link = link_.get();
    lock.unlock();
    link->WaitForInput(kLongestSleep);
    lock.lock();
    waiting_on_link_ = false;
    pumper_on_link_ = false;
    changed_.notify_all();
  }
}

absl::Status Session::WaitForPeer(const Deadline& deadline) {
  std::unique_lock lock(mutex_);
  ++calls_;
  Blocked blocked(*this);
  for (;;) {
    if (closing_) return absl::CancelledError("this network end is closed");
    Pump();
    Publish();
    if (seen_peer_) return absl::OkStatus();
    if (absl::Status status = Wait(lock, deadline); !status.ok()) return status;
  }
}

std::size_t Session::peer_count() {
  std::unique_lock lock(mutex_);
  ++calls_;
  if (closing_) return 0;
  Pump();
  Publish();
  return std::count_if(peers_.begin(), peers_.end(),
                       [](const auto& peer) { return peer.second.welcomed; });
}

// --- Sending ---------------------------------------------------------------------

std::map<std::string, Session::Peer>::iterator Session::PickReceiver(std::uint64_t charge) {
  auto usable = [charge](const Peer& peer) {
    return peer.welcomed && !peer.receiver_closing &&
           (peer.credit >= static_cast<std::int64_t>(charge) || peer.uncredited == 0);
  };
  auto start = peers_.upper_bound(last_receiver_);
  for (auto peer = start; peer != peers_.end(); ++peer) {
    if (usable(peer->second)) return peer;
  }
  for (auto peer = peers_.begin(); peer != start; ++peer) {
    if (usable(peer->second)) return peer;
  }
  return peers_.end();
}

bool Session::SendData(std::map<std::string, Peer>::iterator receiver, std::string_view payload) {
  if (!link_->Send(receiver->first, static_cast<char>(FrameKind::kData), payload).ok()) {
    peers_.erase(receiver);
    return false;
  }
  const std::uint64_t charge = Charge(payload.size());
  receiver->second.credit -= static_cast<std::int64_t>(charge);
  receiver->second.uncredited += charge;
  last_receiver_ = receiver->first;
  return true;
}

void Session::ResendReturned() {
  while (!returned_.empty()) {
    auto receiver = PickReceiver(Charge(returned_.front().size()));
    if (receiver == peers_.end()) return;
    if (SendData(receiver, returned_.front())) returned_.pop_front();
  }
}

bool Session::AnyReceiverLeft() const {
  return std::any_of(peers_.begin(), peers_.end(), [](const auto& peer) {
    return peer.second.welcomed && !peer.second.receiver_closing;
  });
}

absl::Status Session::Send(std::string_view payload, const Deadline& deadline) {
  std::unique_lock lock(mutex_);
  ++calls_;
  if (!options_.sends) return absl::InvalidArgumentError("this network end does not send");
  const std::uint64_t charge = Charge(payload.size());
  // The fast path: credit left, nothing returned to re-send first.
  if (!closing_ && returned_.empty() && ++sends_since_pump_ < kSendsBetweenPumps) {
    auto receiver = PickReceiver(charge);
    if (receiver != peers_.end() && SendData(receiver, payload)) {
      if (waiting_on_link_ && !pumper_on_link_) link_->Wake();
      return absl::OkStatus();
    }
  }
  Blocked blocked(*this);
  for (;;) {
    if (closing_) return absl::CancelledError("this network end is closed");
    Pump();
    ResendReturned();
    bool sent = false;
    if (returned_.empty()) {
      auto receiver = PickReceiver(charge);
      if (receiver != peers_.end()) sent = SendData(receiver, payload);
    }
    if (!sent) AskForCredit();
    Publish();
    if (sent) return absl::OkStatus();
    if (seen_peer_ && !AnyReceiverLeft()) {
      return absl::FailedPreconditionError("every network receiver is gone");
    }
    if (absl::Status status = Wait(lock, deadline); !status.ok()) return status;
  }
}

// --- Receiving -------------------------------------------------------------------

void Session::TakeCredit(const std::string& routing_id, std::uint64_t charge) {
  auto sender = peers_.find(routing_id);
  if (sender == peers_.end()) return;  // gone: nobody to credit
  Peer& peer = sender->second;
  --peer.queued;
  peer.pending_credit += charge;
  if (peer.pending_credit >= std::max<std::uint64_t>(1, options_.credit_bytes / 8) ||
      (peer.wants_credit && peer.queued == 0)) {
    GrantCredit(sender);
  }
}

void Session::GrantCredit(std::map<std::string, Peer>::iterator sender) {
  Peer& peer = sender->second;
  peer.wants_credit = false;
  if (peer.pending_credit == 0) return;  // its credit is on the way already
  const std::uint64_t credit = peer.pending_credit;
  peer.pending_credit = 0;
  SendFrame(sender->first, FrameKind::kCredit, EncodeCredit(credit).substr(1));  // may erase it
}

void Session::AskForCredit() {
  for (auto& [routing_id, peer] : peers_) {
    if (peer.welcomed && !peer.receiver_closing && peer.uncredited > 0 &&
        !peer.asked_for_credit) {
      peer.asked_for_credit = true;
      (void)link_->Send(routing_id, static_cast<char>(FrameKind::kCreditWanted), {});
    }
  }
}

void Session::TakeFirst(std::string& message) {
  Arrived& arrived = queue_.front();
  message.assign(arrived.payload());
  TakeCredit(arrived.routing_id, Charge(message.size()));
  queue_.pop_front();
}

bool Session::AnySenderLeft() const {
  return std::any_of(peers_.begin(), peers_.end(), [](const auto& peer) {
    return peer.second.welcomed && !peer.second.sender_closed;
  });
}

absl::Status Session::Receive(std::string& message, const Deadline& deadline) {
  std::unique_lock lock(mutex_);
  ++calls_;
  if (options_.sends) return absl::InvalidArgumentError("this network end does not receive");
  if (!closing_ && !queue_.empty()) {  // the fast path: it arrived
    TakeFirst(message);
    return absl::OkStatus();
  }
  Blocked blocked(*this);
  for (;;) {
    if (closing_) return absl::CancelledError("this network end is closed");
    if (queue_.empty()) Pump();
    if (!queue_.empty()) {
      TakeFirst(message);
      Publish();
      return absl::OkStatus();
    }
    Publish();
    if (seen_peer_ && !AnySenderLeft()) {
      return absl::OutOfRangeError("end of stream: every network sender has closed");
    }
    if (absl::Status status = Wait(lock, deadline); !status.ok()) return status;
  }
}

// --- Closing ---------------------------------------------------------------------

absl::Status Session::Close() {
  std::unique_lock lock(mutex_);
  if (closing_ || link_ == nullptr) return absl::OkStatus();
  closing_ = true;
  Blocked blocked(*this);
  Publish();  // blocked callers return Cancelled
  if (waiting_on_link_ && pumper_on_link_) link_->Wake();  // the pumper stops
  pumper_rests_.notify_all();
  const Deadline deadline = Deadline::After(options_.close_timeout);
  absl::Status status =
      options_.sends ? CloseSending(lock, deadline) : CloseReceiving(lock, deadline);
  // The last frames go out while the socket lingers; nobody uses the link
  // once no thread sleeps on it.
  while (waiting_on_link_) changed_.wait(lock);
  if (pumper_.joinable()) {
    lock.unlock();
    pumper_.join();
    lock.lock();
  }
  std::unique_ptr<ZmqLink> link = std::move(link_);
  // (Nothing to deliver if no peer ever answered: a Hello to nobody.)
  link->SetLinger(std::chrono::milliseconds(seen_peer_ ? 1000 : 0));
  lock.unlock();
  link.reset();
  return status;
}

absl::Status Session::CloseSending(std::unique_lock<std::mutex>& lock,
                                   const Deadline& deadline) {
  // First what closing receivers return (until each says kReceiverGone),
  // re-sent to the others.
  auto closing_receiver = [this] {
    return std::any_of(peers_.begin(), peers_.end(),
                       [](const auto& peer) { return peer.second.receiver_closing; });
  };
  absl::Status status;
  while (status.ok()) {
    Pump();
    ResendReturned();
    if (!returned_.empty()) AskForCredit();
    Publish();
    if (!AnyReceiverLeft()) {
      lost_ += returned_.size();
      returned_.clear();
    }
    if (returned_.empty() && !closing_receiver()) break;
    status = Wait(lock, deadline);
  }
  sender_close_sent_ = true;
  for (auto& [routing_id, peer] : peers_) {
    if (peer.welcomed && !peer.receiver_closing) {
      (void)link_->Send(routing_id, static_cast<char>(FrameKind::kSenderClose), {});
    }
  }
  // Then each receiver's kArrived; one that closes meanwhile is waited for
  // until its kReceiverGone (what it returns then is lost, and counted).
  auto unconfirmed = [this] {
    return std::count_if(peers_.begin(), peers_.end(), [](const auto& peer) {
      return peer.second.welcomed && (!peer.second.arrived || peer.second.receiver_closing);
    });
  };
  while (status.ok() && unconfirmed() > 0) {
    status = Wait(lock, deadline);
    Pump();
    Publish();
  }
  const auto waiting = unconfirmed();
  if (!status.ok()) {
    return absl::DeadlineExceededError(absl::StrCat(
        "close: ", waiting, " network receiver(s) did not confirm within the close timeout "
        "that every message sent to them arrived (they may still arrive)"));
  }
  if (lost_ > 0) {
    return absl::DataLossError(absl::StrCat(
        "close: ", lost_, " message(s) returned by receivers that closed could not be sent "
        "to another receiver"));
  }
  return absl::OkStatus();
}

absl::Status Session::CloseReceiving(std::unique_lock<std::mutex>& lock,
                                     const Deadline& deadline) {
  for (auto& [routing_id, peer] : peers_) {
    if (peer.welcomed && !peer.sender_closed) {
      (void)link_->Send(routing_id, static_cast<char>(FrameKind::kReceiverClose), {});
    }
  }
  auto unflushed = [this] {
    return std::count_if(peers_.begin(), peers_.end(), [](const auto& peer) {
      return peer.second.welcomed && !peer.second.sender_closed && !peer.second.flushed;
    });
  };
  absl::Status status;
  Pump();
  while (status.ok() && unflushed() > 0) {
    status = Wait(lock, deadline);
    Pump();
    Publish();
  }
  // Nothing more can come from a flushed sender: give back what was not taken.
  std::uint64_t returned = 0;
  for (Arrived& arrived : queue_) {
    if (!peers_.contains(arrived.routing_id)) continue;  // its sender is gone
    (void)link_->Send(arrived.routing_id, static_cast<char>(FrameKind::kReturn), arrived.payload());
    ++returned;
  }
  const std::uint64_t dropped = queue_.size() - returned;
  queue_.clear();
  for (auto& [routing_id, peer] : peers_) {
    (void)link_->Send(routing_id, static_cast<char>(FrameKind::kReceiverGone), {});
  }
  if (!status.ok()) {
    return absl::DeadlineExceededError(
        "close: a network sender did not confirm its last message within the close timeout");
  }
  if (dropped > 0) {
    return absl::DataLossError(absl::StrCat(
        "close: ", dropped, " message(s) not taken came from senders that are gone"));
  }
  return absl::OkStatus();
}

}  // namespace buffered_pipe::network_internal
