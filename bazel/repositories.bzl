"""buffered_pipe_offline_dependencies(): every external repository of the offline build.

Call it from a WORKSPACE, first thing after `workspace(...)` (our own) or
after the `local_repository(name = "buffered_pipe", ...)` that makes this
file loadable (a consumer's):

    load("@buffered_pipe//bazel:repositories.bzl", "buffered_pipe_offline_dependencies")
    buffered_pipe_offline_dependencies()

It declares, without any download (Bazel 4.2.3 from Debian 12, no network):
  * @rules_cc            a tiny shim forwarding to the native C++ rules
  * @rules_java          Debian's bazel-rules-java (/usr/share/bazel/rules/java)
  * @platforms           Debian's bazel-platforms (/usr/share/bazel/tools/platforms)
  * @remote_coverage_tools  a stub (any `bazel test` needs it)
  * the C++ libraries of bazel/system_deps.bzl under their upstream names
    (@com_google_absl, @com_google_googletest, @com_github_google_benchmark,
    @cereal, @boost, @libzmq), backed by Debian packages.

Every repository is declared with `maybe`, so a WORKSPACE that declares one
of these names before calling the macro keeps its own definition (e.g. a
consumer who wants upstream abseil sources).

Paths into this repository are Label(...)s, so the macro works the same from
our WORKSPACE and from a consumer's.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load(":system_deps.bzl", "SYSTEM_LIBRARIES")
load(
    ":system_library.bzl",
    "files_repository",
    "system_directory_repository",
    "system_library_repository",
)

_RULES_CC_ROOT_BUILD = """# Offline stand-in for rules_cc (see cc/defs.bzl).
package(default_visibility = ["//visibility:public"])
"""

_REMOTE_COVERAGE_TOOLS_BUILD = """# Stub: `bazel test` references these even when coverage is off.
package(default_visibility = ["//visibility:public"])

filegroup(name = "coverage_report_generator")

filegroup(name = "lcov_merger")

filegroup(name = "coverage_output_generator")
"""

def buffered_pipe_offline_dependencies():
    """Declares all external repositories of the offline (Debian 12) build."""
    maybe(
        files_repository,
        name = "rules_cc",
        files = {
            Label("//bazel:shims/rules_cc/cc/defs.bzl"): "cc/defs.bzl",
            Label("//bazel:shims/rules_cc/cc/find_cc_toolchain.bzl"): "cc/find_cc_toolchain.bzl",
            Label("//bazel:shims/rules_cc/cc/BUILD.shim"): "cc/BUILD.bazel",
        },
        contents = {"BUILD.bazel": _RULES_CC_ROOT_BUILD},
    )
    maybe(
        system_directory_repository,
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
        apt_package = "bazel-rules-java",
    )
    maybe(
        system_directory_repository,
        name = "platforms",
        path = "/usr/share/bazel/tools/platforms",
        apt_package = "bazel-platforms",
    )
    maybe(
        files_repository,
        name = "remote_coverage_tools",
        contents = {"BUILD.bazel": _REMOTE_COVERAGE_TOOLS_BUILD},
    )
    for name, lib in SYSTEM_LIBRARIES.items():
        maybe(
            system_library_repository,
            name = name,
            apt_packages = lib.apt,
            targets = lib.targets,
        )
