// The release of buffered_pipe: the one place its version number is kept.
// Every build reads it from here: Bazel (this header), CMake (project
// VERSION, buffered_pipeConfigVersion.cmake and buffered_pipe.pc parse the
// three numbers below), `bpipe --version`.
//
//   #include "buffered_pipe/version.h"
//   std::cout << buffered_pipe::kVersion << "\n";   // "0.2.0"
//
// Versions follow semantic versioning: a new major number breaks the API or
// the shared-memory layout (layout.h's kLayoutVersion; pipes of another
// layout version are refused at open). CHANGELOG.md says what each changed.

#ifndef BUFFERED_PIPE_VERSION_H_
#define BUFFERED_PIPE_VERSION_H_

#define BUFFERED_PIPE_VERSION_MAJOR 0
#define BUFFERED_PIPE_VERSION_MINOR 2
#define BUFFERED_PIPE_VERSION_PATCH 0

#define BUFFERED_PIPE_VERSION_STRINGIFY_(x) #x
#define BUFFERED_PIPE_VERSION_STRINGIFY(x) BUFFERED_PIPE_VERSION_STRINGIFY_(x)

namespace buffered_pipe {

inline constexpr const char kVersion[] =
    BUFFERED_PIPE_VERSION_STRINGIFY(BUFFERED_PIPE_VERSION_MAJOR) "." BUFFERED_PIPE_VERSION_STRINGIFY(
        BUFFERED_PIPE_VERSION_MINOR) "." BUFFERED_PIPE_VERSION_STRINGIFY(BUFFERED_PIPE_VERSION_PATCH);

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_VERSION_H_
