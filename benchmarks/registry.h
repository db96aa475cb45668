// Every transport of the comparison, in the order of the tables.
// Adding a transport: write its adapter (transport.h), add one line in
// registry.cc.

#ifndef BUFFERED_PIPE_BENCHMARKS_REGISTRY_H_
#define BUFFERED_PIPE_BENCHMARKS_REGISTRY_H_

#include <memory>
#include <vector>

#include "benchmarks/transport.h"

namespace buffered_pipe::bench {

// buffered_pipe's adapters first, then the references, then the others.
std::vector<std::unique_ptr<Transport>> AllTransports();
// The cache-line ping-pong (the floor of every round trip).
std::unique_ptr<Transport> CacheLine();

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_REGISTRY_H_
