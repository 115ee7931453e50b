#!/bin/bash
# Policies: the default policy is az's to the byte; Key Vault's subject
# habits give the certificates intended; each bad policy is refused in one
# line and leaves the vault as it was.
. "$(dirname "$0")/lib.sh"

# What `az keyvault certificate get-default-policy` prints (az sorts keys
# and indents by two).
cat >"$WORK/az-default.json" <<'EOF'
{
  "issuerParameters": {
    "certificateTransparency": null,
    "name": "Self"
  },
  "keyProperties": {
    "curve": null,
    "exportable": true,
    "keySize": 2048,
    "keyType": "RSA",
    "reuseKey": true
  },
  "lifetimeActions": [
    {
      "action": {
        "actionType": "AutoRenew"
      },
      "trigger": {
        "daysBeforeExpiry": 90
      }
    }
  ],
  "secretProperties": {
    "contentType": "application/x-pkcs12"
  },
  "x509CertificateProperties": {
    "keyUsage": [
      "cRLSign",
      "dataEncipherment",
      "digitalSignature",
      "keyEncipherment",
      "keyAgreement",
      "keyCertSign"
    ],
    "subject": "CN=CLIGetDefaultPolicy",
    "validityInMonths": 12
  }
}
EOF

run_any "$CERTVAULT" certificate get-default-policy
check "get-default-policy needs no vault" test "$RC" -eq 0
check "get-default-policy equals az's output exactly" \
	diff -u "$WORK/az-default.json" "$OUT"
cp "$OUT" "$WORK/default.json"
check "get-default-policy equals az's output as JSON" \
	test "$(jq -S . "$WORK/az-default.json")" == "$(jq -S . "$WORK/default.json")"
run_any "$CERTVAULT" certificate get-default-policy --style rest
check "--style rest prints key_props and x509_props" \
	test "$(jq -r '.key_props.key_size, .x509_props.subject' "$OUT" | tr '\n' ' ')" == "2048 CN=CLIGetDefaultPolicy "

make_vault
expect_ok "az's default policy creates a certificate unchanged" \
	certificate create --name default-policy --policy "@$WORK/default.json"
cert_pem default-policy "$WORK/default.pem"
check_eq "its subject" "$(openssl x509 -in "$WORK/default.pem" -noout -subject -nameopt RFC2253)" \
	"subject=CN=CLIGetDefaultPolicy"

# The two seed subjects.
subject1='DC=Contoso,OU="Docs,Contoso",CN=www.contosoHRApp.com'
expect_ok "create with $subject1" certificate create --name contoso-hr \
	--policy "$(policy "$subject1")"
cert_pem contoso-hr "$WORK/hr.pem"
check_eq "quoted comma: one OU 'Docs,Contoso', RFC 4514 order as written" \
	"$(openssl x509 -in "$WORK/hr.pem" -noout -subject -nameopt RFC2253)" \
	'subject=DC=Contoso,OU=Docs\,Contoso,CN=www.contosoHRApp.com'
check_eq "exactly one OU" \
	"$(openssl x509 -in "$WORK/hr.pem" -noout -subject -nameopt multiline | grep -c organizationalUnitName)" 1

subject2='CN = learn.microsoft.com, OU = Microsoft Corporation, O = Microsoft Corporation, L = Redmond, S = WA, C = US'
expect_ok "create with spaces around = and , and S for state" certificate create \
	--name learn --policy "$(policy "$subject2")"
cert_pem learn "$WORK/learn.pem"
check_eq "S is stateOrProvinceName, spaces trimmed, RFC 4514 order as written" \
	"$(openssl x509 -in "$WORK/learn.pem" -noout -subject -nameopt RFC2253)" \
	"subject=$(sed -E 's/ *([=,]) */\1/g; s/(^|,)S=/\1ST=/' <<<"$subject2")"

# az's camelCase form is accepted too.
expect_ok "an az-form policy (keyProperties, x509CertificateProperties)" \
	certificate create --name az-form --policy \
	'{"keyProperties":{"keyType":"EC","curve":"P-256","exportable":false},"x509CertificateProperties":{"subject":"CN=az-form","validityInMonths":3},"issuerParameters":{"name":"Self"}}'
run_cv certificate policy show --name az-form --style rest
check_eq "stored as REST: curve and validity" \
	"$(jout '.key_props.crv + " " + (.x509_props.validity_months|tostring)')" "P-256 3"

# Bad input: every refusal leaves the vault as it was.
expect_fail_with "name with an underscore" "names may only contain" \
	certificate create --name bad_name --policy "$(policy CN=x)"
expect_fail_with "name of 128 characters" "names may only contain" \
	certificate create --name "$(printf 'a%.0s' $(seq 1 128))" --policy "$(policy CN=x)"
expect_fail_with "empty name" "names may only contain" \
	certificate create --name "" --policy "$(policy CN=x)"
expect_ok "name of 127 characters is fine" \
	certificate create --name "$(printf 'b%.0s' $(seq 1 127))" --policy "$(policy CN=long-name)"

expect_fail_with "unterminated quote in the subject" \
	"The subject name provided is not a valid X500 name" \
	certificate create --name s1 --policy "$(policy 'CN=x,OU="Docs')"
expect_fail_with "subject without =" \
	"The subject name provided is not a valid X500 name" \
	certificate create --name s2 --policy "$(policy 'just some words')"
expect_fail_with "subject with an unknown attribute" \
	"The subject name provided is not a valid X500 name" \
	certificate create --name s3 --policy "$(policy 'XYZZY=1,CN=x')"
expect_fail_with "subject over 200 characters" "subject" \
	certificate create --name s4 --policy "$(policy "CN=$(printf 'a%.0s' $(seq 1 200))")"
expect_fail_with "malformed JSON" "line" \
	certificate create --name j1 --policy '{"x509_props": {"subject": "CN=x"'
expect_fail_with "JSON that is not an object" "" \
	certificate create --name j2 --policy '[1,2,3]'
expect_fail_with "unknown member names it" "bogus_member" \
	certificate create --name j3 --policy '{"x509_props":{"subject":"CN=x","bogus_member":1}}'
expect_fail_with "validity_months 0" "validity_months" \
	certificate create --name j4 --policy "$(policy CN=x Self '{}' '{"validity_months":0}')"
expect_fail_with "RSA key size 1024" "key_size" \
	certificate create --name j5 --policy "$(policy CN=x Self '{"kty":"RSA","key_size":1024}')"
expect_fail_with "unknown curve" "crv" \
	certificate create --name j6 --policy "$(policy CN=x Self '{"kty":"EC","crv":"P-192"}')"
expect_fail_with "lifetime_percentage 100" "lifetime_percentage" \
	certificate create --name j7 --policy \
	'{"x509_props":{"subject":"CN=x"},"lifetime_actions":[{"trigger":{"lifetime_percentage":100},"action":{"action_type":"AutoRenew"}}]}'
expect_fail_with "days_before_expiry past validity x 27" "days_before_expiry" \
	certificate create --name j8 --policy \
	'{"x509_props":{"subject":"CN=x","validity_months":1},"lifetime_actions":[{"trigger":{"days_before_expiry":28},"action":{"action_type":"AutoRenew"}}]}'
expect_fail_with "key usage Key Vault does not know" "key_usage" \
	certificate create --name j9 --policy "$(policy CN=x Self '{}' '{"key_usage":["fooSign"]}')"

done_testing
