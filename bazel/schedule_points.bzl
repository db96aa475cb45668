"""schedule_points_test: a cc_test whose whole build has scheduling points.

The interleaving tests need the library compiled with
BUFFERED_PIPE_SCHEDULE_POINTS (framework/internal/schedule_point.h), and
no other binary may get them. A configuration transition appends the define
to --copt for the wrapped cc_binary and everything it depends on (the
framework included), in its own output directory; the sanitizer configs'
own copts are kept. The wrapper runs that binary as a test.
"""

def _schedule_points_transition_impl(settings, attr):
    return {"//command_line_option:copt": settings["//command_line_option:copt"] +
                                          ["-DBUFFERED_PIPE_SCHEDULE_POINTS"]}

_schedule_points_transition = transition(
    implementation = _schedule_points_transition_impl,
    inputs = ["//command_line_option:copt"],
    outputs = ["//command_line_option:copt"],
)

def _schedule_points_test_impl(ctx):
    binary = ctx.attr.binary[0]
    executable = binary[DefaultInfo].files_to_run.executable
    link = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = link, target_file = executable, is_executable = True)
    runfiles = ctx.runfiles(files = [executable]).merge(binary[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = link, runfiles = runfiles)]

schedule_points_test = rule(
    implementation = _schedule_points_test_impl,
    doc = "Runs `binary` (a cc_binary) built with scheduling points as a test.",
    attrs = {
        "binary": attr.label(
            cfg = _schedule_points_transition,
            executable = True,
            mandatory = True,
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
    test = True,
)
