#!/bin/bash
# certvault benchmark: every figure in one run, on one machine, printed as
# a markdown table for the README followed by the raw numbers.  Figures
# only: nothing here passes or fails on time.
#
# usage: tests/bench/run.sh [--quick] [--fresh] [--no-nginx] [--no-softhsm]
#                           [--only sign|signverify|find|nginx|ca]
#   --quick      a one-minute smoke version (short windows, small vaults)
#   --fresh      forget the cached keys, vaults and SoftHSM tokens
#   --only PART  run one part (the table then has n/a elsewhere)
# Environment: BENCH_BUILDDIR (default: build-bench beside this tree; when
# unset the script sets it up and builds it), BENCH_SECONDS (the window of
# one signing round; three rounds each), BENCH_NGINX_CLIENTS (parallel
# s_time processes, default 4), BENCH_ROUNDS (signing rounds under --quick,
# default 1), BENCH_MODULE_BEFORE (another build of
# certvault-pkcs11.so, measured beside this one in the sign+verify part as
# "certvault-before", to show what a change did).
#
# Caches (keys, populated vaults, SoftHSM tokens) live in
# $BENCH_BUILDDIR/bench-cache and are reused between runs; each run's
# table and raw numbers are kept in bench-cache/results/.
set -u
umask 077

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$SRC/tests/bench
QUICK=0 FRESH=0 NGINX=1 SOFTHSM=1 ONLY=
while [ $# -gt 0 ]; do
	a=$1
	shift
	case $a in
	--only) ONLY=${1:-}; shift ;;
	--quick) QUICK=1 ;;
	--fresh) FRESH=1 ;;
	--no-nginx) NGINX=0 ;;
	--no-softhsm) SOFTHSM=0 ;;
	*) echo "usage: $0 [--quick] [--fresh] [--no-nginx] [--no-softhsm] [--only sign|signverify|find|nginx|ca]" >&2; exit 2 ;;
	esac
done

T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
log() { printf '[%4ds] %s\n' $(($(date +%s) - T_START)) "$*" >&2; }

# --- build -------------------------------------------------------------------

if [ -n "${BENCH_BUILDDIR:-}" ]; then
	BUILD=$(cd "$BENCH_BUILDDIR" && pwd) || exit 1
else
	BUILD=$SRC/build-bench
	if [ ! -f "$BUILD/build.ninja" ]; then
		log "meson setup $BUILD"
		(cd "$SRC" && meson setup "$BUILD" >/dev/null) || exit 1
	fi
	# The top meson.build looks for module/meson.build when configured.
	if [ -f "$SRC/module/meson.build" ] && ! grep -q 'certvault-pkcs11' "$BUILD/build.ninja"; then
		(cd "$SRC" && meson setup --reconfigure "$BUILD" >/dev/null) || exit 1
	fi
	log "building (a module that does not build yet is reported, not fatal)"
	# -k 0: build every target that can be built, even while a colleague's
	# file does not compile.
	ninja -C "$BUILD" -k 0 >"$BUILD/bench-build.log" 2>&1 ||
		log "some targets failed to build: see $BUILD/bench-build.log"
fi
CACHE=$BUILD/bench-cache
if [ "$FRESH" = 1 ] && [ -d "$CACHE" ]; then
	find "$CACHE" -mindepth 1 -maxdepth 1 ! -name results -exec rm -rf {} +
fi
mkdir -p "$CACHE/bin" "$CACHE/results"
cd "$CACHE" || exit 1

BENCH=$BUILD/tests/bench/bench
POPULATE=$BUILD/tests/bench/populate
VAULT_CA=$BUILD/tests/bench/vault_ca
CERTVAULT=$BUILD/tools/certvault
MODULE=$BUILD/module/certvault-pkcs11.so
SOFTHSM_SO=/usr/lib/softhsm/libsofthsm2.so

