# nginx for the conformance tests: after lib.sh and make_target (and
# engine_config 1), `. nginx_lib.sh` gives a prefix folder under $WORK and:
#   nginx_share_vault         the vault shared with www-data's group, as
#                             README's "Sharing a vault with a service" says
#   server_block PORT CERT KEY-URI, write_conf SERVER-BLOCK...,
#   nginx_start, nginx_stop   (nginx_stop also runs when the script ends)
#   requests N PORT CA        N GETs, 8 at a time: how many gave 200
#   workers                   how many workers run as www-data
NGX="$WORK/nginx"
mkdir -p "$NGX/logs" "$NGX/tmp"
PIDFILE="$NGX/nginx.pid"
NGINX=(nginx -p "$NGX" -c "$NGX/nginx.conf" -g "daemon on; pid $PIDFILE;")

nginx_share_vault() {
	chmod 711 "$WORK"
	chgrp -R www-data "$VAULT"
	chmod 750 "$VAULT"
	chmod 640 "$VAULT/data.mdb"
	chmod 660 "$VAULT/lock.mdb"
}

nginx_stop() {
	local pid i
	[ -f "$PIDFILE" ] || return 0
	pid=$(cat "$PIDFILE")
	# nginx -s parses the whole config, keys included: it needs the engine.
	env OPENSSL_CONF="$OPENSSL_CNF" CERTVAULT_CONF="$CERTVAULT_CONF" "${NGINX[@]}" -s quit \
		>/dev/null 2>&1 || kill -QUIT "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	stop_pid "$pid"
	rm -f "$PIDFILE"
}
on_exit nginx_stop

# server_block PORT CERT KEY-URI
server_block() {
	cat <<-EOF
	    server {
	        listen 127.0.0.1:$1 ssl;
	        server_name localhost;
	        ssl_certificate $2;
	        ssl_certificate_key "engine:pkcs11:$3";
	        location / { return 200 "served by the vault\n"; }
	    }
	EOF
}

# write_conf SERVER-BLOCK...
write_conf() {
	{
		cat <<-EOF
		user www-data;
		worker_processes 2;
		error_log $NGX/logs/error.log info;
		env OPENSSL_CONF;
		env CERTVAULT_CONF;
		events { worker_connections 256; }
		http {
		    access_log off;
		    client_body_temp_path $NGX/tmp/body;
		    proxy_temp_path $NGX/tmp/proxy;
		    fastcgi_temp_path $NGX/tmp/fastcgi;
		    uwsgi_temp_path $NGX/tmp/uwsgi;
		    scgi_temp_path $NGX/tmp/scgi;
		EOF
		printf '%s\n' "$@"
		echo "}"
	} >"$NGX/nginx.conf"
}

nginx_start() {
	run env OPENSSL_CONF="$OPENSSL_CNF" CERTVAULT_CONF="$CERTVAULT_CONF" "${NGINX[@]}"
}

# requests N PORT CA: N GETs, 8 at a time; prints how many gave 200.
requests() {
	seq 1 "$1" | xargs -P 8 -I{} curl -s -w '\n%{http_code}\n' --max-time 10 \
		--cacert "$3" --resolve "localhost:$2:127.0.0.1" "https://localhost:$2/" |
		grep -c '^200$'
}

workers() {
	ps -o user= --ppid "$(cat "$PIDFILE" 2>/dev/null || echo 1)" 2>/dev/null | grep -c '^www-data'
}
