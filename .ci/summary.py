#!/usr/bin/env python3
"""Sum every check of one or more meson test logs.

Each test prints TAP, so a check is an 'ok'/'not ok' line; a test that
printed no TAP counts as one check by its result.  Prints one line:
'N passed, N failed' (', N skipped' when any were skipped).
"""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            oks = re.findall(r"^(not ok|ok)\b(.*)$", out, re.M)
            if not oks or t["result"] in ("TIMEOUT", "ERROR"):
                if t["result"] == "SKIP":
                    skipped += 1
                elif t["result"] in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                else:
                    failed += 1
                continue
            for verdict, rest in oks:
                if re.search(r"#\s*SKIP", rest, re.I):
                    skipped += 1
                elif verdict == "ok" or re.search(r"#\s*TODO", rest, re.I):
                    passed += 1
                else:
                    failed += 1
            # A program that died after its last check still failed.
            if t["result"] == "FAIL" and not any(v == "not ok" for v, _ in oks):
                failed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