# Until tests/meson.build says subdir('bench'), build the two programs by
# hand against the store the project built.
if [ ! -x "$BENCH" ] || [ ! -x "$POPULATE" ]; then
	log "tests/bench is not in the meson build: compiling bench and populate directly"
	CFLAGS="-O2 -g -std=c11 -Wall -Wextra -Wno-missing-field-initializers -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED"
	# shellcheck disable=SC2086
	cc $CFLAGS $(pkg-config --cflags p11-kit-1) -o "$CACHE/bin/bench" \
		"$HERE/bench.c" "$HERE/p11.c" "$HERE/sign.c" -lcrypto -lpthread -ldl || exit 1
	# shellcheck disable=SC2086
	cc $CFLAGS -I"$SRC/store" -o "$CACHE/bin/populate" "$HERE/populate.c" \
		"$BUILD/store/libcvstore.a" -lcrypto -llmdb -ljansson -lpthread || exit 1
	BENCH=$CACHE/bin/bench
	POPULATE=$CACHE/bin/populate
fi
[ -x "$CERTVAULT" ] || { echo "no $CERTVAULT: the tool did not build" >&2; exit 1; }

# --- settings ------------------------------------------------------------------

PIN=bench-pin-1234
SO_PIN=bench-so-pin-5678
if [ "$QUICK" = 1 ]; then
	SIGN_S=${BENCH_SECONDS:-0.5} WARM_S=0.1 SIGN_ROUNDS=${BENCH_ROUNDS:-1}
	SIZES="100 1000" HSM_SIZES="100 500"
	FIND_S=0.3 WALK_S=2 STARTUP_REPS=5 STARTUP_FRESH=2
	NGINX_S=2 NGINX_ROUNDS=1 SIGN_IMPLS_EXTRA=""
	CA_S=1
	NGINX_CLIENTS=${BENCH_NGINX_CLIENTS:-4}
else
	SIGN_S=${BENCH_SECONDS:-1} WARM_S=0.3 SIGN_ROUNDS=3
	SIZES="100 10000 100000" HSM_SIZES="100 2000"
	FIND_S=2 WALK_S=20 STARTUP_REPS=20 STARTUP_FRESH=5
	NGINX_S=10 NGINX_ROUNDS=2 SIGN_IMPLS_EXTRA="openssl-new openssl-ready"
	CA_S=5
	NGINX_CLIENTS=${BENCH_NGINX_CLIENTS:-4}
fi

STAMP=$(date +%Y%m%d-%H%M%S)
RES=$CACHE/results/$STAMP
[ "$QUICK" = 1 ] && RES=$CACHE/results/$STAMP-quick
mkdir -p "$RES"
RAW=$RES/raw.txt
: >"$RAW"

# Keep the user's own configuration out.
export XDG_CONFIG_HOME=$CACHE/xdg HOME=$CACHE/home
mkdir -p "$HOME"
unset CERTVAULT_CONF CERTVAULT_VAULT CERTVAULT_NEW_PIN
export CERTVAULT_PIN=$PIN CERTVAULT_SO_PIN=$SO_PIN

# Record one benchmark's RESULT lines; its other output goes to the log.
run() {
	local out rc
	out=$("$@" 2>>"$RES/stderr.txt")
	rc=$?
	printf '%s\n' "$out" | grep '^RESULT' >>"$RAW"
	printf '%s\n' "$out" | grep -v '^RESULT' | grep . >>"$RES/log.txt"
	[ $rc = 0 ] || log "failed ($rc): $*"
	return $rc
}

# --- keys: made once with OpenSSL, the same in all three ---------------------

KEYS=$CACHE/keys
if [ ! -f "$KEYS/ok" ]; then
	log "generating the RSA-2048 and EC P-256 keys"
	rm -rf "$KEYS" "$CACHE"/vault-sign "$CACHE"/softhsm
	mkdir -p "$KEYS"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KEYS/rsa.key" 2>/dev/null &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$KEYS/ec.key" 2>/dev/null &&
	openssl req -x509 -new -key "$KEYS/rsa.key" -subj /CN=localhost -days 365 \
		-sha256 -out "$KEYS/rsa.crt" 2>/dev/null &&
	openssl req -x509 -new -key "$KEYS/ec.key" -subj /CN=localhost -days 365 \
		-sha256 -out "$KEYS/ec.crt" 2>/dev/null || exit 1
	cat "$KEYS/rsa.key" "$KEYS/rsa.crt" >"$KEYS/rsa.pem"
	cat "$KEYS/ec.key" "$KEYS/ec.crt" >"$KEYS/ec.pem"
	touch "$KEYS/ok"
