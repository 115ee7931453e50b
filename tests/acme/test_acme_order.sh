#!/bin/bash
# certvault ACME: a full order from Pebble with External Account Binding.
# The issuer answers http-01 through --webroot, served by a small web server
# on the port Pebble validates; the chain is merged into the vault, verifies
# up to Pebble's root, and the certificate shows in the PKCS#11 token.
ACME_DIR=$(cd "$(dirname "$0")" && pwd)
. "${CONFORMANCE_DIR:-$ACME_DIR/../../conformance}/lib.sh"
. "$ACME_DIR/pebble.sh"
need jq pkcs11-tool /usr/bin/python3

PIN=1234
export CERTVAULT_PIN=$PIN CERTVAULT_SO_PIN=5678
VAULT="$WORK/vault"
export CERTVAULT_CONF="$WORK/certvault.conf"
printf 'vault = %s\n' "$VAULT" >"$CERTVAULT_CONF"
cv() { "$CERTVAULT" "$@"; }

pebble_start
cv vault create --vault "$VAULT" --name AcmeToken --no-register >"$OUT" 2>"$ERR" ||
	{ echo "Bail out! vault create: $(cat "$ERR")"; exit 1; }

mkdir -p "$WORK/www"
/usr/bin/python3 -m http.server "$PEBBLE_HTTP_PORT" --bind 127.0.0.1 \
	--directory "$WORK/www" >"$WORK/www.log" 2>&1 &
WWW_PID=$!
track $WWW_PID
wait_port "$PEBBLE_HTTP_PORT" $WWW_PID || { echo "Bail out! the web server did not start"; exit 1; }

printf '%s' "$PEBBLE_EAB_HMAC" >"$WORK/hmac"
printf '%s' "$PEBBLE_EAB_HMAC2" >"$WORK/hmac2"
chmod 600 "$WORK/hmac" "$WORK/hmac2"
run "$CERTVAULT" issuer create --name Pebble --provider ACME --directory-url "$PEBBLE_DIRECTORY" \
	--account-id "$PEBBLE_EAB_KID" --password-file "$WORK/hmac" --email admin@example.com \
	--ca-file "$PEBBLE_TLS_CA" --webroot "$WORK/www"
check_eq "issuer create with the account binding" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$ERR")"

cat >"$WORK/policy.json" <<'JSON'
{"key_props":{"kty":"EC","crv":"P-256","exportable":false,"reuse_key":false},
 "x509_props":{"subject":"CN=shop.example.com","sans":{"dns_names":["shop.example.com","www.shop.example.com"]},
  "ekus":["1.3.6.1.5.5.7.3.1"],"validity_months":3},
 "issuer":{"name":"Pebble"}}
JSON
run "$CERTVAULT" certificate create --name shop --policy "@$WORK/policy.json"
check_eq "certificate create with the ACME issuer returns at once" "$RC" 0
run "$CERTVAULT" --json certificate pending show --name shop
check_eq "the operation is inProgress before any pass" "$(jq -r .status "$OUT")" inProgress

# Passes until the operation ends (webroot validation is not waited for in
# a pass, so a few passes are needed).
status=inProgress
for i in $(seq 1 20); do
	timeout -k 5 60 "$CERTVAULT" run --once >>"$WORK/passes" 2>&1
	status=$(cv --json certificate pending show --name shop | jq -r .status)
	[ "$status" = inProgress ] || break
	sleep 1
done
check_eq "the order completes" "$status" completed
[ "$status" = completed ] || diag "$(cat "$WORK/passes")" "$(tail -20 "$WORK/pebble/pebble.log")"
check_grep "the pass says it completed, with the version" "$WORK/passes" '^shop: completed, version [0-9a-f]{32}$'

run "$CERTVAULT" --json issuer show --name Pebble
check_grep "the issuer remembers its ACME account" "$OUT" "\"accountUrl\": *\"https://127.0.0.1:$PEBBLE_PORT/"

# The chain verifies with Pebble's root alone as trust anchor.
pebble_roots "$WORK/root.pem"
cv certificate download --name shop --file "$WORK/leaf.pem" >/dev/null 2>&1
cv certificate download --name shop --chain --file "$WORK/chain.pem" >/dev/null 2>&1
check "the leaf verifies up to Pebble's root through the merged chain" \
	openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/chain.pem" "$WORK/leaf.pem"
check_grep "the leaf carries both names" <(openssl x509 -in "$WORK/leaf.pem" -noout -ext subjectAltName) \
	'DNS:shop.example.com, DNS:www.shop.example.com|DNS:www.shop.example.com, DNS:shop.example.com'
# The key is the operation's: the CSR's public key is the leaf's.
openssl x509 -in "$WORK/leaf.pem" -noout -pubkey >"$WORK/leaf.pub"
check_eq "one version" "$(cv --json certificate list-versions --name shop | jq length)" 1

# The token shows the certificate and its private key under one CKA_ID.
id=$(key_id "$WORK/leaf.pem")
pkcs11-tool --module "$CERTVAULT_MODULE" --token-label AcmeToken --login --pin "$PIN" \
	--list-objects >"$WORK/objects" 2>&1
check_grep "the certificate is in the PKCS#11 token" "$WORK/objects" "label: +shop"
check_eq "certificate and private key share the leaf's CKA_ID" \
	"$(grep -cE "^ *ID: +$id\$" "$WORK/objects")" 3

