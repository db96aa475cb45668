"""optimized_binary: a cc_binary that is always built with -c opt.

Benchmarks measured in fastbuild (-O0) would report the compiler, not the
library. `bazel run //benchmarks:compare` must give meaningful numbers
without the user remembering `-c opt`, so the benchmark binaries are built
through a configuration transition: the wrapped cc_binary (and everything it
depends on, the framework included) is compiled with
--compilation_mode=opt, in its own output directory, whatever the command
line says. The wrapper only symlinks the optimized executable.
"""

load("//bazel:transitioned_binary.bzl", "transitioned_binary_attrs", "transitioned_binary_impl")

def _opt_transition_impl(settings, attr):
    return {"//command_line_option:compilation_mode": "opt"}

_opt_transition = transition(
    implementation = _opt_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:compilation_mode"],
)

optimized_binary = rule(
    implementation = transitioned_binary_impl,
    doc = "Builds `binary` (a cc_binary) with -c opt and makes it runnable under this name.",
    attrs = transitioned_binary_attrs(_opt_transition),
    executable = True,
)