fi
RSA_ID=$("$BENCH" keyid "$KEYS/rsa.key") || exit 1
EC_ID=$("$BENCH" keyid "$KEYS/ec.key") || exit 1

# --- vaults ----------------------------------------------------------------------

# A cached vault the current store no longer opens (its format moved on)
# is made anew.
vault_usable() {
	[ -f "$1.ok" ] && "$CERTVAULT" --vault "$1" vault show >/dev/null 2>&1
}

# The signing vault holds the two keys, imported with the tool.
VSIGN=$CACHE/vault-sign
if ! vault_usable "$VSIGN"; then
	log "vault-sign: importing the keys with the certvault tool"
	rm -rf "$VSIGN"
	"$POPULATE" "$VSIGN" 0 >/dev/null &&
	"$CERTVAULT" --vault "$VSIGN" certificate import --name bench-rsa --file "$KEYS/rsa.pem" >/dev/null &&
	"$CERTVAULT" --vault "$VSIGN" certificate import --name bench-ec --file "$KEYS/ec.pem" >/dev/null &&
	touch "$CACHE/vault-sign.ok" || exit 1
fi

# The cost of the public API: one durable commit per certificate.
if [ ! -f "$CACHE/populate-api.txt" ]; then
	rm -rf "$CACHE/vault-api"
	"$POPULATE" --api "$CACHE/vault-api" 200 >"$CACHE/populate-api.txt" || exit 1
	rm -rf "$CACHE/vault-api"
fi
cat "$CACHE/populate-api.txt" >>"$RAW"

for n in $SIZES; do
	v=$CACHE/vault-$n
	if ! vault_usable "$v"; then
		log "populating vault-$n"
		rm -rf "$v" "$v.targets"
		"$POPULATE" --targets "$v.targets" "$v" "$n" >"$v.populate" || exit 1
		touch "$v.ok"
	fi
	cat "$v.populate" >>"$RAW"
done

# --- SoftHSMv2 tokens ----------------------------------------------------------

HSM=$CACHE/softhsm
if [ "$SOFTHSM" = 1 ] && [ -f "$SOFTHSM_SO" ]; then
	export SOFTHSM2_CONF=$HSM/softhsm2.conf
	mkdir -p "$HSM/tokens"
	cat >"$SOFTHSM2_CONF" <<-EOF
	directories.tokendir = $HSM/tokens
	objectstore.backend = file
	log.level = ERROR
	slots.removable = false
	EOF
	if [ ! -f "$HSM/sign.ok" ]; then
		log "SoftHSM: token 'sign' with the same keys"
		softhsm2-util --delete-token --token sign >/dev/null 2>&1
		softhsm2-util --init-token --free --label sign --pin $PIN --so-pin $SO_PIN >/dev/null &&
		softhsm2-util --import "$KEYS/rsa.key" --token sign --label bench-rsa --id "$RSA_ID" --pin $PIN >/dev/null &&
		softhsm2-util --import "$KEYS/ec.key" --token sign --label bench-ec --id "$EC_ID" --pin $PIN >/dev/null &&
		touch "$HSM/sign.ok" || exit 1
	fi
	for n in $HSM_SIZES; do
		if [ ! -f "$HSM/find$n.ok" ]; then
			log "SoftHSM: token 'find$n' with $n certificate objects"
			softhsm2-util --delete-token --token "find$n" >/dev/null 2>&1
			softhsm2-util --init-token --free --label "find$n" --pin $PIN --so-pin $SO_PIN >/dev/null &&
			"$BENCH" p11populate --module "$SOFTHSM_SO" --token "find$n" --pin $PIN \
				--cert "$KEYS/ec.crt" --count "$n" --targets "$HSM/find$n.targets" \
				>"$HSM/find$n.populate" && touch "$HSM/find$n.ok" || exit 1
		fi
	done
