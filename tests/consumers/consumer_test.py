#!/usr/bin/env python3
"""Build and run consumer.cpp against lamina the way an outside project would.

    consumer_test.py MODE SOURCE_ROOT CXX [CXX_ARGS...]

MODE is one of
  pkgconfig   meson-install lamina into a scratch prefix, compile with `pkg-config --cflags lamina`
  cmake       meson-install lamina into a scratch prefix, find_package(lamina) from CMakeLists.txt
  subproject  copy lamina into subprojects/lamina of a scratch meson project, use it as a fallback
CXX [CXX_ARGS...] is the compiler command of the calling meson build (so clang builds test clang).
The scratch directory is removed on success and kept (and named) on failure.
"""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONSUMER = HERE / "consumer.cpp"


class Failure(Exception):
    pass


def run(cmd, **kw):
    print("+ " + shlex.join(str(c) for c in cmd), flush=True)
    r = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, **kw)
    if r.stdout:
        print(r.stdout, end="" if r.stdout.endswith("\n") else "\n", flush=True)
    if r.returncode != 0:
        raise Failure(f"command failed with exit status {r.returncode}: {cmd[0]}")
    return r.stdout


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def project_version(src):
    info = run(["meson", "introspect", "--projectinfo", src / "meson.build"])
    import json
    return json.loads(info)["version"]


def compiler_env(cxx):
    env = dict(os.environ)
    env["CXX"] = shlex.join(cxx)
    return env


def install(src, tmp, cxx):
    """meson setup + install of lamina (no tests, examples or benchmarks) into tmp/prefix."""
    prefix = tmp / "prefix"
    build = tmp / "lamina-build"
    run(["meson", "setup", build, src, f"--prefix={prefix}",
         "-Dtests=false", "-Dexamples=false", "-Dbenchmarks=false"], env=compiler_env(cxx))
    run(["meson", "install", "-C", build, "--quiet"])
    check((prefix / "include" / "lamina" / "lamina.hpp").is_file(),
          f"{prefix}/include/lamina/lamina.hpp was not installed")
    return prefix


def test_pkgconfig(src, tmp, cxx):
    prefix = install(src, tmp, cxx)
    pcs = sorted(prefix.rglob("lamina.pc"))
    check(len(pcs) == 1, f"expected one installed lamina.pc under {prefix}, found {pcs}")
    print(f"installed {pcs[0]}:\n{pcs[0].read_text()}")
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = os.pathsep.join([str(pcs[0].parent)] +
                                             ([env["PKG_CONFIG_PATH"]] if env.get("PKG_CONFIG_PATH") else []))
    version = run(["pkg-config", "--modversion", "lamina"], env=env).strip()
    check(version == project_version(src), f"pkg-config --modversion lamina: {version!r}")
    cflags = shlex.split(run(["pkg-config", "--cflags", "lamina"], env=env))
    check(f"-I{prefix}/include" in cflags, f"Cflags lack -I{prefix}/include: {cflags}")
    check("-std=c++20" in cflags, f"Cflags lack -std=c++20: {cflags}")
    exe = tmp / "consumer"
    run(cxx + cflags + ["-std=c++20", "-Wall", "-Wextra", CONSUMER, "-o", exe])
    run([exe])


def test_cmake(src, tmp, cxx):
    prefix = install(src, tmp, cxx)
    build = tmp / "cmake-build"
    cmake_cxx = shutil.which(cxx[-1]) or cxx[-1]
    args = ["cmake", "-S", HERE / "cmake", "-B", build,
            f"-DCMAKE_PREFIX_PATH={prefix}",
            f"-DCMAKE_CXX_COMPILER={cmake_cxx}",
            "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF",
            f"-DLAMINA_EXPECTED_VERSION={project_version(src)}",
            f"-DLAMINA_EXPECTED_PREFIX={prefix}"]
    if len(cxx) > 1:  # e.g. ccache c++
        args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=" + ";".join(cxx[:-1]))
    if shutil.which("ninja"):
        args += ["-G", "Ninja"]
    env = {k: v for k, v in os.environ.items() if k not in ("CXX", "CXXFLAGS")}
    run(args, env=env)
    run(["cmake", "--build", build, "--verbose"], env=env)
    run([build / "consumer"])


def test_subproject(src, tmp, cxx):
    proj = tmp / "project"
    (proj / "subprojects").mkdir(parents=True)
    shutil.copy(HERE / "subproject" / "meson.build", proj / "meson.build")
    shutil.copy(CONSUMER, proj / "consumer.cpp")
    # What a release tarball or a wrap of lamina needs to be used as a subproject.
    lamina = proj / "subprojects" / "lamina"
    lamina.mkdir()
    for name in ("meson.build", "meson_options.txt", "include", "cmake", "LICENSE", "README.md"):
        p = src / name
        if p.is_dir():
            shutil.copytree(p, lamina / name)
        elif p.is_file():
            shutil.copy(p, lamina / name)
    build = tmp / "project-build"
    run(["meson", "setup", build, proj, "--force-fallback-for=lamina"], env=compiler_env(cxx))
    run(["meson", "compile", "-C", build, "-v"])
    run([build / "consumer"])


def main(argv):
    if len(argv) < 4 or argv[1] not in ("pkgconfig", "cmake", "subproject"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, src, cxx = argv[1], Path(argv[2]).resolve(), argv[3:]
    tmp = Path(tempfile.mkdtemp(prefix=f"lamina-consumer-{mode}-"))
    try:
        globals()["test_" + mode](src, tmp, cxx)
    except Failure as e:
        print(f"FAILED ({mode}): {e}\nscratch directory kept: {tmp}", file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{mode}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
