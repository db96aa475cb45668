"""The shared half of the rules that run a cc_binary built in another configuration.

benchmarks/opt.bzl (always -c opt) and bazel/schedule_points.bzl (with
scheduling points) each put a configuration transition on a `binary`
attribute; this makes the transitioned executable runnable (or testable)
under the wrapping rule's name.
"""

def transitioned_binary_impl(ctx):
    """Symlinks ctx.attr.binary's executable under ctx.label.name, with its runfiles."""
    binary = ctx.attr.binary[0]
    executable = binary[DefaultInfo].files_to_run.executable
    link = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = link, target_file = executable, is_executable = True)
    runfiles = ctx.runfiles(files = [executable]).merge(binary[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = link, runfiles = runfiles)]

def transitioned_binary_attrs(transition_for_binary):
    """The attributes of such a rule: `binary` behind the given transition."""
    return {
        "binary": attr.label(
            cfg = transition_for_binary,
            executable = True,
            mandatory = True,
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    }