else
	SOFTHSM=0
fi

# --- is the module there? --------------------------------------------------------

MODULE_OK=0
if [ -f "$MODULE" ] &&
   CERTVAULT_VAULT=$VSIGN timeout 60 "$BENCH" startup --module "$MODULE" --reps 1 --fresh 0 \
	>/dev/null 2>>"$RES/stderr.txt"; then
	MODULE_OK=1
else
	log "certvault-pkcs11.so is not built or does not start: its figures are left out"
fi

# --- 1. signing ---------------------------------------------------------------------

# Rounds interleave the implementations, so a change in what else runs on
# the machine hits all of them alike; the table takes medians over rounds.
sign_all() { # mech key id label
	local mech=$1 key=$2 id=$3 label=$4 th impl r
	for th in 1 2; do
		log "sign $mech, $th thread(s), $SIGN_ROUNDS round(s) of $SIGN_S s"
		for r in $(seq "$SIGN_ROUNDS"); do
			for impl in openssl $SIGN_IMPLS_EXTRA; do
				run "$BENCH" sign --impl "$impl" --mech "$mech" --key "$key" \
					--threads $th --seconds "$SIGN_S" --warmup "$WARM_S" --tag "$r"
			done
			if [ "$MODULE_OK" = 1 ]; then
				CERTVAULT_VAULT=$VSIGN run "$BENCH" sign --impl p11 --name certvault \
					--module "$MODULE" --pin $PIN --id "$id" --label "$label" \
					--mech "$mech" --key "$key" --threads $th \
					--seconds "$SIGN_S" --warmup "$WARM_S" --tag "$r"
			fi
			if [ "$SOFTHSM" = 1 ]; then
				run "$BENCH" sign --impl p11 --name softhsm --module "$SOFTHSM_SO" \
					--token sign --pin $PIN --id "$id" --label "$label" \
					--mech "$mech" --key "$key" --threads $th \
					--seconds "$SIGN_S" --warmup "$WARM_S" --tag "$r"
			fi
		done
	done
}
if want sign; then
	sign_all rsa-pkcs "$KEYS/rsa.key" "$RSA_ID" bench-rsa
	sign_all rsa-pss "$KEYS/rsa.key" "$RSA_ID" bench-rsa
	sign_all ecdsa "$KEYS/ec.key" "$EC_ID" bench-ec
fi

# --- 1b. sign+verify pairs -----------------------------------------------------------

# What tests/faults/signer does: each signature checked at once, through
# C_VerifyInit + C_Verify on the public key object, against raw OpenSSL
# checking with the key of the file; 1 and 16 threads.
signverify_all() { # mech key id label
	local mech=$1 key=$2 id=$3 label=$4 th r
	for th in 1 16; do
		log "sign+verify $mech, $th thread(s), $SIGN_ROUNDS round(s) of $SIGN_S s"
		for r in $(seq "$SIGN_ROUNDS"); do
			run "$BENCH" sign --verify --impl openssl --mech "$mech" --key "$key" \
				--threads $th --seconds "$SIGN_S" --warmup "$WARM_S" --tag "$r"
			if [ "$MODULE_OK" = 1 ]; then
				CERTVAULT_VAULT=$VSIGN run "$BENCH" sign --verify --impl p11 \
					--name certvault --module "$MODULE" --pin $PIN --id "$id" \
					--label "$label" --mech "$mech" --key "$key" --threads $th \
					--seconds "$SIGN_S" --warmup "$WARM_S" --tag "$r"
			fi
			if [ -n "${BENCH_MODULE_BEFORE:-}" ]; then
				CERTVAULT_VAULT=$VSIGN run "$BENCH" sign --verify --impl p11 \
					--name certvault-before --module "$BENCH_MODULE_BEFORE" \
					--pin $PIN --id "$id" --label "$label" --mech "$mech" \
					--key "$key" --threads $th --seconds "$SIGN_S" \
					--warmup "$WARM_S" --tag "$r"
			fi
			if [ "$SOFTHSM" = 1 ]; then
				run "$BENCH" sign --verify --impl p11 --name softhsm \
					--module "$SOFTHSM_SO" --token sign --pin $PIN --id "$id" \
					--label "$label" --mech "$mech" --key "$key" --threads $th \
					--seconds "$SIGN_S" --warmup "$WARM_S" --tag "$r"
			fi
		done
	done
}
if want signverify; then
	signverify_all ecdsa "$KEYS/ec.key" "$EC_ID" bench-ec
	signverify_all rsa-pkcs "$KEYS/rsa.key" "$RSA_ID" bench-rsa
