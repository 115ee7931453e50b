#!/usr/bin/python3
"""Rewrite the iteration counts of a PKCS#12 file, for the import tests.

    p12iter.py IN OUT mac COUNT   the MAC's iteration count
    p12iter.py IN OUT pbe COUNT   every PBE/PBKDF2 iteration count
    p12iter.py IN OUT scrypt N    scrypt's parameters: cost N, block size
                                  1, parallelization 2N (N*r*p = 2N^2,
                                  in 128*r*(N+p) = 384N bytes of memory)

IN is DER: a PKCS#12 file, or (pbe, scrypt) an encrypted PKCS#8 key.

An iteration count is the INTEGER that follows a salt (OCTET STRING) in
one SEQUENCE: MacData, PKCS#12's PBEParameter and PBKDF2-params all have
that shape.  The DER is decoded into a tree (descending into OCTET STRINGs
that hold DER, as the authenticated safe and its bags do), the counts are
replaced, and every length is encoded again.  Editing a count inside the
MAC's content breaks the MAC, so `pbe` is for files made with -nomac.
"""
import sys


def read_tlv(buf, pos):
    tag = buf[pos]
    pos += 1
    n = buf[pos]
    pos += 1
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise ValueError("truncated")
    return tag, buf[pos:pos + n], pos + n


def parse(buf):
    """A list of nodes: [tag, children or None, bytes]."""
    nodes, pos = [], 0
    while pos < len(buf):
        tag, body, pos = read_tlv(buf, pos)
        kids = None
        if tag & 0x20:
            kids = parse(body)
        elif tag == 0x04 and body[:1] == b"\x30":
            try:
                kids = parse(body)
            except (ValueError, IndexError):
                kids = None
        nodes.append([tag, kids, body])
    return nodes


def encode_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def encode(nodes):
    out = b""
    for tag, kids, body in nodes:
        if kids is not None:
            body = encode(kids)
        out += bytes([tag]) + encode_len(len(body)) + body
    return out


def integer(value):
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def set_counts(nodes, value, mac):
    """Replace the counts below nodes; mac is the MacData node or None."""
    changed = 0
    for node in nodes:
        kids = node[1]
        if kids is None:
            continue
        if node[0] == 0x30 and MODE == "scrypt":
            # scrypt-params: salt, cost, blockSize, parallelization
            if len(kids) >= 4 and kids[0][0] == 0x04 and all(
                    k[0] == 0x02 for k in kids[1:4]):
                kids[1][2] = integer(value)
                kids[2][2] = integer(1)
                kids[3][2] = integer(2 * value)
                changed += 1
        elif node[0] == 0x30:
            for i in range(1, len(kids)):
                if kids[i][0] == 0x02 and kids[i - 1][0] == 0x04:
                    if (MODE == "mac") == (node is mac):
                        kids[i][2] = integer(value)
                        changed += 1
        changed += set_counts(kids, value, mac)
    return changed


if __name__ == "__main__":
    src, dst, MODE, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(src, "rb") as f:
        tree = parse(f.read())
    pfx = tree[0][1]  # version, authSafe, macData
    mac = pfx[2] if len(pfx) == 3 and pfx[2][0] == 0x30 else None
    if set_counts(tree, count, mac) == 0:
        sys.exit("p12iter: no %s iteration count found" % MODE)
    with open(dst, "wb") as f:
        f.write(encode(tree))
