#include "benchmarks/registry.h"

#include "benchmarks/bp_transports.h"
#include "benchmarks/reference.h"
#include "benchmarks/system_transports.h"

namespace buffered_pipe::bench {

std::vector<std::unique_ptr<Transport>> AllTransports() {
  std::vector<std::unique_ptr<Transport>> all;
  all.push_back(std::make_unique<TransportOf<GenericPipeTransport>>());
  all.push_back(std::make_unique<TransportOf<StaticPipeTransport>>());
  all.push_back(std::make_unique<TransportOf<BareRingTransport>>());
  all.push_back(std::make_unique<TransportOf<PipeTransport>>());
  all.push_back(std::make_unique<TransportOf<SocketpairTransport>>());
  all.push_back(std::make_unique<TransportOf<BoostQueueTransport>>());
  all.push_back(std::make_unique<TransportOf<ZmqTransport>>());
  return all;
}

std::unique_ptr<Transport> CacheLine() {
  return std::make_unique<TransportOf<CacheLineTransport>>();
}

}  // namespace buffered_pipe::bench
