// bpipe: list, inspect and remove the named buffered_pipe pipes in
// /dev/shm (bpipe_lib.h), and bridge one to the network (bridge.h).
#include <iostream>
#include <string>
#include <vector>

#include "tools/bpipe_lib.h"
#ifndef BUFFERED_PIPE_BPIPE_WITHOUT_BRIDGE  // CMake, -DBUFFERED_PIPE_BUILD_NETWORK=OFF
#include "tools/bridge.h"
#endif

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "bridge") {
#ifndef BUFFERED_PIPE_BPIPE_WITHOUT_BRIDGE
    return buffered_pipe::tools::BridgeMain(std::vector<std::string>(argv + 2, argv + argc),
                                            std::cout, std::cerr);
#else
    std::cerr << "bpipe: this build has no network ends (BUFFERED_PIPE_BUILD_NETWORK=OFF)\n";
    return 2;
#endif
  }
  return buffered_pipe::tools::Main(argc, argv, std::cout, std::cerr);
}
