"""Offline stand-in for @rules_cc//cc:defs.bzl on Bazel 4.2.3.

Bazel's own @bazel_tools//tools/cpp loads @rules_cc//cc:defs.bzl, and
Debian's bazel-rules-cc package is too new for Bazel 4.2.3 (it loads
`use_cpp_toolchain`, which 4.2.3 lacks). The rules are built into Bazel 4,
so this file only forwards to `native.*`. A consumer with a newer Bazel uses
the real rules_cc instead; our BUILD files load from here either way.
"""

def cc_library(**attrs):
    native.cc_library(**attrs)

def cc_binary(**attrs):
    native.cc_binary(**attrs)

def cc_test(**attrs):
    native.cc_test(**attrs)

def cc_import(**attrs):
    native.cc_import(**attrs)

def cc_toolchain(**attrs):
    native.cc_toolchain(**attrs)

def cc_toolchain_suite(**attrs):
    native.cc_toolchain_suite(**attrs)

def cc_proto_library(**attrs):
    native.cc_proto_library(**attrs)

def objc_library(**attrs):
    native.objc_library(**attrs)

def fdo_profile(**attrs):
    native.fdo_profile(**attrs)

def fdo_prefetch_hints(**attrs):
    native.fdo_prefetch_hints(**attrs)