fi

# --- 2-4. find, start-up, memory -----------------------------------------------------

if [ "$MODULE_OK" = 1 ] && want find; then
	for n in $SIZES; do
		log "certvault: find, start-up and memory at $n certificates"
		CERTVAULT_VAULT=$CACHE/vault-$n run "$BENCH" find --name certvault --tag "$n" \
			--module "$MODULE" --pin $PIN --targets "$CACHE/vault-$n.targets" \
			--seconds "$FIND_S" --walk "$WALK_S"
		CERTVAULT_VAULT=$CACHE/vault-$n run "$BENCH" startup --name certvault --tag "$n" \
			--module "$MODULE" --reps "$STARTUP_REPS" --fresh "$STARTUP_FRESH"
	done
fi
if [ "$SOFTHSM" = 1 ] && want find; then
	for n in $HSM_SIZES; do
		log "SoftHSMv2: find, start-up and memory at $n certificate objects"
		run "$BENCH" find --name softhsm --tag "$n" --module "$SOFTHSM_SO" \
			--token "find$n" --pin $PIN --targets "$HSM/find$n.targets" \
			--seconds "$FIND_S" --walk "$WALK_S"
		# SoftHSM's C_Initialize reads every token; keep its repetitions few.
		run "$BENCH" startup --name softhsm --tag "$n" --module "$SOFTHSM_SO" \
			--token "find$n" --reps 5 --fresh 2
	done
fi

# --- 5. nginx ---------------------------------------------------------------------------

