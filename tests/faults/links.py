#!/usr/bin/python3
"""Read a vault's tables with mdb_dump and check, independently of
`certvault vault verify`, that no certificate is half there:

  - every version has its certificate, its key and its secret;
  - every key belongs to a version, or is the one key of an operation in
    progress (a pending certificate's key pair), never a key alone;
  - every secret belongs to a version;
  - the key_ids and key_nums indexes list exactly the keys, once each;
  - every operation and every certificate record has its certificate, and a
    certificate has a version or an operation;
  - a deleted certificate (its entry in the deleted table, which holds its
    certificate record and index entries while it is deleted) keeps its
    versions, keys and secrets, has no live certificate record, and none of
    its keys is in the live key_ids and key_nums indexes.

usage: links.py VAULT_DIR [STATE_FILE]
Prints one line per broken link and exits 1 if there is any.  With
STATE_FILE, writes one line per certificate name: NAME VERSIONS PENDING
DELETED, VERSIONS the number of its versions, PENDING 1 when an operation is
in progress, DELETED 1 when it is deleted, for the caller to compare with
what the tool reported.
"""
import subprocess
import sys


def table(vault, name):
    p = subprocess.run(["mdb_dump", "-s", name, vault],
                       capture_output=True, text=True)
    if p.returncode != 0:
        if "MDB_NOTFOUND" in p.stderr:
            return []
        sys.exit("links.py: mdb_dump -s %s: %s" % (name, p.stderr.strip()))
    lines = p.stdout.split("\n")
    body = lines[lines.index("HEADER=END") + 1:]
    rows = []
    for j in range(0, len(body), 2):
        if body[j] == "DATA=END":
            break
        rows.append((bytes.fromhex(body[j][1:]), bytes.fromhex(body[j + 1][1:])))
    return rows


def nv(b):
    n, _, v = b.partition(b"\0")
    return n.decode(), v.decode()


def main():
    vault = sys.argv[1]
    problems = []
    certs = {k.decode() for k, _ in table(vault, "certs")}
    versions = {nv(k) for k, _ in table(vault, "versions")}
    keys = [nv(k) for k, _ in table(vault, "keys")]
    secrets = {nv(k) for k, _ in table(vault, "secrets")}
    pending = {k.decode() for k, _ in table(vault, "pending")}
    active = {k.decode() for k, _ in table(vault, "ops_active")}
    key_ids = sorted(nv(v) for _, v in table(vault, "key_ids"))
    key_nums = sorted(nv(v) for _, v in table(vault, "key_nums"))
    deleted = {k.decode() for k, _ in table(vault, "deleted")}
    keyset = set(keys)
    live_keys = sorted(k for k in keys if k[0] not in deleted)

    for n in sorted(deleted & certs):
        problems.append("certificate %s both live and deleted" % n)
    for n in sorted(deleted):
        if not any(m == n for m, _ in versions) and not any(m == n for m, _ in keys):
            problems.append("deleted certificate %s with neither a version nor a key" % n)
    for n, v in sorted(versions):
        if n not in certs and n not in deleted:
            problems.append("version %s/%s without its certificate" % (n, v))
        if (n, v) not in keyset:
            problems.append("version %s/%s without its key" % (n, v))
        if (n, v) not in secrets:
            problems.append("version %s/%s without its secret" % (n, v))
    loose = {}
    for n, v in keys:
        if (n, v) in versions:
            continue
        if n not in active and n not in deleted:
            problems.append("key %s/%s without a version or an operation in progress" % (n, v))
        loose[n] = loose.get(n, 0) + 1
    for n, c in sorted(loose.items()):
        if c > 1:
            problems.append("certificate %s has %d keys without a version" % (n, c))
    for n, v in sorted(secrets - versions):
        problems.append("secret %s/%s without its version" % (n, v))
    if key_ids != live_keys:
        problems.append("key_ids lists %d keys, the keys table holds %d live ones (or other ones)"
                        % (len(key_ids), len(live_keys)))
    if key_nums != live_keys:
        problems.append("key_nums lists %d keys, the keys table holds %d live ones (or other ones)"
                        % (len(key_nums), len(live_keys)))
    for n in sorted(pending - certs):
        problems.append("operation %s without its certificate" % n)
    for n in sorted(active - pending):
        problems.append("ops_active lists %s, which has no operation" % n)
    with_version = {n for n, _ in versions}
    for n in sorted(certs - with_version - pending):
        problems.append("certificate %s with neither a version nor an operation" % n)

    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            for n in sorted(certs | with_version | pending | deleted | {n for n, _ in keys}):
                f.write("%s %d %d %d\n" % (n, sum(1 for m, _ in versions if m == n),
                                           1 if n in active else 0,
                                           1 if n in deleted else 0))
    for p in problems:
        print(p)
    return 1 if problems else 0


sys.exit(main())
