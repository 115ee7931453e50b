#!/bin/bash
# Makes the seed corpora of the import and pkcs11 targets with openssl:
#   tests/fuzz/make-seeds.sh      (writes tests/fuzz/corpus/{import,pkcs11})
# The keys are throwaway P-256 keys made each run; the seeds are committed,
# so a rerun changes their bytes, not what they reach.
set -euo pipefail
cd "$(dirname "$0")"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
imp=corpus/import p11=corpus/pkcs11
mkdir -p "$imp" "$p11"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=fuzz.example \
  -days 30 -keyout "$w/key.pem" -out "$w/cert.pem" 2>/dev/null
openssl x509 -in "$w/cert.pem" -outform DER -out "$w/cert.der"

# import: a password length byte, the password (0xff: none), the content.
seed() { # NAME PASSWORD|- FILE
  if [ "$2" = - ]; then printf '\xff'; else
    printf "\\x$(printf %02x ${#2})%s" "$2"; fi >"$imp/$1"
  cat "$3" >>"$imp/$1"
}
openssl pkcs12 -export -inkey "$w/key.pem" -in "$w/cert.pem" -passout pass:fuzz-p12 -out "$w/a.p12"
seed p12-aes fuzz-p12 "$w/a.p12"
openssl pkcs12 -export -legacy -inkey "$w/key.pem" -in "$w/cert.pem" -passout pass:legacy -out "$w/l.p12" 2>/dev/null
seed p12-legacy legacy "$w/l.p12"
openssl pkcs12 -export -inkey "$w/key.pem" -in "$w/cert.pem" -passout pass: -out "$w/e.p12"
seed p12-empty-password "" "$w/e.p12"
seed p12-wrong-password wrong "$w/a.p12"
openssl pkcs8 -topk8 -in "$w/key.pem" -passout pass:pem-pass -v2 aes-128-cbc -out "$w/k8.pem"
cat "$w/k8.pem" "$w/cert.pem" >"$w/k8cert.pem"
seed pem-pkcs8-encrypted pem-pass "$w/k8cert.pem"
openssl ec -in "$w/key.pem" -aes128 -passout pass:trad-pass -out "$w/trad.pem" 2>/dev/null
cat "$w/trad.pem" "$w/cert.pem" >"$w/tradcert.pem"
seed pem-traditional-encrypted trad-pass "$w/tradcert.pem"
cat "$w/key.pem" "$w/cert.pem" >"$w/plain.pem"
seed pem-plain - "$w/plain.pem"

# pkcs11: operations (0 create, 1 find, 2 get), each with one template of
# attributes (type index into TYPES in fuzz_pkcs11.c, length, value).
/usr/bin/python3 - "$w" "$p11" <<'PY'
import subprocess, sys
w, out = sys.argv[1], sys.argv[2]
T = {n: i for i, n in enumerate("""CLASS TOKEN PRIVATE LABEL APPLICATION VALUE
OBJECT_ID CERTIFICATE_TYPE ISSUER SERIAL_NUMBER TRUSTED CERTIFICATE_CATEGORY
CHECK_VALUE KEY_TYPE SUBJECT ID SENSITIVE ENCRYPT DECRYPT WRAP UNWRAP SIGN
SIGN_RECOVER VERIFY DERIVE START_DATE END_DATE MODULUS MODULUS_BITS
PUBLIC_EXPONENT PRIVATE_EXPONENT PRIME_1 PRIME_2 EXPONENT_1 EXPONENT_2
COEFFICIENT VALUE_LEN EXTRACTABLE LOCAL NEVER_EXTRACTABLE ALWAYS_SENSITIVE
KEY_GEN_MECHANISM MODIFIABLE COPYABLE DESTROYABLE EC_PARAMS EC_POINT
ALWAYS_AUTHENTICATE WRAP_WITH_TRUSTED ALLOWED_MECHANISMS PUBLIC_KEY_INFO URL
HASH_OF_SUBJECT_PUBLIC_KEY HASH_OF_ISSUER_PUBLIC_KEY NAME_HASH_ALGORITHM
UNIQUE_ID VALUE_BITS WRAP_TEMPLATE UNWRAP_TEMPLATE DERIVE_TEMPLATE""".split())}
def ul(v): return v.to_bytes(8, "little")
def tmpl(*attrs):
    b = bytes([len(attrs)])
    for name, val in attrs:
        b += bytes([T[name]])
        if val is None: b += b"\xff\x00"
        else: b += bytes([len(val)]) + val
    return b
def get(which, *attrs):  # lengths only: the module fills the buffers
    b = bytes([2, which, len(attrs)])
    for name, n in attrs:
        b += bytes([T[name]]) + (b"\xff\x00" if n is None else bytes([n]))
    return b
F, Tr = b"\0", b"\1"
der = open(w + "/cert.der", "rb").read()
subj = subprocess.run(["openssl", "x509", "-in", w + "/cert.pem", "-noout", "-subject",
                       "-nameopt", "RFC2253"], capture_output=True, text=True).stdout
seeds = {
  "data-object": b"\0" + tmpl(("CLASS", ul(0)), ("TOKEN", F), ("LABEL", b"fuzz"),
                              ("APPLICATION", b"app"), ("VALUE", b"hello"))
                 + b"\1" + tmpl(("CLASS", ul(0)))
                 + get(0, ("LABEL", None), ("VALUE", None))
                 + get(0, ("LABEL", 4), ("VALUE", 2), ("CLASS", 8)),
  "find-all": b"\1" + tmpl() + get(0, ("CLASS", 8), ("ID", None), ("SUBJECT", None)),
  "find-private-keys": b"\1" + tmpl(("CLASS", ul(3)), ("KEY_TYPE", ul(3)))
                       + get(0, ("EC_PARAMS", None), ("VALUE", None), ("SENSITIVE", 1)),
  "certificate": b"\0" + tmpl(("CLASS", ul(1)), ("CERTIFICATE_TYPE", ul(0)),
                              ("TOKEN", F), ("LABEL", b"fuzz-cert"), ("ID", b"\x01\x02"))
                 + b"\1" + tmpl(("CLASS", ul(1)), ("LABEL", b"fuzz-cert"))
                 + get(0, ("SUBJECT", None), ("ISSUER", None), ("SERIAL_NUMBER", None)),
  "token-data": b"\0" + tmpl(("CLASS", ul(0)), ("TOKEN", Tr), ("LABEL", b"kept"))
                + get(0, ("TOKEN", 1), ("PRIVATE", 1), ("MODIFIABLE", 1)),
  "bad-lengths": b"\0" + tmpl(("CLASS", b"\1"), ("TOKEN", b"\1\1"))
                 + b"\1" + tmpl(("CLASS", b"\1\2\3"))
                 + get(3, ("CLASS", 3), ("WRAP_TEMPLATE", 7)),
}
# the certificate's DER in a value of at most 254 bytes when it fits
if len(der) < 255:
    seeds["certificate"] = (b"\0" + tmpl(("CLASS", ul(1)), ("CERTIFICATE_TYPE", ul(0)),
        ("TOKEN", F), ("VALUE", der), ("LABEL", b"fuzz-cert")) + seeds["certificate"][1:])
for name, b in seeds.items():
    open(f"{out}/{name}", "wb").write(b)
PY
