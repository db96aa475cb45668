#include "buffered_pipe/internal/process_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace buffered_pipe::internal {
namespace {

struct StatFields {
  bool exists = false;
  char state = '?';
  std::uint64_t start_time = 0;
};

// Parses /proc/<pid>/stat without allocating. The command name (field 2) may
// contain spaces and parentheses, so parsing starts after the LAST ')'.
StatFields ReadStat(std::uint32_t pid) {
  char path[40] = "/proc/";
  int length = 6;
  char digits[16];
  int digit_count = 0;
  std::uint32_t value = pid;
  do {
    digits[digit_count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (digit_count > 0) path[length++] = digits[--digit_count];
  const char kSuffix[] = "/stat";
  for (char c : kSuffix) path[length++] = c;  // copies the terminating NUL too

  StatFields fields;
  const int descriptor = open(path, O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) return fields;
  char buffer[1024];
  ssize_t size = 0;
  for (;;) {
    const ssize_t count = read(descriptor, buffer + size, sizeof(buffer) - 1 - static_cast<size_t>(size));
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) break;
    size += count;
    if (static_cast<size_t>(size) >= sizeof(buffer) - 1) break;
  }
  close(descriptor);
  if (size <= 0) return fields;
  buffer[size] = '\0';
  const char* cursor = nullptr;
  for (ssize_t i = size - 1; i >= 0; --i) {
    if (buffer[i] == ')') {
      cursor = buffer + i + 1;
      break;
    }
  }
  if (cursor == nullptr) return fields;
  // After ')': " S ppid ..." — field 3 is the state; field 22 the start time.
  int field = 2;
  const char* end = buffer + size;
  while (cursor < end && field < 22) {
    while (cursor < end && *cursor == ' ') ++cursor;
    if (cursor >= end) break;
    ++field;
    if (field == 3) fields.state = *cursor;
    if (field == 22) {
      std::uint64_t start = 0;
      while (cursor < end && *cursor >= '0' && *cursor <= '9') start = start * 10 + static_cast<std::uint64_t>(*cursor++ - '0');
      fields.start_time = start;
      fields.exists = true;
      break;
    }
    while (cursor < end && *cursor != ' ') ++cursor;
  }
  return fields;
}

// Cached identity of this process. Relaxed is enough: the values are only
// ever written with what /proc says about this very process, so racing
// writers write the same values.
std::atomic<std::uint32_t> cached_pid{0};
std::atomic<std::uint64_t> cached_start_time{0};

}  // namespace

ProcessIdentity CurrentProcess() {
  const std::uint32_t pid = static_cast<std::uint32_t>(getpid());
  if (cached_pid.load(std::memory_order_relaxed) != pid) {
    cached_start_time.store(ReadStat(pid).start_time, std::memory_order_relaxed);
    cached_pid.store(pid, std::memory_order_relaxed);
  }
  return ProcessIdentity{pid, cached_start_time.load(std::memory_order_relaxed)};
}

void ResetCurrentProcessAfterFork() { cached_pid.store(0, std::memory_order_relaxed); }

bool IsProcessAlive(std::uint32_t pid, std::uint64_t start_time) {
  if (pid == 0) return false;
  const StatFields fields = ReadStat(pid);
  if (!fields.exists) return false;
  if (fields.state == 'Z' || fields.state == 'X' || fields.state == 'x') return false;
  if (start_time != 0 && fields.start_time != start_time) return false;
  return true;
}

std::uint64_t ReadStartTime(std::uint32_t pid) { return ReadStat(pid).start_time; }

namespace {

// Appends `value` in lowercase hex, at least `width` digits, at `out`;
// returns the end. (/proc/<pid>/map_files names use no padding, the maps
// file pads to 8 digits.)
char* AppendHex(char* out, std::uint64_t value, int width = 1) {
  char digits[16];
  int count = 0;
  do {
    digits[count++] = "0123456789abcdef"[value & 0xF];
    value >>= 4;
  } while (value != 0 || count < width);
  while (count > 0) *out++ = digits[--count];
  return out;
}

char* AppendDecimal(char* out, std::uint32_t value) {
  char digits[10];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (count > 0) *out++ = digits[--count];
  return out;
}

// Whether /proc/<pid>/maps has a line starting "<address in hex>-".
bool MapsListsAddress(std::uint32_t pid, std::uint64_t address) {
  char path[40] = "/proc/";
  char* end = AppendDecimal(path + 6, pid);
  const char kSuffix[] = "/maps";
  for (char c : kSuffix) *end++ = c;
  const int descriptor = open(path, O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) return errno != ENOENT;  // cannot tell: assume mapped
  char wanted[24];
  char* wanted_end = AppendHex(wanted, address, 8);
  *wanted_end++ = '-';
  const std::size_t wanted_size = static_cast<std::size_t>(wanted_end - wanted);
  char buffer[4096];
  std::size_t matched = 0;  // characters of `wanted` matched at a line start
  bool at_line_start = true;
  bool found = false;
  for (;;) {
    const ssize_t size = read(descriptor, buffer, sizeof(buffer));
    if (size < 0 && errno == EINTR) continue;
    if (size <= 0) break;
    for (ssize_t i = 0; i < size && !found; ++i) {
      const char c = buffer[i];
      if (c == '\n') {
        at_line_start = true;
        matched = 0;
        continue;
      }
      if (at_line_start) {
        if (c == wanted[matched]) {
          if (++matched == wanted_size) found = true;
          continue;
        }
        at_line_start = false;
      }
    }
    if (found) break;
  }
  close(descriptor);
  return found;
}

}  // namespace

bool MapsRange(std::uint32_t pid, std::uint64_t address, std::uint64_t size) {
  if (pid == 0 || address == 0 || size == 0) return true;
  char path[96] = "/proc/";
  char* end = AppendDecimal(path + 6, pid);
  const char kMiddle[] = "/map_files/";
  for (std::size_t i = 0; i + 1 < sizeof(kMiddle); ++i) *end++ = kMiddle[i];
  end = AppendHex(end, address);
  *end++ = '-';
  end = AppendHex(end, address + size);
  *end = '\0';
  struct stat file {};
  if (lstat(path, &file) == 0) return true;
  if (errno != ENOENT) return true;  // no permission etc.: cannot tell
  // Not under that exact name: the mapping may have been split or merged
  // with a neighbour; the maps file says whether it starts there at all.
  return MapsListsAddress(pid, address);
}

int ReadChildrenOfThisThread(std::uint32_t* pids, int capacity) {
  const int descriptor = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) return -1;
  int count = 0;
  std::uint64_t value = 0;
  bool in_number = false;
  bool overflow = false;
  char buffer[512];
  for (;;) {
    const ssize_t size = read(descriptor, buffer, sizeof(buffer));
    if (size < 0 && errno == EINTR) continue;
    if (size <= 0) break;
    for (ssize_t i = 0; i < size; ++i) {
      const char c = buffer[i];
      if (c >= '0' && c <= '9') {
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
        in_number = true;
        continue;
      }
      if (in_number) {
        if (count < capacity) pids[count] = static_cast<std::uint32_t>(value);
        else overflow = true;
        ++count;
      }
      value = 0;
      in_number = false;
    }
  }
  close(descriptor);
  if (in_number) {
    if (count < capacity) pids[count] = static_cast<std::uint32_t>(value);
    else overflow = true;
    ++count;
  }
  return overflow ? -1 : count;
}

}  // namespace buffered_pipe::internal
