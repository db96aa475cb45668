"""Compiler flags for buffered_pipe's own targets.

Use `copts = BUFFERED_PIPE_COPTS` on every cc_library/cc_binary/cc_test of
this repository. They are target copts, so they do not reach external
repositories (which are prebuilt Debian libraries here anyway) and a
consumer's own targets are not affected either.

Only flags that both gcc 12 and clang 14 understand: the normal, asan and
tsan builds use gcc, the fuzz build uses clang-14, and -Werror turns an
unknown warning option into an error under clang.
"""

BUFFERED_PIPE_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
]
