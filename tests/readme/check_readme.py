#!/usr/bin/env python3
"""Builds the README's snippets: `run` compiles and runs one; `fail` inserts a snippet-fail line
into the program it names and checks that the compiler rejects it with the README's message."""
import re
import subprocess
import sys
from pathlib import Path


def snippets(readme):
    """{(kind, name): code} for each ```cpp block after a <!-- snippet[-fail]: name --> marker."""
    out = {}
    for m in re.finditer(r"<!-- (snippet|snippet-fail): (\w+) -->\s*```cpp\n(.*?)```(?:\s*```text\n(.*?)```)?",
                         readme, re.S):
        out[(m.group(1), m.group(2))] = (m.group(3), m.group(4) or "")
    return out


def normalize(s):
    s = s.replace("lamina::", "").replace("‘", "'").replace("’", "'")
    s = re.sub(r"(\d+)[uU][lL]*", r"\1", s)
    return re.sub(r"\s+>", ">", s)


def main():
    readme_path, mode, name, workdir, *cxx = sys.argv[1:]
    readme = Path(readme_path).read_text()
    found = snippets(readme)
    base, _ = found.get(("snippet", name), (None, None))
    if base is None:
        sys.exit(f"README has no snippet named {name!r}")
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"{name}_{mode}.cpp"
    exe = work / f"{name}_{mode}"
    if mode == "run":
        src.write_text(base)
        subprocess.run([*cxx, str(src), "-o", str(exe)], check=True)
        subprocess.run([str(exe)], check=True)
        return
    line, expected = found[("snippet-fail", name)]
    body = base.rstrip()
    assert body.endswith("}"), "the program must end with main's closing brace"
    src.write_text(body[:-1] + line + "}\n")
    r = subprocess.run([*cxx, "-fsyntax-only", str(src)], capture_output=True, text=True)
    if r.returncode == 0:
        sys.exit("the rejected line compiled")
    err = normalize(r.stderr)
    for want in expected.strip().splitlines():
        # the static_assert message and the sentence-type, whatever the compiler's framing
        msg = re.search(r"static assertion failed: (.*)", want)
        sentence = re.search(r"'(layer<.*?)' evaluates to false", normalize(want))
        key = msg.group(1) if msg else sentence.group(1) if sentence else None
        if key and normalize(key) not in err:
            print(r.stderr)
            sys.exit(f"the compiler's output lacks: {key}")
    print("rejected as documented:\n" + "\n".join(l for l in r.stderr.splitlines() if "error" in l)[:2000])


if __name__ == "__main__":
    main()
