"""optimized_binary: a cc_binary that is always built with -c opt.

Benchmarks measured in fastbuild (-O0) would report the compiler, not the
library. `bazel run //benchmarks:compare` must give meaningful numbers
without the user remembering `-c opt`, so the benchmark binaries are built
through a configuration transition: the wrapped cc_binary (and everything it
depends on, the framework included) is compiled with
--compilation_mode=opt, in its own output directory, whatever the command
line says. The wrapper only symlinks the optimized executable.
"""

def _opt_transition_impl(settings, attr):
    return {"//command_line_option:compilation_mode": "opt"}

_opt_transition = transition(
    implementation = _opt_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:compilation_mode"],
)

def _optimized_binary_impl(ctx):
    binary = ctx.attr.binary[0]
    executable = binary[DefaultInfo].files_to_run.executable
    link = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = link, target_file = executable, is_executable = True)
    runfiles = ctx.runfiles(files = [executable]).merge(binary[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = link, runfiles = runfiles)]

optimized_binary = rule(
    implementation = _optimized_binary_impl,
    doc = "Builds `binary` (a cc_binary) with -c opt and makes it runnable under this name.",
    attrs = {
        "binary": attr.label(
            cfg = _opt_transition,
            executable = True,
            mandatory = True,
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
    executable = True,
)
