"""THE table of third-party C++ libraries of the offline build.

Each entry is one external repository named as upstream names it, so our
BUILD files use the upstream labels and work unchanged for a consumer who
fetches the upstream sources. In the offline build, every target is a
`cc_library` backed by the Debian package's headers (/usr/include) and its
link line (asked from pkg-config when the repository is fetched); see
bazel/system_library.bzl for the spec syntax:

  "pkg-config=<module>"   link flags (and -D defines) of a pkg-config module
  "linkopt=<flag>"        a literal link flag
  "header=<path>"         a header under /usr/include that must exist
  "dep=<label>"           another target of the same repository
  "optional"              leave the target out if the module/header is missing

To add an Abseil target, add one line to ABSL below: the upstream label (as
in abseil's BUILD files, "//absl/foo" meaning "//absl/foo:foo") and its
pkg-config module, which is usually "absl_<target>" (list them with
`ls /usr/lib/x86_64-linux-gnu/pkgconfig/ | grep absl`).

The Debian packages named in `apt` must also be in bazel/install_deps.sh.
"""

# Abseil 20220623 from libabsl-dev. Upstream label -> pkg-config module.
# Debian builds it with ABSL_OPTION_USE_STD_{STRING_VIEW,OPTIONAL,VARIANT,ANY}
# = 0, so e.g. absl::string_view is NOT std::string_view here (upstream's
# default makes them the same): code must not assume either way.
ABSL = {
    "//absl/algorithm": "absl_algorithm",
    "//absl/algorithm:container": "absl_algorithm_container",
    "//absl/base": "absl_base",
    "//absl/base:core_headers": "absl_core_headers",
    "//absl/base:log_severity": "absl_log_severity",
    "//absl/base:prefetch": "absl_prefetch",
    "//absl/cleanup": "absl_cleanup",
    "//absl/container:btree": "absl_btree",
    "//absl/container:fixed_array": "absl_fixed_array",
    "//absl/container:flat_hash_map": "absl_flat_hash_map",
    "//absl/container:flat_hash_set": "absl_flat_hash_set",
    "//absl/container:inlined_vector": "absl_inlined_vector",
    "//absl/container:node_hash_map": "absl_node_hash_map",
    "//absl/container:node_hash_set": "absl_node_hash_set",
    "//absl/debugging:failure_signal_handler": "absl_failure_signal_handler",
    "//absl/debugging:stacktrace": "absl_stacktrace",
    "//absl/debugging:symbolize": "absl_symbolize",
    "//absl/flags:flag": "absl_flags",
    "//absl/flags:parse": "absl_flags_parse",
    "//absl/flags:usage": "absl_flags_usage",
    "//absl/functional:any_invocable": "absl_any_invocable",
    "//absl/functional:bind_front": "absl_bind_front",
    "//absl/functional:function_ref": "absl_function_ref",
    "//absl/hash": "absl_hash",
    "//absl/memory": "absl_memory",
    "//absl/meta:type_traits": "absl_type_traits",
    "//absl/numeric:bits": "absl_bits",
    "//absl/numeric:int128": "absl_int128",
    "//absl/random": "absl_random_random",
    "//absl/random:distributions": "absl_random_distributions",
    "//absl/status": "absl_status",
    "//absl/status:statusor": "absl_statusor",
    "//absl/strings": "absl_strings",
    "//absl/strings:cord": "absl_cord",
    "//absl/strings:str_format": "absl_str_format",
    "//absl/synchronization": "absl_synchronization",
    "//absl/time": "absl_time",
    "//absl/types:optional": "absl_optional",
    "//absl/types:span": "absl_span",
    "//absl/types:variant": "absl_variant",
    "//absl/utility": "absl_utility",
}

# Upstream targets that this Debian release may lack: generated only when
# their pkg-config module exists (absl/crc appeared in Abseil 20230125,
# absl/log in 20230125 too; Debian 12 ships 20220623).
ABSL_OPTIONAL = {
    "//absl/crc:crc32c": "absl_crc32c",
    "//absl/log": "absl_log",
    "//absl/log:check": "absl_check",
}

def _absl_targets():
    targets = {label: ["pkg-config=" + module] for label, module in ABSL.items()}
    for label, module in ABSL_OPTIONAL.items():
        targets[label] = ["pkg-config=" + module, "optional"]
    return targets

# Repository name (as upstream names it) -> struct(apt, targets).
SYSTEM_LIBRARIES = {
    "com_google_absl": struct(
        apt = ["libabsl-dev"],
        targets = _absl_targets(),
    ),
    # GoogleTest 1.12.1: static libraries, pkg-config gives the ordered
    # link line (-lgtest_main -lgtest -lpthread) and -DGTEST_HAS_PTHREAD=1.
    "com_google_googletest": struct(
        apt = ["libgtest-dev", "libgmock-dev"],
        targets = {
            "//:gtest": ["header=gtest/gtest.h", "pkg-config=gtest"],
            "//:gtest_main": ["header=gtest/gtest.h", "pkg-config=gtest_main"],
            "//:gmock": ["header=gmock/gmock.h", "pkg-config=gmock"],
            "//:gmock_main": ["header=gmock/gmock.h", "pkg-config=gmock_main"],
        },
    ),
    # Google Benchmark 1.7.1 (libbenchmark_main has no .pc file).
    "com_github_google_benchmark": struct(
        apt = ["libbenchmark-dev"],
        targets = {
            "//:benchmark": ["header=benchmark/benchmark.h", "pkg-config=benchmark", "linkopt=-lpthread"],
            "//:benchmark_main": [
                "header=benchmark/benchmark.h",
                "linkopt=-lbenchmark_main",
                "pkg-config=benchmark",
                "linkopt=-lpthread",
            ],
        },
    ),
    # cereal 1.3.2, header-only.
    "cereal": struct(
        apt = ["libcereal-dev"],
        targets = {
            "//:cereal": ["header=cereal/cereal.hpp"],
        },
    ),
    # Boost 1.74 (rules_boost's labels). Interprocess is header-only but needs
    # librt (shm_open) and pthreads. Benchmarks only.
    "boost": struct(
        apt = ["libboost-dev"],
        targets = {
            "//:interprocess": [
                "header=boost/interprocess/managed_shared_memory.hpp",
                "linkopt=-lrt",
                "linkopt=-lpthread",
            ],
        },
    ),
    # ZeroMQ 4.3 (libzmq3-dev). Benchmarks only.
    "libzmq": struct(
        apt = ["libzmq3-dev"],
        targets = {
            "//:libzmq": ["header=zmq.h", "pkg-config=libzmq"],
        },
    ),
}
