// buffered_pipe: high-speed messaging between threads and processes over
// shared memory. Include this header for everything, or the one you need:
//
//   buffered_pipe/pipe.h      generic pipe: variable-length byte messages
//   buffered_pipe/message.h   piecewise (streaming, zero-copy) messages
//   buffered_pipe/static_pipe.h  static pipe: fixed-size records, bytes or typed
//   buffered_pipe/deadline.h  timeouts on the monotonic clock
//   buffered_pipe/status.h    the errors and how to tell them apart
//   buffered_pipe/codecs/codec.h        typed send<T> / recv<T>: codecs, how to write one
//   buffered_pipe/codecs/cereal.h       CerealCodec: any type cereal can serialize
//   buffered_pipe/codecs/typed_pipe.h   typed pipes: ends that carry one type

#ifndef BUFFERED_PIPE_BUFFERED_PIPE_H_
#define BUFFERED_PIPE_BUFFERED_PIPE_H_

#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/codecs/typed_pipe.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/message.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "buffered_pipe/version.h"

#endif  // BUFFERED_PIPE_BUFFERED_PIPE_H_
