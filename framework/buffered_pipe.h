// buffered_pipe: high-speed messaging between threads and processes over
// shared memory. Include this header for everything, or the one you need:
//
//   buffered_pipe/pipe.h      generic pipe: variable-length byte messages
//   buffered_pipe/message.h   piecewise (streaming, zero-copy) messages
//   buffered_pipe/static_pipe.h  static pipe: fixed-size records, bytes or typed
//   buffered_pipe/deadline.h  timeouts on the monotonic clock
//   buffered_pipe/status.h    the errors and how to tell them apart

#ifndef BUFFERED_PIPE_BUFFERED_PIPE_H_
#define BUFFERED_PIPE_BUFFERED_PIPE_H_

#include "buffered_pipe/deadline.h"
#include "buffered_pipe/message.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"

#endif  // BUFFERED_PIPE_BUFFERED_PIPE_H_
