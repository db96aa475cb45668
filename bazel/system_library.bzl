"""Repository rules that map upstream Bazel repositories onto Debian packages.

Nothing here downloads anything: every repository is built from files that are
already on the machine (Debian 12 packages, see bazel/install_deps.sh) or from
files inside this repository.

* `system_library_repository` writes one BUILD file per package path (e.g.
  `absl/status/BUILD.bazel` inside `@com_google_absl`), so that the upstream
  labels such as `@com_google_absl//absl/status:statusor` resolve to a
  `cc_library` whose link line comes from `pkg-config` (asked at fetch time).
  Headers are the system ones (/usr/include), which the auto-configured C++
  toolchain already treats as built-in include directories.
* `system_directory_repository` exposes a directory installed by a Debian
  package (e.g. /usr/share/bazel/rules/java) as a repository, with a clear
  error message naming the package when it is missing.
* `files_repository` builds a repository out of files of this repository
  (given as Label objects, so it works from a consumer's WORKSPACE too) plus
  inline BUILD contents.

The table of targets lives in bazel/system_deps.bzl.
"""

_TARGET_SPEC_DOC = """
Dict from target label inside the generated repository ("//absl/status",
"//absl/status:statusor", "//:gtest") to a list of specs, applied in order:
  "pkg-config=<module>"  link flags from `pkg-config --libs <module>`, defines
                         from the -D flags of `pkg-config --cflags <module>`
  "linkopt=<flag>"       one literal link flag
  "header=<path>"        a header (relative to /usr/include) that must exist
  "dep=<label>"          a dependency (label inside the same repository)
  "optional"             if a pkg-config module or header is missing, leave
                         the target out (with a comment in the BUILD file)
                         instead of failing
"""

_INCLUDE_DIRS = ["/usr/include", "/usr/local/include"]

def _split_label(label):
    """'//absl/status' -> ('absl/status', 'status'); '//:gtest' -> ('', 'gtest')."""
    if not label.startswith("//"):
        fail("target %r must start with //" % label)
    body = label[2:]
    if ":" in body:
        pkg, name = body.split(":", 1)
    else:
        pkg = body
        name = body.rsplit("/", 1)[-1]
    if not name:
        fail("cannot derive a target name from %r" % label)
    return pkg, name

def _pkg_config(rctx, pkg_config, module, what):
    result = rctx.execute([pkg_config, what, module])
    if result.return_code != 0:
        return None
    return [f for f in result.stdout.strip().split(" ") if f]

def _find_header(rctx, header):
    for d in _INCLUDE_DIRS:
        if rctx.path(d + "/" + header).exists:
            return True
    return False

def _starlark_list(items, indent):
    if not items:
        return "[]"
    pad = " " * indent
    return "[\n" + "".join([pad + "    " + repr(i) + ",\n" for i in items]) + pad + "]"

def _system_library_repository_impl(rctx):
    pkg_config = rctx.which("pkg-config")
    hint = "install the Debian package(s) %s (bash bazel/install_deps.sh does it)" % (
        " ".join(rctx.attr.apt_packages) or "providing it"
    )
    packages = {}  # package path -> list of BUILD snippets
    for label, specs in rctx.attr.targets.items():
        pkg, name = _split_label(label)
        optional = "optional" in specs
        linkopts = []
        defines = []
        deps = []
        missing = []
        for spec in specs:
            if spec == "optional":
                continue
            kind, _, value = spec.partition("=")
            if kind == "pkg-config":
                if not pkg_config:
                    fail("@%s: pkg-config not found: install the Debian package pkg-config" % rctx.name)
                libs = _pkg_config(rctx, pkg_config, value, "--libs")
                cflags = _pkg_config(rctx, pkg_config, value, "--cflags")
                if libs == None or cflags == None:
                    missing.append("pkg-config module " + value)
                    continue
                linkopts.extend(libs)

                # Only -D flags can be propagated by a cc_library (`defines`);
                # -I/-isystem directories of Debian's .pc files point at
                # headers that our code does not include directly.
                defines.extend([f[2:] for f in cflags if f.startswith("-D")])
            elif kind == "linkopt":
                linkopts.append(value)
            elif kind == "header":
                if not _find_header(rctx, value):
                    missing.append("header <%s>" % value)
            elif kind == "dep":
                deps.append(value)
            else:
                fail("@%s: unknown spec %r for %s%s" % (rctx.name, spec, label, _TARGET_SPEC_DOC))
        if missing and not optional:
            fail("@%s%s: missing %s; %s" % (rctx.name, label, ", ".join(missing), hint))
        if missing:
            snippet = "# %s: not provided by the installed packages (missing %s).\n" % (
                name,
                ", ".join(missing),
            )
        else:
            snippet = """cc_library(
    name = {name},
    defines = {defines},
    linkopts = {linkopts},
    deps = {deps},
)
""".format(
                name = repr(name),
                defines = _starlark_list(defines, 4),
                linkopts = _starlark_list(linkopts, 4),
                deps = _starlark_list(deps, 4),
            )
        packages.setdefault(pkg, []).append(snippet)

    header = """# Generated by @buffered_pipe//bazel:system_library.bzl (repository @{repo}).
# Maps upstream labels onto system libraries from Debian packages; headers
# come from /usr/include. Do not edit: change bazel/system_deps.bzl instead.
package(default_visibility = ["//visibility:public"])

""".format(repo = rctx.name)
    for pkg, snippets in packages.items():
        path = (pkg + "/BUILD.bazel") if pkg else "BUILD.bazel"
        rctx.file(path, header + "\n".join(snippets))
    if "" not in packages:
        rctx.file("BUILD.bazel", header)
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

system_library_repository = repository_rule(
    implementation = _system_library_repository_impl,
    attrs = {
        "targets": attr.string_list_dict(mandatory = True, doc = _TARGET_SPEC_DOC),
        "apt_packages": attr.string_list(doc = "Debian packages named in error messages."),
    },
    environ = ["PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR"],
    # Re-evaluated when the Bazel server restarts, so an upgraded Debian
    # package is picked up; it only runs a few dozen pkg-config calls.
    local = True,
    doc = "Upstream-labelled cc_library targets backed by system libraries.",
)

def _system_directory_repository_impl(rctx):
    root = rctx.path(rctx.attr.path)
    if not root.exists:
        fail("@%s: %s does not exist; install the Debian package %s (bash bazel/install_deps.sh does it)" % (
            rctx.name,
            rctx.attr.path,
            rctx.attr.apt_package,
        ))
    for entry in root.readdir():
        rctx.symlink(entry, entry.basename)
    if not rctx.path("WORKSPACE").exists:
        rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

system_directory_repository = repository_rule(
    implementation = _system_directory_repository_impl,
    attrs = {
        "path": attr.string(mandatory = True),
        "apt_package": attr.string(mandatory = True),
    },
    local = True,
    doc = "A repository made of a directory that a Debian package installs.",
)

def _files_repository_impl(rctx):
    for label, dest in rctx.attr.files.items():
        rctx.symlink(rctx.path(label), dest)
    for dest, content in rctx.attr.contents.items():
        rctx.file(dest, content)
    if not rctx.path("WORKSPACE").exists:
        rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)

files_repository = repository_rule(
    implementation = _files_repository_impl,
    attrs = {
        "files": attr.label_keyed_string_dict(
            allow_files = True,
            doc = "Label (pass Label objects) -> destination path in the repository.",
        ),
        "contents": attr.string_dict(doc = "Destination path -> file content."),
    },
    doc = "A repository made of files of this repository and inline contents.",
)
