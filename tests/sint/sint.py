#!/usr/bin/env python3
"""Helpers for tests/sint/run.sh (standard library only).

  sint.py catalog JAR
      Every test class in the SINT jar with the specification it is tagged
      with (its @SpecificationReference document, normalised as SINT does:
      "XEP-0199" -> "XEP0199"), or "-" when untagged. One "class spec" a line.

  sint.py select JAR SPECS_FILE TESTS_FILE DISABLED_FILE [--specs LIST] [--tests LIST]
      Two lines: the comma-separated tests to enable (the classes tagged
      with a specification of SPECS_FILE plus the untagged classes of
      TESTS_FILE, less the methods of DISABLED_FILE), then the whole classes
      to disable. --specs/--tests replace the files' contents (diagnostic
      runs). Fails when a name matches no test, so a typo cannot silently
      shrink the run, and when a disabled entry has no '# reason'.

  sint.py report JAR LOG DISABLED_FILE [--compliance FILE] [--title TEXT]
      Reads the framework's log, prints a summary (ending with the line
      "sint: N passed, N failed"), and, with --compliance, rewrites the part
      of FILE between <!-- sint:start --> and <!-- sint:end -->. Exits 1
      when a test failed or the log has no result summary.

SINT selects tests by specification only among tagged classes: with
-Dsinttest.enabledSpecifications set, untagged classes (login, connection,
message and closing-stream tests) never run, and the framework ANDs that
filter with -Dsinttest.enabledTests. So run.sh resolves both lists to
classes here and passes one -Dsinttest.enabledTests.
"""

import re
import struct
import sys
import zipfile

SPEC_ANNOTATION = "Lorg/igniterealtime/smack/inttest/annotations/SpecificationReference;"
TEST_PACKAGES = ("org/jivesoftware/smack/", "org/jivesoftware/smackx/",
                 "org/igniterealtime/smack/", "org/igniterealtime/smackx/")
UNTAGGED = "-"


def normalize_spec(s):
    """As SINT's Configuration.normalizeSpecification: drop blanks and '-', upper-case."""
    return re.sub(r"[\s-]", "", s).upper()


def display_spec(s):
    """XEP0199 -> XEP-0199 for humans; RFC6121 stays."""
    m = re.fullmatch(r"XEP(\d{4})", s)
    return "XEP-" + m.group(1) if m else s


# --- class files -------------------------------------------------------------

class ClassInfo:
    def __init__(self, name, abstract, super_name, spec, methods):
        self.name, self.abstract, self.super_name = name, abstract, super_name
        self.spec, self.methods = spec, methods


def parse_class(data):
    """Name, abstractness, superclass, @SpecificationReference document and
    the methods carrying @SmackIntegrationTest, from a class file."""
    pos = 10
    (count,) = struct.unpack_from(">H", data, 8)
    pool = [None] * count
    i = 1
    while i < count:
        tag = data[pos]
        if tag == 1:
            (n,) = struct.unpack_from(">H", data, pos + 1)
            pool[i] = data[pos + 3:pos + 3 + n].decode("utf-8", "replace")
            pos += 3 + n
        elif tag in (7, 8, 16, 19, 20):
            pool[i] = ("ref", struct.unpack_from(">H", data, pos + 1)[0])
            pos += 3
        elif tag == 15:
            pos += 4
        elif tag in (3, 4, 9, 10, 11, 12, 17, 18):
            pos += 5
        elif tag in (5, 6):
            pos += 9
            i += 1
        else:
            raise ValueError("unknown constant pool tag %d" % tag)
        i += 1

    def utf8(idx):
        v = pool[idx]
        return pool[v[1]] if isinstance(v, tuple) else v

    access, this_idx, super_idx = struct.unpack_from(">HHH", data, pos)
    pos += 6
    (n,) = struct.unpack_from(">H", data, pos)
    pos += 2 + 2 * n

    def skip_attributes(p):
        (na,) = struct.unpack_from(">H", data, p)
        p += 2
        attrs = []
        for _ in range(na):
            name_idx, length = struct.unpack_from(">HI", data, p)
            attrs.append((pool[name_idx], p + 6, length))
            p += 6 + length
        return p, attrs

    def annotations(attrs):
        """(type descriptor, {element name: const value}) of visible annotations."""
        out = []
        for name, start, _ in attrs:
            if name != "RuntimeVisibleAnnotations":
                continue
            (na,) = struct.unpack_from(">H", data, start)
            p = start + 2
            for _ in range(na):
                p, ann = read_annotation(p)
                out.append(ann)
        return out

    def read_annotation(p):
        type_idx, npairs = struct.unpack_from(">HH", data, p)
        p += 4
        values = {}
        for _ in range(npairs):
            (name_idx,) = struct.unpack_from(">H", data, p)
            p, v = read_value(p + 2)
            values[pool[name_idx]] = v
        return p, (pool[type_idx], values)

    def read_value(p):
        tag = chr(data[p])
        p += 1
        if tag in "BCDFIJSZs":
            (idx,) = struct.unpack_from(">H", data, p)
            return p + 2, pool[idx] if tag == "s" else None
        if tag == "e":
            return p + 4, None
        if tag == "c":
            return p + 2, None
        if tag == "@":
            p, _ = read_annotation(p)
            return p, None
        if tag == "[":
            (n,) = struct.unpack_from(">H", data, p)
            p += 2
            for _ in range(n):
                p, _ = read_value(p)
            return p, None
        raise ValueError("unknown element value tag " + tag)

    methods = []
    for members in ("fields", "methods"):
        (n,) = struct.unpack_from(">H", data, pos)
        pos += 2
        for _ in range(n):
            (name_idx,) = struct.unpack_from(">H", data, pos + 2)
            pos, attrs = skip_attributes(pos + 6)
            if members == "methods":
                for typ, _v in annotations(attrs):
                    if typ == "Lorg/igniterealtime/smack/inttest/annotations/SmackIntegrationTest;":
                        methods.append(pool[name_idx])
    pos, attrs = skip_attributes(pos)
    spec = None
    for typ, values in annotations(attrs):
        if typ == SPEC_ANNOTATION and values.get("document", "").strip():
            spec = normalize_spec(values["document"])
    return ClassInfo(utf8(this_idx).replace("/", "."), bool(access & 0x0400),
                     utf8(super_idx).replace("/", ".") if super_idx else None, spec, methods)


