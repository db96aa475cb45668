# The library's sources and public headers, for the CMake build. Bazel's
# BUILD files are the other list: tools/check_cmake_sources.sh (run by the
# test command) fails when the two differ, so they cannot drift.

# Installed as include/buffered_pipe/<path below framework/>.
set(BUFFERED_PIPE_FRAMEWORK_HEADERS
  buffered_pipe.h
  deadline.h
  internal/attachment.h
  internal/descriptor_access.h
  internal/endpoint.h
  internal/factory.h
  internal/futex.h
  internal/layout.h
  internal/owner_watch.h
  internal/process_identity.h
  internal/received_value.h
  internal/ring.h
  internal/ring_status.h
  internal/schedule_point.h
  internal/segment.h
  internal/store_load_barrier.h
  internal/wait.h
  message.h
  message_end.h
  message_type.h
  pipe.h
  static_pipe.h
  status.h
  version.h
)
set(BUFFERED_PIPE_FRAMEWORK_SOURCES
  internal/attachment.cc
  internal/endpoint.cc
  internal/factory.cc
  internal/futex.cc
  internal/process_identity.cc
  internal/ring.cc
  internal/ring_messages.cc
  internal/ring_receive.cc
  internal/ring_recovery.cc
  internal/ring_send.cc
  internal/schedule_point.cc
  internal/segment.cc
  internal/store_load_barrier.cc
  message_type.cc
  pipe.cc
  static_pipe.cc
)
# Installed as include/buffered_pipe/codecs/<path below codecs/>.
set(BUFFERED_PIPE_CODECS_HEADERS
  byte_io.h
  cereal.h
  codec.h
  internal/cereal_archive.h
  raw_bytes.h
  trivially_copyable.h
  typed_pipe.h
)
set(BUFFERED_PIPE_CODECS_SOURCES
  byte_io.cc
)
# Installed as include/buffered_pipe/network/<path below network/>; built
# only with BUFFERED_PIPE_BUILD_NETWORK (libzmq). Its internal headers are
# private (network_end.h includes none of them): listed with the sources.
set(BUFFERED_PIPE_NETWORK_HEADERS
  network_end.h
)
set(BUFFERED_PIPE_NETWORK_SOURCES
  internal/buffer_pool.cc
  internal/buffer_pool.h
  internal/protocol.cc
  internal/protocol.h
  internal/session.cc
  internal/session.h
  internal/zmq_link.cc
  internal/zmq_link.h
  network_end.cc
)
