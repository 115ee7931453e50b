# certvault benchmark: the README tables from run.sh's RESULT lines.
# Reads "RESULT kind=K key=value ..." lines; prints markdown.  A figure that
# was not measured prints as "n/a".

function num(x, fmt) { return x == "" ? "n/a" : sprintf(fmt, x) }
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "n/a" : sprintf("%.2f", a / b) }

function nratio(k, tab,    r, list, a, b) {
	list = ""
	for (r in NTAGS) {
		a = tab["vault-" k, r]
		b = tab["file-" k, r]
		if (a != "" && b != "" && b + 0 > 0)
			list = list " " (a / b)
	}
	return list == "" ? "n/a" : sprintf("%.2f", median(list))
}

function mm(impl, s, by,    fmt) {
	if (F[impl, s, by] == "")
		return "n/a"
	fmt = F[impl, s, by] + 0 >= 1000 ? "%.0f / %.0f" : "%.1f / %.1f"
	return sprintf(fmt, F[impl, s, by], FM[impl, s, by])
}

function walked(impl, s, cls,    w) {
	w = W[impl, s, cls]
	if (w == "")
		return "n/a"
	return sprintf("%.1f%s", w, WC[impl, s, cls] == 0 ? " (cut short)" : "")
}

# The median of a space-separated list of numbers, "" for none.
function median(list,    v, n, i, j, x) {
	n = split(list, v, " ")
	if (n == 0)
		return ""
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			x = v[j]; v[j] = v[j - 1]; v[j - 1] = x
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# The median over rounds of impl's figure over raw OpenSSL's in that round.
function pratio(impl, mech, t, tab,    r, list, a, b) {
	list = ""
	for (r in TAGS) {
		a = tab[impl, mech, t, r]
		b = tab["openssl", mech, t, r]
		if (a != "" && b != "" && b + 0 > 0)
			list = list " " (a / b)
	}
	return list == "" ? "n/a" : sprintf("%.2f", median(list))
}

$1 == "RESULT" {
	delete f
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		if (eq > 0)
			f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	k = f["kind"]
	if (k == "sign") {
		key = f["impl"] SUBSEP f["mech"] SUBSEP f["threads"]
		SL[key] = SL[key] " " f["ops_per_s"]
		CL[key] = CL[key] " " f["ops_per_cpu_s"]
		UL[key] = UL[key] " " f["cpu_util"]
		SR[key, f["tag"]] = f["ops_per_s"]
		SRC[key, f["tag"]] = f["ops_per_cpu_s"]
		TAGS[f["tag"]] = 1
	} else if (k == "signverify") {
		key = f["impl"] SUBSEP f["mech"] SUBSEP f["threads"]
		VL[key] = VL[key] " " f["ops_per_s"]
		VC[key] = VC[key] " " f["ops_per_cpu_s"]
		VR[key, f["tag"]] = f["ops_per_s"]
		VRC[key, f["tag"]] = f["ops_per_cpu_s"]
		TAGS[f["tag"]] = 1
	} else if (k == "find") {
		F[f["impl"], f["tag"], f["by"]] = f["mean_us"]
		FM[f["impl"], f["tag"], f["by"]] = f["median_us"]
		FO[f["impl"], f["tag"], f["by"]] = f["objects_per_find"]
		sizes[f["tag"]] = 1
	} else if (k == "walk") {
		W[f["impl"], f["tag"], f["class"]] = f["us_per_object"]
		WC[f["impl"], f["tag"], f["class"]] = f["complete"]
	} else if (k == "login") {
		LG[f["impl"], f["tag"]] = f["ms"]
	} else if (k == "startup") {
		U[f["impl"], f["tag"]] = f["mean_ms"]
		UF[f["impl"], f["tag"]] = f["fresh_mean_ms"]
		sizes[f["tag"]] = 1
	} else if (k == "mem") {
		MH[f["impl"], f["tag"], f["phase"]] = f["vmhwm_kb"]
		MA[f["impl"], f["tag"], f["phase"]] = f["rss_anon_kb"]
		MF[f["impl"], f["tag"], f["phase"]] = f["rss_file_kb"]
		MD[f["impl"], f["tag"], f["phase"]] = f["mdb_rss_kb"]
	} else if (k == "nginx") {
		NL[f["impl"]] = NL[f["impl"]] " " f["handshakes_per_s"]
		NGR[f["impl"], f["tag"]] = f["handshakes_per_s"]
		NGC[f["impl"], f["tag"]] = f["per_worker_cpu_s"]
		NCL[f["impl"]] = NCL[f["impl"]] " " f["per_worker_cpu_s"]
		NSH = NSH " " f["workers_cpu_share"]
		nclients = f["clients"]
		NTAGS[f["tag"]] = 1
	} else if (k == "vaultca") {
		CA[f["impl"], f["key"], f["mode"]] = f["per_s"]
	} else if (k == "populate") {
		P[f["mode"], f["count"]] = f["per_s"]
	}
}

END {
	nm = split("rsa-pkcs rsa-pss ecdsa", mechs, " ")
	name["rsa-pkcs"] = "RSA-2048 PKCS#1 v1.5 (CKM_RSA_PKCS, SHA-256 DigestInfo)"
	name["rsa-pss"] = "RSA-2048 PSS (CKM_RSA_PKCS_PSS, SHA-256, salt 32)"
	name["ecdsa"] = "ECDSA P-256 (CKM_ECDSA)"

	print "### Signing, ops/s (per-thread ops/s summed; median of " rounds " rounds of " sign_s " s, implementations interleaved)"
	print ""
	print "| mechanism | threads | raw OpenSSL | certvault | ratio | ratio per CPU-second | SoftHSMv2 | ratio |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|"
	for (m = 1; m <= nm; m++)
		for (t = 1; t <= 2; t++) {
			o = median(SL["openssl", mechs[m], t])
			c = median(SL["certvault", mechs[m], t])
			h = median(SL["softhsm", mechs[m], t])
			printf "| %s | %d | %s | %s | %s | %s | %s | %s |\n", name[mechs[m]], t,
			       num(o, "%.0f"), num(c, "%.0f"), pratio("certvault", mechs[m], t, SR),
			       pratio("certvault", mechs[m], t, SRC),
			       num(h, "%.0f"), pratio("softhsm", mechs[m], t, SR)
		}
	print ""
	print "Ratios are medians of the per-round ratios to raw OpenSSL. Per CPU-second:"
	print "signatures per CPU-second of the signing threads, which other processes on"
	print "the machine disturb less than the wall clock. Two threads over one:"
	print ""
	print "| mechanism | raw OpenSSL | certvault | SoftHSMv2 |"
	print "|---|---:|---:|---:|"
	for (m = 1; m <= nm; m++)
		printf "| %s | %s | %s | %s |\n", mechs[m],
		       ratio(median(SL["openssl", mechs[m], 2]), median(SL["openssl", mechs[m], 1])),
		       ratio(median(SL["certvault", mechs[m], 2]), median(SL["certvault", mechs[m], 1])),
		       ratio(median(SL["softhsm", mechs[m], 2]), median(SL["softhsm", mechs[m], 1]))
	print ""
	if (length(VL) > 0) {
		print "### Sign+verify pairs, pairs/s (C_SignInit + C_Sign + C_VerifyInit + C_Verify; raw OpenSSL signs and checks with the key of the file; median of " rounds " rounds of " sign_s " s)"
		print ""
		print "| mechanism | threads | raw OpenSSL | certvault | ratio | per CPU-second | certvault before | ratio | SoftHSMv2 | ratio |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (m = 1; m <= nm; m++)
			for (t = 1; t <= 16; t += 15) {
				if (VL["openssl", mechs[m], t] == "")
					continue
				printf "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				       name[mechs[m]], t,
				       num(median(VL["openssl", mechs[m], t]), "%.0f"),
				       num(median(VL["certvault", mechs[m], t]), "%.0f"),
				       pratio("certvault", mechs[m], t, VR),
				       pratio("certvault", mechs[m], t, VRC),
				       num(median(VL["certvault-before", mechs[m], t]), "%.0f"),
				       pratio("certvault-before", mechs[m], t, VR),
				       num(median(VL["softhsm", mechs[m], t]), "%.0f"),
				       pratio("softhsm", mechs[m], t, VR)
			}
		print ""
	}
	printf "Share of the window the signing threads had a CPU (cpu_util, median): "
	sep = ""
	for (m = 1; m <= nm; m++)
		for (t = 1; t <= 2; t++) {
			printf "%s%s/%dT openssl %s, certvault %s", sep, mechs[m], t,
			       num(median(UL["openssl", mechs[m], t]), "%.2f"),
			       num(median(UL["certvault", mechs[m], t]), "%.2f")
			sep = "; "
		}
	print "."
	print ""
	print "Raw OpenSSL is the baseline: an EVP_PKEY_CTX made once per thread, and per"
	print "signature EVP_PKEY_sign_init, the padding parameters and EVP_PKEY_sign on the"
	print "32-byte digest. Other ways, 1 thread / 2 threads:"
	print ""
	print "| mechanism | new EVP_PKEY_CTX per signature | sign_init once (EVP_PKEY_sign only) |"
	print "|---|---:|---:|"
	for (m = 1; m <= nm; m++)
		printf "| %s | %s / %s | %s / %s |\n", mechs[m],
		       num(median(SL["openssl-new", mechs[m], 1]), "%.0f"),
		       num(median(SL["openssl-new", mechs[m], 2]), "%.0f"),
		       num(median(SL["openssl-ready", mechs[m], 1]), "%.0f"),
		       num(median(SL["openssl-ready", mechs[m], 2]), "%.0f")

	ns = 0
	for (s in sizes)
		list[++ns] = s + 0
	for (i = 2; i <= ns; i++)       # insertion sort, numbers
		for (j = i; j > 1 && list[j - 1] > list[j]; j--) {
			x = list[j]; list[j] = list[j - 1]; list[j - 1] = x
		}

	print ""
	print "### Find, µs per complete find (Init + FindObjects + Final), random targets: mean / median"
	print ""
	print "certvault: N certificates = 3N objects; a find by CKA_ID or CKA_LABEL alone"
	print "returns the certificate, public and private key. SoftHSMv2: N certificate"
	print "objects, each find returns one; measured at small sizes only, as every"
	print "find costs it time in proportion to its objects. The median is the figure"
	print "to read on a busy machine: preemption lands on few finds, but moves the mean."
	print "Listing: one find of all objects of a class (what libp11 does to load a"
	print "key), µs per object found."
	print ""
	print "| certificates | certvault by CKA_ID | certvault by CKA_LABEL | SoftHSMv2 by CKA_ID | SoftHSMv2 by CKA_LABEL | certvault: list private keys | certvault: list certificates | SoftHSMv2: list certificates |"
	print "|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		s = list[i]
		printf "| %d | %s | %s | %s | %s | %s | %s | %s |\n", s,
		       mm("certvault", s, "id"), mm("certvault", s, "label"),
		       mm("softhsm", s, "id"), mm("softhsm", s, "label"),
		       walked("certvault", s, "priv"), walked("certvault", s, "cert"),
		       walked("softhsm", s, "cert")
	}

	print ""
	print "### Start-up: C_Initialize + C_GetSlotList + C_OpenSession, mean ms"
	print ""
	print "| certificates | certvault, in process (C_Finalize between) | certvault, fresh process (dlopen included) | certvault C_Login | SoftHSMv2 in process | SoftHSMv2 fresh | SoftHSMv2 C_Login |"
	print "|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		s = list[i]
		printf "| %d | %s | %s | %s | %s | %s | %s |\n", s,
		       num(U["certvault", s], "%.2f"), num(UF["certvault", s], "%.2f"),
		       num(LG["certvault", s], "%.0f"),
		       num(U["softhsm", s], "%.2f"), num(UF["softhsm", s], "%.2f"),
		       num(LG["softhsm", s], "%.0f")
	}
	print ""
	print "C_Login (one, in the find run) includes the PIN's key derivation."

	print ""
	print "### Memory of the benchmark process, kB"
	print ""
	print "RssAnon (the process's own memory) and the resident pages of the vault's"
	print "LMDB map (data.mdb: clean, shared file pages, the page cache's and"
	print "reclaimable; the kernel maps up to 64 KB around each faulting page), from"
	print "/proc/self/status and /proc/self/smaps. VmHWM includes the 32 MB that"
	print "C_Login's scrypt takes for a moment."
	print ""
	print "| certificates | module | RssAnon: loaded -> logged in -> after finds -> after listing | data.mdb resident after finds | RssFile after finds | VmHWM |"
	print "|---:|---|---|---:|---:|---:|"
	for (i = 1; i <= ns; i++)
		for (q = 1; q <= 2; q++) {
			s = list[i]
			im = q == 1 ? "certvault" : "softhsm"
			if (MA[im, s, "after-finds"] == "")
				continue
			printf "| %d | %s | %s -> %s -> %s -> %s | %s | %s | %s |\n", s, im,
			       MA[im, s, "loaded"], num(MA[im, s, "logged-in"], "%d"),
			       MA[im, s, "after-finds"], num(MA[im, s, "after-walk"], "%d"),
			       im == "softhsm" ? "-" : MD[im, s, "after-finds"],
			       MF[im, s, "after-finds"], MH[im, s, "after-walk"] != "" ? MH[im, s, "after-walk"] : MH[im, s, "after-finds"]
		}

	print ""
	print "### nginx, full TLS handshakes (2 workers, no session cache or tickets, " nclients " parallel openssl s_time -new clients on the same 2 cores)"
	print ""
	print "| key | handshakes per worker CPU-second: key file | key in the vault (libp11 engine) | ratio | handshakes/s: key file | key in the vault | ratio |"
	print "|---|---:|---:|---:|---:|---:|---:|"
	printf "| RSA-2048 | %s | %s | %s | %s | %s | %s |\n",
	       num(median(NCL["file-rsa"]), "%.0f"), num(median(NCL["vault-rsa"]), "%.0f"),
	       nratio("rsa", NGC), num(median(NL["file-rsa"]), "%.0f"),
	       num(median(NL["vault-rsa"]), "%.0f"), nratio("rsa", NGR)
	printf "| ECDSA P-256 | %s | %s | %s | %s | %s | %s |\n",
	       num(median(NCL["file-ec"]), "%.0f"), num(median(NCL["vault-ec"]), "%.0f"),
	       nratio("ec", NGC), num(median(NL["file-ec"]), "%.0f"),
	       num(median(NL["vault-ec"]), "%.0f"), nratio("ec", NGR)
	print ""
	print "Medians over rounds that alternate the key file and the vault; ratios are"
	print "medians of the rounds' ratios. The workers' CPU time (utime + stime from"
	print "/proc) is the server's cost per handshake, which is what moving the key"
	print "changes; handshakes/s is bounded by the clients, which share the 2 cores"
	print "(the workers had a CPU " num(median(NSH), "%.2f") " of the time, median). TLS 1.3, so the RSA"
	print "key signs RSA-PSS. Each round starts with 1 s of handshakes not counted, in"
	print "which each worker logs in after fork. nginx runs as root with `user root;`"
	print "in the benchmark only, so its workers can reopen the 0700 vault after fork."
	print ""
	print "### The vault CA: leaves issued per second (one EC P-256 CA)"
	print ""
	print "| leaf key | key generation | certvault | openssl | ratio |"
	print "|---|---|---:|---:|---:|"
	for (q = 1; q <= 4; q++) {
		ck = q <= 2 ? "ec" : "rsa"
		cm = q % 2 ? "keygen" : "sign"
		printf "| %s | %s | %s | %s | %s |\n", ck == "ec" ? "EC P-256" : "RSA-2048",
		       cm == "keygen" ? "included" : "excluded",
		       num(CA["certvault", ck, cm], "%.1f"), num(CA["openssl", ck, cm], "%.1f"),
		       ratio(CA["certvault", ck, cm], CA["openssl", ck, cm])
	}
	print ""
	print "Included: certvault's cv_cert_create with a Vault issuer (the key made in the"
	print "vault, signed by the vault CA, stored with its chain in one durable LMDB"
	print "commit), against `openssl req -new -newkey` then `openssl x509 -req` per leaf"
	print "(files, no store). Excluded: cv_vault_ca_issue on keys made beforehand (read"
	print "the CA, unseal its key, check, sign; nothing stored), against `openssl x509"
	print "-req` on one CSR made beforehand. openssl pays a process start per step."
	print ""
	print "### Populating"
	print ""
	for (k in P) {
		split(k, kk, SUBSEP)
		printf "- %s, %d certificates: %s certificates/s\n",
		       kk[1] == "api" ? "cv_cert_create (one durable LMDB commit each)" : "store internal API, 1,000 per commit",
		       kk[2], P[k]
	}
}
