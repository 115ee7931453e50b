#!/bin/bash
# The main job on a demo vault in ./demo-vault: install what certvault needs,
# build it, create a self-signed certificate, create a certificate whose CSR
# a throwaway local CA (made with the openssl command) signs, merge the CA's
# answer, and list the vault.
#
# The demo vault's PINs are fixed and printed below: it is for trying
# certvault out, not for keys that matter.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install
if [ ! -d build ]; then
  meson setup build >/dev/null
fi
meson compile -C build >/dev/null

cv=build/tools/certvault
demo=${DEMO_DIR:-$PWD/demo-vault}
vault=$demo/vault
ca=$demo/ca

# Replace only a folder this script made before.
if [ -e "$demo" ]; then
  if [ ! -e "$demo/.certvault-demo" ]; then
    echo "demo: $demo exists and was not made by this demo; move it away first" >&2
    exit 1
  fi
  rm -rf "$demo"
fi
mkdir -p "$demo" "$ca"
touch "$demo/.certvault-demo"

export CERTVAULT_PIN=demo-user-1234
export CERTVAULT_SO_PIN=demo-so-5678
export CERTVAULT_VAULT=$vault
step() { printf '\n== %s\n' "$*"; }

step "A vault in $vault (user PIN $CERTVAULT_PIN, SO PIN $CERTVAULT_SO_PIN)"
$cv vault create --name DemoKV --no-register   # the demo leaves your config file alone
$cv vault show

step "A self-signed certificate, the key made inside the vault"
cat >"$demo/self.json" <<'JSON'
{
  "key_props": {"kty": "EC", "crv": "P-256", "exportable": false},
  "x509_props": {
    "subject": "CN=demo.contoso.com, O=Contoso, C=US",
    "sans": {"dns_names": ["demo.contoso.com", "localhost"], "ipAddresses": ["127.0.0.1"]},
    "ekus": ["1.3.6.1.5.5.7.3.1"],
    "validity_months": 12
  },
  "issuer": {"name": "Self"}
}
JSON
$cv certificate create --name demo-self --policy "@$demo/self.json"
$cv certificate show --name demo-self

step "A certificate for a CA to sign: the vault keeps the key, hands out a CSR"
cat >"$demo/csr.json" <<'JSON'
{
  "key_props": {"kty": "RSA", "key_size": 2048, "exportable": false},
  "x509_props": {
    "subject": "DC=Contoso,OU=\"Docs,Contoso\",CN=www.contosoHRApp.com",
    "sans": {"dns_names": ["www.contosoHRApp.com"]},
    "validity_months": 12
  },
  "issuer": {"name": "Unknown"}
}
JSON
$cv certificate create --name demo-hr --policy "@$demo/csr.json"
$cv certificate pending show --name demo-hr
$cv certificate pending csr --name demo-hr --file "$demo/demo-hr.csr"

step "A throwaway local CA signs the CSR"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Demo Throwaway CA" \
  -keyout "$ca/ca.key" -out "$ca/ca.pem" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:www.contosoHRApp.com\nextendedKeyUsage=serverAuth\n' >"$ca/ext.cnf"
openssl x509 -req -in "$demo/demo-hr.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" \
  -CAcreateserial -days 30 -extfile "$ca/ext.cnf" -out "$ca/demo-hr.pem" 2>/dev/null
cat "$ca/demo-hr.pem" "$ca/ca.pem" >"$ca/demo-hr-chain.pem"
openssl x509 -in "$ca/demo-hr.pem" -noout -subject -issuer

step "Merge the CA's answer (leaf and chain)"
$cv certificate pending merge --name demo-hr --file "$ca/demo-hr-chain.pem"
$cv certificate pending show --name demo-hr

step "A mistaken delete is undone: delete, list-deleted, recover"
$cv certificate delete --name demo-self
$cv certificate list-deleted
$cv certificate recover --name demo-self

step "A backup of one certificate (its keys stay sealed), and the vault checked"
$cv certificate backup --name demo-hr --file "$demo/demo-hr.cvb"
$cv vault verify

step "The vault"
$cv certificate list
printf '\nThe demo vault is in %s; try for example:\n' "$vault"
printf '  CERTVAULT_VAULT=%s %s certificate show --name demo-hr --json\n' "$vault" "$cv"
