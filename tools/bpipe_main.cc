// bpipe: list, inspect and remove the named buffered_pipe pipes in
// /dev/shm. See bpipe_lib.h.
#include <iostream>

#include "tools/bpipe_lib.h"

int main(int argc, char** argv) {
  return buffered_pipe::tools::Main(argc, argv, std::cout, std::cerr);
}
