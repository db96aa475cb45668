"""schedule_points_test: a cc_test whose whole build has scheduling points.

The interleaving tests need the library compiled with
BUFFERED_PIPE_SCHEDULE_POINTS (framework/internal/schedule_point.h), and
no other binary may get them. A configuration transition appends the define
to --copt for the wrapped cc_binary and everything it depends on (the
framework included), in its own output directory; the sanitizer configs'
own copts are kept. The wrapper runs that binary as a test.
"""

load("//bazel:transitioned_binary.bzl", "transitioned_binary_attrs", "transitioned_binary_impl")

def _schedule_points_transition_impl(settings, attr):
    return {"//command_line_option:copt": settings["//command_line_option:copt"] +
                                          ["-DBUFFERED_PIPE_SCHEDULE_POINTS"]}

_schedule_points_transition = transition(
    implementation = _schedule_points_transition_impl,
    inputs = ["//command_line_option:copt"],
    outputs = ["//command_line_option:copt"],
)

schedule_points_test = rule(
    implementation = transitioned_binary_impl,
    doc = "Runs `binary` (a cc_binary) built with scheduling points as a test.",
    attrs = transitioned_binary_attrs(_schedule_points_transition),
    test = True,
)