def catalog(jar):
    """{fully qualified class: ClassInfo} of the concrete test classes in jar."""
    infos = {}
    with zipfile.ZipFile(jar) as z:
        for n in z.namelist():
            if n.endswith(".class") and "$" not in n and n.startswith(TEST_PACKAGES):
                ci = parse_class(z.read(n))
                infos[ci.name] = ci
    # A test class extends (possibly indirectly) one of SINT's abstract bases.
    bases = {"org.igniterealtime.smack.inttest.AbstractSmackIntegrationTest",
             "org.igniterealtime.smack.inttest.AbstractSmackLowLevelIntegrationTest",
             "org.igniterealtime.smack.inttest.AbstractSmackSpecificLowLevelIntegrationTest"}

    def is_test(ci, depth=0):
        if ci.super_name in bases:
            return True
        sup = infos.get(ci.super_name)
        return sup is not None and depth < 10 and is_test(sup, depth + 1)

    tests = {}
    for name, ci in infos.items():
        if ci.abstract or name.startswith("org.igniterealtime.smack.inttest.") or not is_test(ci):
            continue
        # SINT reads the tag of the class itself, but runs inherited public
        # test methods too.
        sup = infos.get(ci.super_name)
        while sup is not None:
            ci.methods += [m for m in sup.methods if m not in ci.methods]
            sup = infos.get(sup.super_name)
        tests[name] = ci
    return tests


# --- list files ---------------------------------------------------------------

def read_list(path):
    """Entries of a one-per-line file; '#' starts a comment."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                entries.append(line)
    return entries


def read_reasons(path):
    """[(entry, reason)] of a list file whose entries carry '# reason'."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            entry, _, reason = line.partition("#")
            out.append((entry.strip(), reason.strip()))
    return out


def simple(name):
    return name.rsplit(".", 1)[-1]


def cmd_catalog(jar):
    for name, ci in sorted(catalog(jar).items()):
        print(name, display_spec(ci.spec) if ci.spec else UNTAGGED)


def split_disabled(tests, path):
    """The entries of the disabled file as (whole classes, {class: methods}),
    class names fully qualified; unknown names and missing reasons are errors."""
    whole, methods, errors = [], {}, []
    for entry, reason in read_reasons(path):
        if not reason:
            errors.append("%s: %r needs a '# reason'" % (path, entry))
        cls, _, meth = entry.rpartition(".")
        if meth[:1].islower() and cls:  # Class.method, as SINT reads it
            hits = [n for n in tests if n == cls or simple(n) == cls]
            if not hits or meth not in tests[hits[0]].methods:
                errors.append("%s: no SINT test %r" % (path, entry))
                continue
            methods.setdefault(hits[0], []).append(meth)
        else:
            hits = [n for n in tests if n == entry or simple(n) == entry]
            if not hits:
                errors.append("%s: no SINT test class %r" % (path, entry))
            whole += hits
    return whole, methods, errors