nginx_run() { # name keyspec cert round
	local name=$1 keyspec=$2 cert=$3 round=$4 ng=$CACHE/nginx port pid i total rate clients
	local cpu0 cpu conns n
	mkdir -p "$ng/logs" "$ng/tmp"
	for port in 18443 18444 18445 28443 38443; do
		ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port " || break
	done
	cat >"$ng/$name.conf" <<-EOF
	# Benchmark only: workers run as root so that, after fork, they can
	# reopen the 0700 vault owned by the user running the benchmark.
	user root;
	worker_processes 2;
	daemon off;
	pid $ng/$name.pid;
	error_log $ng/logs/$name.error.log warn;
	env CERTVAULT_VAULT;
	env OPENSSL_CONF;
	env XDG_CONFIG_HOME;
	events { worker_connections 1024; }
	http {
		access_log off;
		client_body_temp_path $ng/tmp/body;
		proxy_temp_path $ng/tmp/proxy;
		fastcgi_temp_path $ng/tmp/fastcgi;
		uwsgi_temp_path $ng/tmp/uwsgi;
		scgi_temp_path $ng/tmp/scgi;
		server {
			listen 127.0.0.1:$port ssl;
			ssl_certificate "$cert";
			ssl_certificate_key "$keyspec";
			ssl_session_cache off;
			ssl_session_tickets off;
			location / { return 200 "ok\n"; }
		}
	}
	EOF
	OPENSSL_CONF=$ng/openssl.cnf CERTVAULT_VAULT=$VSIGN \
		nginx -p "$ng" -c "$ng/$name.conf" 2>>"$RES/stderr.txt" &
	pid=$!
	for i in $(seq 50); do
		ss -ltn 2>/dev/null | grep -q "127.0.0.1:$port " && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 $pid 2>/dev/null ||
	   ! timeout 10 openssl s_client -connect 127.0.0.1:$port </dev/null >"$ng/$name.probe" 2>&1 ||
	   ! grep -q "Verify return code" "$ng/$name.probe"; then
		log "nginx ($name) did not serve: see $ng/logs/$name.error.log"
		kill $pid 2>/dev/null
		wait $pid 2>/dev/null
		return 1
	fi
	# One second of handshakes first, so that both workers have done their
	# one-off work (libp11 opens a session and logs in anew after fork).
	timeout 30 openssl s_time -connect 127.0.0.1:$port -new -time 1 >/dev/null 2>&1
	log "nginx ($name): full handshakes for $NGINX_S s, $NGINX_CLIENTS s_time clients"
	cpu0=$(workers_cpu $pid)
	clients=()
	for i in $(seq "$NGINX_CLIENTS"); do
		# s_time's own "real seconds" is whole seconds; time it here.
		(
			t0=$(date +%s.%N)
			timeout $((NGINX_S + 30)) openssl s_time -connect 127.0.0.1:$port \
				-new -time "$NGINX_S"
			echo "wall $t0 $(date +%s.%N)"
		) >"$ng/$name.s_time.$i" 2>&1 &
		clients+=($!)
	done
	wait "${clients[@]}"
	cpu=$(( $(workers_cpu $pid) - cpu0 ))
	total=0 conns=0
	for i in $(seq "$NGINX_CLIENTS"); do
		rate=$(awk '/connections in .* real seconds/ { n = $1 }
			    /^wall / { printf "%.1f", n / ($3 - $2) }' "$ng/$name.s_time.$i")
		n=$(awk '/connections in .* real seconds/ { print $1 }' "$ng/$name.s_time.$i")
		total=$(awk -v a="$total" -v b="${rate:-0}" 'BEGIN { printf "%.1f", a + b }')
		conns=$((conns + ${n:-0}))
	done
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	# Handshakes per CPU-second of the workers: what other load on the
	# machine disturbs least.
	printf 'RESULT kind=nginx impl=%s tag=%s handshakes_per_s=%s %s seconds=%s clients=%s\n' \
		"$name" "$round" "$total" \
		"$(awk -v n=$conns -v c=$cpu -v hz="$(getconf CLK_TCK)" -v s="$NGINX_S" 'BEGIN {
			printf "per_worker_cpu_s=%.1f workers_cpu_share=%.2f",
			       (c > 0 ? n / (c / hz) : 0), c / hz / s / 2 }')" \
		"$NGINX_S" "$NGINX_CLIENTS" >>"$RAW"
}