# A second pass finds nothing to do, and orders nothing.
orders_before=$(grep -c 'POST /order-plz' "$WORK/pebble/pebble.log")
timeout -k 5 60 "$CERTVAULT" run --once >"$OUT" 2>&1
check_eq "a pass after completion orders nothing" \
	"$(grep -c 'POST /order-plz' "$WORK/pebble/pebble.log")" "$orders_before"
check_eq "one newOrder for the operation" "$orders_before" 1
check_eq "the webroot holds no answer any more" \
	"$(find "$WORK/www/.well-known/acme-challenge" -type f 2>/dev/null | wc -l)" 0

# A new version of the same certificate: the issuer's account is reused
# (one registration), a second order, and the new version is current.
regs_before=$(grep -c 'POST /sign-me-up' "$WORK/pebble/pebble.log")
run "$CERTVAULT" certificate create --name shop --policy "@$WORK/policy.json"
for i in $(seq 1 20); do
	timeout -k 5 60 "$CERTVAULT" run --once >>"$WORK/passes2" 2>&1
	[ "$(cv --json certificate pending show --name shop | jq -r .status)" = inProgress ] || break
	sleep 1
done
check_eq "a new version is ordered and merged" \
	"$(cv --json certificate list-versions --name shop | jq length)" 2
check_eq "... under the account already registered" \
	"$(grep -c 'POST /sign-me-up' "$WORK/pebble/pebble.log")" "$regs_before"
cv certificate download --name shop --file "$WORK/leaf2.pem" >/dev/null 2>&1
check "... and is the current version, its key a new one" \
	test "$(key_id "$WORK/leaf2.pem")" != "$id"

# A cancel after the challenge was answered through the webroot: the next
# pass cancels the operation and takes the answer down.
sed 's/shop\.example/gone.example/g' "$WORK/policy.json" >"$WORK/policy-gone.json"
run "$CERTVAULT" certificate create --name gone --policy "@$WORK/policy-gone.json"
timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-gone" 2>&1
check_eq "the webroot holds the answers while the order runs" \
	"$(find "$WORK/www/.well-known/acme-challenge" -type f 2>/dev/null | wc -l)" 2
run "$CERTVAULT" certificate pending cancel --name gone
timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-gone" 2>&1
check_eq "the next pass cancels the operation" \
	"$(cv --json certificate pending show --name gone | jq -r .status)" cancelled
check_eq "... and removes the webroot answers" \
	"$(find "$WORK/www/.well-known/acme-challenge" -type f 2>/dev/null | wc -l)" 0

# The built-in responder: the answer lives only while the pass runs, so the
# pass waits for the validation and completes the order in one go.  While
# its port is taken (here by the web server), the operation waits: another
# pass may hold it.
run "$CERTVAULT" issuer create --name Listen --provider ACME --directory-url "$PEBBLE_DIRECTORY" \
	--account-id "$PEBBLE_EAB_KID2" --password-file "$WORK/hmac2" \
	--ca-file "$PEBBLE_TLS_CA" --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
check_eq "issuer create with --http-listen" "$RC" 0
sed 's/"Pebble"/"Listen"/; s/shop\.example/api.example/g' "$WORK/policy.json" >"$WORK/policy-api.json"
run "$CERTVAULT" certificate create --name api --policy "@$WORK/policy-api.json"
timeout -k 5 80 "$CERTVAULT" run --once >"$WORK/pass-api" 2>&1
check_grep "the responder's port taken: the pass says so and waits" "$WORK/pass-api" \
	'^api: .*cannot answer the http-01 challenge for [a-z.]+: .*; waiting until '
check_eq "... the operation stays inProgress" \
	"$(cv --json certificate pending show --name api | jq -r .status)" inProgress
stop_pid "$WWW_PID"
sleep 2.2 # the first retry comes 2 s later
timeout -k 5 80 "$CERTVAULT" run --once >"$WORK/pass-api" 2>&1
check_grep "the port free: one pass with the built-in responder completes the order" \
	"$WORK/pass-api" '^api: completed, version [0-9a-f]{32}$'
cv certificate download --name api --file "$WORK/api.pem" >/dev/null 2>&1
cv certificate download --name api --chain --file "$WORK/api-chain.pem" >/dev/null 2>&1
check "its leaf verifies up to Pebble's root" \
	openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/api-chain.pem" "$WORK/api.pem"

# A policy that names its host in the subject CN alone, as many do: ACME
# CAs read names from the CSR's subjectAltName only, so the vault's CSR
# carries the CN there too, and the order completes.
cat >"$WORK/policy-cn.json" <<'JSON'
{"key_props":{"kty":"EC","crv":"P-256"},
 "x509_props":{"subject":"CN=cn.example.com, O=Example","validity_months":3},
 "issuer":{"name":"Listen"}}
JSON
run timeout -k 5 90 "$CERTVAULT" certificate create --name cnonly --policy "@$WORK/policy-cn.json" \
	--wait --timeout 60
check_eq "a CN-only policy: create --wait completes the order" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$OUT" "$ERR")"
cv certificate download --name cnonly --file "$WORK/cn.pem" >/dev/null 2>&1
check_eq "... the certificate names the CN's host as its DNS name" \
	"$(openssl x509 -in "$WORK/cn.pem" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')" \
	"DNS:cn.example.com"
done_testing