def cmd_select(jar, specs_file, tests_file, disabled_file, specs_override=None, tests_override=None):
    """Prints two lines: the value for -Dsinttest.enabledTests, then the one
    for -Dsinttest.disabledTests (possibly empty).

    SINT 4.5.0-beta5 disables the whole class when -Dsinttest.disabledTests
    names one of its methods (Configuration.isClassDisabled only looks the
    class up), so a class with disabled methods is enabled here method by
    method instead, and only whole classes go to disabledTests."""
    tests = catalog(jar)
    specs = specs_override.split(",") if specs_override is not None else read_list(specs_file)
    classes = tests_override.split(",") if tests_override is not None else read_list(tests_file)
    specs = [s.strip() for s in specs if s.strip()]
    classes = [c.strip() for c in classes if c.strip()]
    chosen, errors = [], []
    for s in specs:
        hits = sorted(n for n, ci in tests.items() if ci.spec == normalize_spec(s))
        if not hits:
            errors.append("no SINT test class is tagged with specification %r" % s)
        chosen += hits
    only = {}  # class -> the methods asked for, when not the whole class
    for c in classes:
        hits = [n for n in tests if n == c or simple(n) == c]
        cls, _, meth = c.rpartition(".")
        if not hits and cls and meth[:1].islower():  # Class.method
            hits = [n for n in tests if (n == cls or simple(n) == cls) and meth in tests[n].methods]
            for n in hits:
                only.setdefault(n, []).append(meth)
        if not hits:
            errors.append("no SINT test class or test named %r" % c)
        chosen += hits
    whole, off, errs = split_disabled(tests, disabled_file)
    errors += errs
    if errors:
        for e in errors:
            print("sint: " + e, file=sys.stderr)
        sys.exit(1)
    enabled = []
    for n in dict.fromkeys(chosen):
        if n in off or n in only:
            enabled += ["%s.%s" % (simple(n), m) for m in tests[n].methods
                        if m not in off.get(n, ()) and (n not in only or m in only[n])]
        else:
            enabled.append(n)
    print(",".join(enabled))
    print(",".join(whole))


# --- the framework's log ----------------------------------------------------------

# Lines of SINT's JulTestRunResultProcessor (java.util.logging's two-line
# format: a date line, then "LEVEL: message").
RE_IMPOSSIBLE_CLASS = re.compile(r"^INFO: Could not run ([\w.$]+) because: (.*)$")
RE_IMPOSSIBLE_TEST = re.compile(r"^INFO: Could not run (\w+)\.(\w+) \(([^)]*)\) because: (.*)$")
RE_PASSED = re.compile(r"^INFO: (\w+)\.(\w+) \(([^)]*)\) \S+$")
RE_FAILED = re.compile(r"^SEVERE: (\w+)\.(\w+) \(([^)]*)\) failed: (.*)$")
RE_FINISHED = re.compile(r"^INFO: SmackIntegrationTestFramework\[\w+\] finished: (\d+)/(\d+) \[(\d+) failed\]")
RE_AVAILABLE = re.compile(r"^Available tests: (\d+)")
RE_VERSION = re.compile(r"^Smack version: (\S+)")


def parse_log(path):
    res = {"passed": [], "failed": [], "impossible": [], "impossible_classes": [],
           "finished": None, "available": None, "version": None}
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    # The result processor's report comes last; test progress lines before it
    # ("X Start", "X Success") are not counted.
    for line in lines:
        m = RE_VERSION.match(line)
        if m:
            res["version"] = m.group(1)
        m = RE_AVAILABLE.match(line)
        if m:
            res["available"] = int(m.group(1))
        m = RE_IMPOSSIBLE_TEST.match(line)
        if m:
            res["impossible"].append((m.group(1), m.group(2), m.group(3), m.group(4)))
            continue
        m = RE_IMPOSSIBLE_CLASS.match(line)
        if m:
            res["impossible_classes"].append((m.group(1), m.group(2)))
            continue
        m = RE_FAILED.match(line)
        if m:
            res["failed"].append((m.group(1), m.group(2), m.group(3), m.group(4)))
            continue
        m = RE_FINISHED.match(line)
        if m:
            res["finished"] = tuple(int(x) for x in m.groups())
            continue
        m = RE_PASSED.match(line)
        if m and not line.endswith((" Start", " Success", " Failed")):
            res["passed"].append((m.group(1), m.group(2), m.group(3)))
    return res


def md_escape(s):
    return s.replace("|", "\\|").replace("\n", " ")


