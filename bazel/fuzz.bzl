"""buffered_pipe_fuzz_test: one libFuzzer target that is also a normal test.

    load("//bazel:fuzz.bzl", "buffered_pipe_fuzz_test")

    buffered_pipe_fuzz_test(
        name = "frame_decoder_fuzz",
        srcs = ["frame_decoder_fuzz.cc"],   # defines LLVMFuzzerTestOneInput
        deps = ["//codecs:frame"],
    )

Seed inputs: by default every file under `corpus/<name>/` in the same package
(pass `corpus = [...]` to choose other files of the package). Keep them small.

What the one target does, depending on the configuration:

* Normal build (gcc), also `bazel test //...`: a cc_test whose main()
  (//bazel:fuzz_replay_main) runs LLVMFuzzerTestOneInput on the empty input
  and on every seed input, once. So the fuzz target compiles with gcc and
  -Werror, and its seeds are a regression test, in every `bazel test //...`.
* `--config=fuzz` (clang-14, -fsanitize=fuzzer-no-link,address,undefined):
  the same target links libFuzzer's main (-fsanitize=fuzzer) and, run by
  `bazel test --config=fuzz //pkg:name`, fuzzes starting from the seeds
  (passed as -seed_inputs=..., so nothing is written into the source tree)
  for `fuzz_runs` executions (default 10000; `--test_arg=-runs=N` and
  `--test_arg=-max_total_time=S` override it, as bazel/test_all.sh does).
  To fuzz for longer by hand, build it and run the binary with a writable
  corpus directory, e.g.
      bazel build --config=fuzz //pkg:name
      mkdir -p /tmp/corpus && bazel-bin/pkg/name /tmp/corpus pkg/corpus/name -max_total_time=600

The target is tagged "fuzz": bazel/test_all.sh runs it in its fuzz step (with
--config=fuzz) and leaves it out of the asan/tsan steps (the fuzz build
already has ASan and UBSan); .bazelrc's --config=fuzz builds and tests only
targets tagged "fuzz".

Seed-input paths are computed for targets of the main repository (the test's
working directory is the main repository's runfiles root).
"""

load("@rules_cc//cc:defs.bzl", "cc_test")
load(":copts.bzl", "BUFFERED_PIPE_COPTS")

def _runfiles_path(path):
    pkg = native.package_name()
    return (pkg + "/" + path) if pkg else path

def buffered_pipe_fuzz_test(
        name,
        srcs,
        deps = [],
        corpus = None,
        copts = None,
        tags = [],
        fuzz_runs = 10000,
        unit_timeout = 10,
        **kwargs):
    """A libFuzzer target under --config=fuzz, a seed-replay cc_test otherwise.

    Args:
      name: target name; seeds default to corpus/<name>/**.
      srcs: sources, one of which defines LLVMFuzzerTestOneInput (and
        optionally LLVMFuzzerInitialize). Must not define main().
      deps: dependencies.
      corpus: seed input files of this package (default: glob corpus/<name>/**).
      copts: compiler flags (default: BUFFERED_PIPE_COPTS).
      tags: extra tags; "fuzz" is always added.
      fuzz_runs: executions per `bazel test --config=fuzz` run.
      unit_timeout: libFuzzer's -timeout, seconds: one input that runs longer
        is a failure (libFuzzer prints it and writes it as an artifact), so
        that no single slow input can outlast the fuzz step's budget.
      **kwargs: passed to cc_test (size, timeout, data, ...).
    """
    if corpus == None:
        corpus = native.glob(["corpus/%s/**" % name], allow_empty = True)
    for f in corpus:
        if f.startswith(":") or f.startswith("//") or f.startswith("@"):
            fail("%s: corpus must be file paths of this package, not labels (%s)" % (name, f))
    args = ["-runs=%d" % fuzz_runs, "-timeout=%d" % unit_timeout]
    if corpus:
        args.append("-seed_inputs=" + ",".join([_runfiles_path(f) for f in corpus]))
    fuzzing = str(Label("//bazel:fuzzing"))
    cc_test(
        name = name,
        srcs = srcs,
        deps = deps + select({
            fuzzing: [],
            "//conditions:default": [str(Label("//bazel:fuzz_replay_main"))],
        }),
        copts = BUFFERED_PIPE_COPTS if copts == None else copts,
        linkopts = select({
            fuzzing: ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        data = corpus + kwargs.pop("data", []),
        args = args + kwargs.pop("args", []),
        tags = ["fuzz"] + [t for t in tags if t != "fuzz"],
        **kwargs
    )
