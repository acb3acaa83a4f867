#!/usr/bin/env python3
"""Compile-fail check for one file of tests/fail/.

    check.py COMPILER [ARGS...] FILE

FILE is a user's program with one mistake. The check passes when
  1. FILE compiles without errors or warnings with -DLAMINA_EXPECT_PASS (under that macro the
     mistake is replaced by the correct code, so the file is otherwise valid);
  2. FILE does not compile without the macro;
  3. the first error (stderr up to, not including, the second line that reports an error;
     all of stderr when there is one error) contains every text of the file's comments
         // expect: TEXT          (both compilers)
         // expect-gcc: TEXT      (g++ only)
         // expect-clang: TEXT    (clang++ only)
  4. the first error is at most MAX_LINES lines long, as a user sees it.
The measured line count is printed whether or not the check passes.
"""

import os
import re
import subprocess
import sys

MAX_LINES = 15
FLAGS = ["-std=c++20", "-fsyntax-only", "-fdiagnostics-color=never", "-Wall", "-Wextra", "-Wpedantic"]
EXPECT = re.compile(r"^\s*//\s*expect(?:-(gcc|clang))?:\s?(.*?)\s*$")
# "file:line:col: error: ..." (or "fatal error:"), not "lamina::shape_error::" inside a type.
ERROR_LINE = re.compile(r"(^|: )(fatal )?error: ")
# Plain ASCII quotes and untranslated messages, whatever the caller's locale.
ENV = dict(os.environ, LC_ALL="C", LANG="C")


def compiler_family(cmd):
    out = subprocess.run(cmd + ["-dM", "-E", "-x", "c++", os.devnull], capture_output=True, text=True, env=ENV)
    return "clang" if "__clang__" in out.stdout else "gcc"


def run_compiler(cmd, extra):
    r = subprocess.run(cmd + FLAGS + extra, capture_output=True, text=True, env=ENV)
    return r.returncode, r.stderr


def first_error(stderr):
    lines = stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if ERROR_LINE.search(line)]
    end = errors[1] if len(errors) > 1 else len(lines)
    return lines[:end], len(errors)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    *cmd, path = sys.argv[1:]
    family = compiler_family(cmd)
    name = os.path.basename(path)

    expects = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = EXPECT.match(line)
            if m and m.group(1) in (None, family):
                expects.append(m.group(2))
    if not expects:
        print(f"{name}: no '// expect:' or '// expect-{family}:' line")
        return 1

    rc, err = run_compiler(cmd, ["-DLAMINA_EXPECT_PASS", path])
    if rc != 0 or err.strip():
        print(f"{name}: with -DLAMINA_EXPECT_PASS the file must compile cleanly, but {family} says:\n{err}")
        return 1

    rc, err = run_compiler(cmd, [path])
    if rc == 0:
        print(f"{name}: compiles with {family}, but the mistake must be rejected\n{err}")
        return 1

    block, nerrors = first_error(err)
    text = "\n".join(block)
    missing = [e for e in expects if e not in text]
    print(f"{name} [{family}]: first error {len(block)} lines (limit {MAX_LINES}), {nerrors} error(s) in all")
    ok = True
    if missing:
        ok = False
        print("first error lacks the expected text:")
        for e in missing:
            print(f"    {e}")
    if len(block) > MAX_LINES:
        ok = False
        print(f"first error is {len(block)} lines long; a readable one fits in {MAX_LINES}")
    if not ok:
        print(f"--- {family} stderr ---\n{err}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