def cmd_report(jar, log, disabled_file, compliance=None, title=None):
    tests = catalog(jar)
    by_simple = {simple(n): ci for n, ci in tests.items()}
    res = parse_log(log)

    def spec_of(cls):
        ci = by_simple.get(simple(cls))
        return display_spec(ci.spec) if ci and ci.spec else "untagged"

    rows = {}  # spec -> counts and names

    def row(spec):
        return rows.setdefault(spec, {"passed": 0, "failed": 0, "impossible": 0, "classes": set(),
                                      "failed_names": [], "impossible_names": []})

    for cls, meth, kind in res["passed"]:
        r = row(spec_of(cls))
        r["passed"] += 1
        r["classes"].add(cls)
    for cls, meth, kind, why in res["failed"]:
        r = row(spec_of(cls))
        r["failed"] += 1
        r["classes"].add(cls)
        r["failed_names"].append("%s.%s" % (cls, meth))
    for cls, meth, kind, why in res["impossible"]:
        r = row(spec_of(cls))
        r["impossible"] += 1
        r["classes"].add(cls)
        r["impossible_names"].append("%s.%s (%s)" % (cls, meth, why))
    for cls, why in res["impossible_classes"]:
        r = row(spec_of(cls))
        r["impossible"] += 1
        r["classes"].add(simple(cls))
        r["impossible_names"].append("%s (%s)" % (simple(cls), why))

    disabled = read_reasons(disabled_file)
    passed, failed = len(res["passed"]), len(res["failed"])
    ok = res["finished"] is not None and failed == 0

    # Console summary.
    print("sint: Smack %s, %s tests available" % (res["version"] or "?", res["available"]))
    for spec in sorted(rows):
        r = rows[spec]
        print("sint:   %-10s %3d passed %3d failed %3d not possible   (%s)" % (
            spec, r["passed"], r["failed"], r["impossible"], ", ".join(sorted(r["classes"]))))
    for cls, meth, kind, why in res["failed"]:
        print("sint: FAILED %s.%s (%s): %s" % (cls, meth, kind, why))
    for cls, meth, kind, why in res["impossible"]:
        print("sint: not possible: %s.%s: %s" % (cls, meth, why))
    for cls, why in res["impossible_classes"]:
        print("sint: not possible: %s: %s" % (simple(cls), why))
    if res["finished"] is None:
        print("sint: the framework printed no result summary (crashed or timed out); see the log")
    elif res["finished"][0] != passed or res["finished"][2] != failed:
        print("sint: warning: the framework counted %d passed, %d failed; parsed %d, %d" % (
            res["finished"][0], res["finished"][2], passed, failed))

    if compliance and res["finished"] is not None:
        out = ["<!-- sint:start -->",
               "<!-- Written by tests/sint/run.sh from its last full run; edit the lists in tests/sint/, not this. -->",
               "",
               "%s: Smack integration test framework **%s**, %d tests run: **%d passed, %d failed**; %d not possible." % (
                   title or "Last run", res["version"] or "?", passed + failed, passed, failed,
                   sum(r["impossible"] for r in rows.values())),
               "",
               "| specification | passed | failed | not possible | SINT test classes |",
               "|---|---:|---:|---:|---|"]
        for spec in sorted(rows, key=lambda s: (s == "untagged", s)):
            r = rows[spec]
            label = "untagged (core: login, connections, messages, stream close)" if spec == "untagged" else spec
            out.append("| %s | %d | %d | %d | %s |" % (label, r["passed"], r["failed"], r["impossible"],
                                                     ", ".join("`%s`" % c for c in sorted(r["classes"]))))
        notes = []
        for spec in sorted(rows):
            for n in rows[spec]["failed_names"]:
                notes.append("- failed: `%s`" % n)
            for n in rows[spec]["impossible_names"]:
                notes.append("- not possible: %s" % md_escape(n))
        if notes:
            out += [""] + notes
        out += ["", "Disabled tests (`tests/sint/disabled-tests.txt`):", ""]
        if disabled:
            out += ["| test | reason |", "|---|---|"]
            out += ["| `%s` | %s |" % (e, md_escape(r)) for e, r in disabled]
        else:
            out.append("none")
        out.append("<!-- sint:end -->")
        with open(compliance, encoding="utf-8") as f:
            text = f.read()
        start, end = text.find("<!-- sint:start -->"), text.find("<!-- sint:end -->")
        if start < 0 or end < start:
            print("sint: %s has no <!-- sint:start --> ... <!-- sint:end --> markers" % compliance, file=sys.stderr)
            return 1
        text = text[:start] + "\n".join(out) + text[end + len("<!-- sint:end -->"):]
        with open(compliance, "w", encoding="utf-8") as f:
            f.write(text)
        print("sint: wrote the results to %s" % compliance)

    print("sint: %d passed, %d failed" % (passed, failed))
    return 0 if ok else 1


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    opts = {}
    pos = []
    it = iter(args)
    for a in it:
        if a.startswith("--"):
            opts[a[2:]] = next(it)
        else:
            pos.append(a)
    if cmd == "catalog":
        cmd_catalog(*pos)
    elif cmd == "select":
        cmd_select(*pos, specs_override=opts.get("specs"), tests_override=opts.get("tests"))
    elif cmd == "report":
        return cmd_report(*pos, compliance=opts.get("compliance"), title=opts.get("title"))
    else:
        print("sint.py: unknown command " + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