# CPU time (clock ticks) of nginx's workers, the master's children.
workers_cpu() {
	local t=0 w f
	for w in $(pgrep -P "$1"); do
		# Fields 14 and 15 of /proc/PID/stat: utime and stime.
		f=$(sed 's/^.*) //' "/proc/$w/stat" 2>/dev/null | cut -d' ' -f12,13)
		[ -n "$f" ] && t=$((t + ${f% *} + ${f#* }))
	done
	echo $t
}

if [ "$NGINX" = 1 ] && want nginx && command -v nginx >/dev/null; then
	ENGINE_SO=$(ls /usr/lib/*/engines-3/pkcs11.so 2>/dev/null | head -1)
	mkdir -p "$CACHE/nginx"
	cat >"$CACHE/nginx/openssl.cnf" <<-EOF
	openssl_conf = openssl_init
	[openssl_init]
	engines = engine_section
	[engine_section]
	pkcs11 = pkcs11_section
	[pkcs11_section]
	engine_id = pkcs11
	dynamic_path = $ENGINE_SO
	MODULE_PATH = $MODULE
	init = 1
	EOF
	pct() { echo "$1" | sed 's/../%&/g'; }
	# Rounds alternate the key file and the vault, as for signing.
	for r in $(seq "$NGINX_ROUNDS"); do
		for k in rsa ec; do
			nginx_run "file-$k" "$KEYS/$k.key" "$KEYS/$k.crt" "$r"
			if [ "$MODULE_OK" = 1 ] && [ -n "$ENGINE_SO" ]; then
				id=$RSA_ID
				[ $k = ec ] && id=$EC_ID
				nginx_run "vault-$k" \
					"engine:pkcs11:pkcs11:token=bench;id=$(pct "$id");type=private;pin-value=$PIN" \
					"$KEYS/$k.crt" "$r"
			fi
		done
	done
fi

# --- 6. the vault CA ----------------------------------------------------------------------

# openssl_ca_loop KEY MODE: leaves an EC P-256 CA key file signs with
# `openssl x509 -req` for CA_S seconds; MODE keygen makes each leaf's key
# and CSR with `openssl req -new -newkey` first, MODE sign signs one CSR made
# beforehand.  What a user would otherwise run, one process per step.
openssl_ca_loop() {
	local key=$1 mode=$2 d=$CACHE/ossl-ca n=0 t0 t newkey
	case $key in
	ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	rsa) newkey=(-newkey rsa:2048) ;;
	esac
	openssl req -new "${newkey[@]}" -nodes -keyout "$d/$key.key" -subj /CN=leaf.bench.example \
		-out "$d/$key.csr" 2>/dev/null || return 1
	t0=$EPOCHREALTIME
	while :; do
		if [ "$mode" = keygen ]; then
			openssl req -new "${newkey[@]}" -nodes -keyout "$d/$key.key" \
				-subj /CN=leaf.bench.example -out "$d/$key.csr" 2>/dev/null || return 1
		fi
		openssl x509 -req -in "$d/$key.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
			-CAcreateserial -CAserial "$d/ca.srl" -days 365 -sha256 \
			-extfile "$d/leaf.ext" -out "$d/$key.crt" 2>/dev/null || return 1
		n=$((n + 1))
		t=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
		awk -v t="$t" -v s="$CA_S" 'BEGIN { exit !(t >= s) }' && break
	done
	printf 'RESULT kind=vaultca impl=openssl key=%s mode=%s count=%d seconds=%s per_s=%s\n' \
		"$key" "$mode" "$n" "$t" "$(awk -v n=$n -v t="$t" 'BEGIN { printf "%.1f", n / t }')" >>"$RAW"
}

if want ca && [ -x "$VAULT_CA" ]; then
	log "vault CA: EC P-256 and RSA-2048 leaves, key generation included and excluded, $CA_S s each"
	rm -rf "$CACHE/vault-ca"
	run "$VAULT_CA" --seconds "$CA_S" --pin $PIN "$CACHE/vault-ca"
	rm -rf "$CACHE/vault-ca"
	mkdir -p "$CACHE/ossl-ca"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$CACHE/ossl-ca/ca.key" -subj "/CN=Bench Root CA" -days 730 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-out "$CACHE/ossl-ca/ca.crt" 2>/dev/null
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
		'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:leaf.bench.example' \
		'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' >"$CACHE/ossl-ca/leaf.ext"
	for k in ec rsa; do
		for m in sign keygen; do
			openssl_ca_loop $k $m || log "openssl CA loop ($k, $m) failed"
		done
	done
fi

# --- the table ---------------------------------------------------------------------------

MODSTATE="certvault-pkcs11.so: $([ "$MODULE_OK" = 1 ] && echo "built and started" || echo "not available (its columns are empty)")"
{
	echo "## Benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $(openssl version | cut -d' ' -f1-2)$([ "$QUICK" = 1 ] && echo ', --quick'))"
	echo
	echo "$MODSTATE. Load average at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	awk -v sign_s="$SIGN_S" -v rounds="$SIGN_ROUNDS" -f "$HERE/table.awk" "$RAW"
	echo
	echo "### Raw numbers"
	echo
	echo '```'
	cat "$RAW"
	echo '```'
} >"$RES/table.md"
cat "$RES/table.md"
log "done in $(($(date +%s) - T_START)) s; kept in $RES"
