#include "benchmarks/registry.h"

#include "benchmarks/bp_transports.h"
#include "benchmarks/bp_typed_transports.h"
#include "benchmarks/network_transports.h"
#include "benchmarks/reference.h"
#include "benchmarks/system_transports.h"

namespace buffered_pipe::bench {

std::vector<std::unique_ptr<Transport>> AllTransports() {
  std::vector<std::unique_ptr<Transport>> all;
  all.push_back(std::make_unique<TransportOf<GenericPipeTransport>>());
  all.push_back(std::make_unique<TransportOf<StaticPipeTransport>>());
  // Typed sends: a POD type per message size, then a cereal struct.
  all.push_back(std::make_unique<TransportOf<PodTransport<8>>>());
  all.push_back(std::make_unique<TransportOf<PodTransport<64>>>());
  all.push_back(std::make_unique<TransportOf<PodTransport<1024>>>());
  all.push_back(std::make_unique<TransportOf<PodTransport<64 * 1024>>>());
  all.push_back(std::make_unique<TransportOf<PodTransport<1024 * 1024>>>());
  all.push_back(std::make_unique<TransportOf<CerealTransport>>());
  all.push_back(std::make_unique<TransportOf<BareRingTransport>>());
  all.push_back(std::make_unique<TransportOf<PipeTransport>>());
  all.push_back(std::make_unique<TransportOf<SocketpairTransport>>());
  all.push_back(std::make_unique<TransportOf<BoostQueueTransport>>());
  all.push_back(std::make_unique<TransportOf<ZmqTransport>>());
  all.push_back(std::make_unique<TransportOf<ZmqTcpTransport>>());
  // The network ends, beside raw ZeroMQ over the same scheme.
  all.push_back(std::make_unique<TransportOf<NetworkTransport>>());
  all.push_back(std::make_unique<TransportOf<NetworkTcpTransport>>());
  return all;
}

std::unique_ptr<Transport> CacheLine() {
  return std::make_unique<TransportOf<CacheLineTransport>>();
}

}  // namespace buffered_pipe::bench
