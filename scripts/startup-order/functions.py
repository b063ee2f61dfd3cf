#!/usr/bin/env python3
"""The functions of one object that ran in callgrind profiles.

    functions.py OBJECT_SUFFIX PROFILE...

Prints each function of the object whose path ends with OBJECT_SUFFIX that
has a cost in any of the profiles (made with `--demangle=no`, so the names
are the linker's symbol names), once, in order of first appearance.
"""
import re
import sys

# `fn=(id) name` defines a name the first time, `fn=(id)` reuses it; `cfn=`
# (a callee) defines names the same way. `ob=` switches the object.
ENTRY = re.compile(r"^(c?)(ob|fn)=\((\d+)\)(?: (.*))?$")
# callgrind marks recursion levels (`name'2`); not part of the symbol.
RECURSION = re.compile(r"'\d+$")


def functions(path, object_suffix):
    names, objects = {}, {}
    current_object = None
    for line in open(path, errors="replace"):
        match = ENTRY.match(line.rstrip("\n"))
        if not match:
            continue
        callee, kind, ident, name = match.groups()
        table = objects if kind == "ob" else names
        if name is not None:
            table[ident] = name
        if callee:
            continue
        if kind == "ob":
            current_object = objects.get(ident)
        elif current_object and current_object.endswith(object_suffix):
            name = RECURSION.sub("", names.get(ident, ""))
            # Skip valgrind's pseudo-functions and unnamed code.
            if name and not name.startswith(("(", "0x")):
                yield name


def main():
    seen = set()
    for path in sys.argv[2:]:
        for name in functions(path, sys.argv[1]):
            if name not in seen:
                seen.add(name)
                print(name)


if __name__ == "__main__":
    main()
