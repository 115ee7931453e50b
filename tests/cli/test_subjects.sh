#!/bin/bash
# Subjects are RFC 4514 strings as Key Vault and OpenSSL read them: the last
# RDN written is the first in the DER, so `CN=a.example, O=Contoso, C=US`
# is a name that begins with C.  Every name certvault prints (show, list,
# the policy of an imported certificate) is in that same order, so a
# subject goes policy -> certificate DER -> printed subject and comes back
# as written.  OpenSSL's own RFC 2253 printer is the judge throughout.
. "$(dirname "$0")/lib.sh"

make_vault

# A subject as `openssl -nameopt RFC2253` writes it: no spaces around =, ","
# and +, ST for S, a quoted value's comma escaped.
norm() {
	sed -E 's/ *([=,+]) */\1/g; s/(^|[,+])S=/\1ST=/g; s/"([^",]*),([^"]*)"/\1\\,\2/g' <<<"$1"
}
# A subject with the attributes of each multi-valued RDN sorted: a SET has
# no order, and OpenSSL prints its members last to first.
rdn_sorted() {
	local IFS=, r out=()
	for r in $1; do
		out+=("$(tr + '\n' <<<"$r" | sort | paste -sd+)")
	done
	echo "${out[*]}"
}
# The subject of a PEM certificate or CSR by OpenSSL's RFC 2253 printer.
x509_subject() {
	openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'
}
req_subject() {
	openssl req -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'
}
# The subject line of `certificate show`.
shown_subject() {
	cv certificate show --name "$1" | sed -n 's/^subject: *//p'
}
# The type of the first attribute in the DER (the least specific).
first_in_der() {
	openssl x509 -in "$1" -noout -subject -nameopt multiline,sname | sed -n '2s/^ *\([A-Za-z]*\) *=.*/\1/p'
}

subjects=(
	'CN=a.example, O=Contoso, C=US'
	'CN = learn.microsoft.com, OU = Microsoft Corporation, O = Microsoft Corporation, L = Redmond, S = WA, C = US'
	'CN=www.contosoHRApp.com,OU="Docs,Contoso",DC=Contoso'
	'CN=host.corp.example, DC=corp, DC=example'
	'CN=a.example+UID=u1, O=Contoso, C=US'
)
i=0
for s in "${subjects[@]}"; do
	i=$((i + 1))
	expect_ok "create with '$s'" certificate create --name "s$i" --policy "$(policy "$s")"
	cert_pem "s$i" "$WORK/s$i.pem"
	check_eq "s$i: the certificate's subject is the policy's" \
		"$(rdn_sorted "$(x509_subject "$WORK/s$i.pem")")" "$(rdn_sorted "$(norm "$s")")"
	check_eq "s$i: show prints the subject as written" "$(norm "$(shown_subject "s$i")")" "$(norm "$s")"
done
check_eq "the last RDN written is the first in the DER" "$(first_in_der "$WORK/s1.pem")" C
check_eq "... and the first written is the last" \
	"$(openssl x509 -in "$WORK/s1.pem" -noout -subject -nameopt multiline,sname | tail -1 | sed 's/^ *\([A-Za-z]*\) *=.*/\1/')" CN

run_cv certificate list
check_eq "list prints subjects as written" \
	"$(awk '$1 == "s1" { sub(/^.*  [0-9-]+  /, ""); print }' "$OUT")" "${subjects[0]}"

# A CSR's subject.
expect_ok "create with issuer Unknown" certificate create --name csr1 \
	--policy "$(policy 'CN=csr.example, OU=Web, O=Contoso, S=WA, C=US' Unknown)"
expect_ok "pending csr" certificate pending csr --name csr1 --file "$WORK/csr1.csr"
check_eq "the CSR's subject is the policy's" "$(req_subject "$WORK/csr1.csr")" \
	"$(norm 'CN=csr.example, OU=Web, O=Contoso, S=WA, C=US')"

# An imported certificate made by openssl: its subject and the policy
# derived from it print in OpenSSL's RFC 2253 order.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/imp.key" \
	-out "$WORK/imp.pem" -subj "/C=US/ST=WA/O=Contoso/OU=Web/CN=imp.example" -days 30 2>/dev/null
cat "$WORK/imp.pem" "$WORK/imp.key" >"$WORK/imp-bundle.pem"
expect_ok "import a certificate made by openssl" certificate import --name imp \
	--file "$WORK/imp-bundle.pem"
check_eq "import: show prints openssl's RFC 2253 order" "$(norm "$(shown_subject imp)")" \
	"$(x509_subject "$WORK/imp.pem")"
run_cv certificate policy show --name imp --style rest
check_eq "import: the derived policy's subject is in RFC 2253 order" \
	"$(norm "$(jout .x509_props.subject)")" "$(x509_subject "$WORK/imp.pem")"
check_eq "import: the derived policy's subject keeps Key Vault's S and spacing" \
	"$(jout .x509_props.subject)" 'CN=imp.example, OU=Web, O=Contoso, S=WA, C=US'
# A renewal from that derived policy makes the same name again.
fresh_vault fits
expect_ok "a policy with the printed subject fits the certificate" certificate import \
	--name imp2 --file "$WORK/imp-bundle.pem" \
	--policy "$(policy 'CN=imp.example, OU=Web, O=Contoso, S=WA, C=US' Unknown '{"kty":"EC","crv":"P-256"}')"
expect_fail_with "the same attributes in DER order are another name" "subject" \
	certificate import --name imp3 --file "$WORK/imp-bundle.pem" \
	--policy "$(policy 'C=US, S=WA, O=Contoso, OU=Web, CN=imp.example' Unknown '{"kty":"EC","crv":"P-256"}')"

done_testing
