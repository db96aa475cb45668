// Replay driver for libFuzzer targets outside --config=fuzz (see fuzz.bzl).
//
// Calls LLVMFuzzerInitialize (if defined) once, then LLVMFuzzerTestOneInput
// once per input: every file named on the command line, every regular file
// in a directory named on the command line, and every file in a libFuzzer
// `-seed_inputs=a,b,c` flag. Other arguments starting with '-' are libFuzzer
// flags (e.g. -runs=N) and are ignored, so the same `args` serve both the
// libFuzzer binary and this driver. Exits non-zero on an unreadable input;
// a bug found by the target crashes/aborts the process as it would under
// libFuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace {

// Runs one input from an exactly-sized heap buffer (so ASan catches reads
// past the end) that is never null, as libFuzzer does, even when empty.
void RunBytes(const char* bytes, size_t size) {
  std::unique_ptr<uint8_t[]> data(new uint8_t[size]);
  if (size != 0) std::memcpy(data.get(), bytes, size);
  LLVMFuzzerTestOneInput(data.get(), size);
}

bool RunOne(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz_replay: cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  RunBytes(bytes.data(), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::string seed_flag = "-seed_inputs=";
    if (arg.rfind(seed_flag, 0) == 0) {
      std::string list = arg.substr(seed_flag.size());
      size_t start = 0;
      while (start <= list.size()) {
        const size_t comma = list.find(',', start);
        const std::string item =
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) inputs.emplace_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (!arg.empty() && arg[0] == '-') {
      continue;  // a libFuzzer flag
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
    } else {
      inputs.emplace_back(arg);
    }
  }
  // An empty input is always worth running once.
  RunBytes("", 0);
  size_t ran = 0;
  for (const auto& path : inputs) {
    if (!RunOne(path)) return 1;
    ++ran;
  }
  std::printf("fuzz_replay: ran %zu input(s) plus the empty input\n", ran);
  return 0;
}
