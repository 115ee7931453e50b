#!/usr/bin/python3
"""certvault tests: an SMTP server on 127.0.0.1 (Debian's python3-aiosmtpd).

Listens on 127.0.0.1 only (--bind ::1: on IPv6's loopback), on --port (0: a free port the kernel picks), and
writes the port it got to --port-file once it listens.  Every message it
accepts is saved in --dir as N.eml (the message as it arrived, after the
protocol's dot-unstuffing) and then N.json (written last, by rename, so a
reader that sees N.json sees both):
  {"n": N, "mail_from": ..., "rcpt_tos": [...], "tls": true|false,
   "login": USER|null, "from": ..., "to": ..., "subject": (decoded),
   "raw_subject": (as sent), "date": ..., "message_id": ...,
   "mime_version": ..., "content_type": ..., "charset": ...,
   "transfer_encoding": ..., "body": (decoded text), "defects": [...]}
with the headers read by Python's email parser, not by the code under test.

Switches:
  --refuse ADDR     RCPT TO ADDR is answered 550 (ADDR "*": every one)
  --defer ADDR      RCPT TO ADDR is answered 451 (ADDR "*": every one)
  --starttls CERT KEY   STARTTLS offered with this certificate, and required
                        before MAIL
  --tls CERT KEY    implicit TLS (smtps): TLS from the first byte
  --auth USER:PASSWORD  AUTH (LOGIN or PLAIN) required before MAIL; over
                        STARTTLS only once TLS is up
  --silent          accept connections and never say a word (a server that
                    hangs), for timeouts
Stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bind", default="127.0.0.1", choices=["127.0.0.1", "::1"])
    p.add_argument("--refuse", action="append", default=[])
    p.add_argument("--defer", action="append", default=[])
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth")
    p.add_argument("--silent", action="store_true")
    return p.parse_args()


def matches(addrs, addr):
    return "*" in addrs or addr.lower() in (a.lower() for a in addrs)


class Saver:
    def __init__(self, args):
        self.args = args
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if matches(self.args.refuse, address):
            print(f"refused {address}", file=sys.stderr, flush=True)
            return f"550 5.1.1 <{address}>: recipient refused by the test server"
        if matches(self.args.defer, address):
            print(f"deferred {address}", file=sys.stderr, flush=True)
            return f"451 4.3.0 <{address}>: try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        try:
            body = msg.get_content()
        except Exception as e:  # a body the parser cannot decode is a defect
            body = None
            msg.defects.append(repr(e))
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode("utf-8", "replace")
        record = {
            "n": n,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": login,
            "from": str(msg["From"]) if msg["From"] is not None else None,
            "to": str(msg["To"]) if msg["To"] is not None else None,
            "subject": str(msg["Subject"]) if msg["Subject"] is not None else None,
            "raw_subject": raw_header(raw, b"subject"),
            "date": str(msg["Date"]) if msg["Date"] is not None else None,
            "message_id": str(msg["Message-ID"]) if msg["Message-ID"] is not None else None,
            "mime_version": str(msg["MIME-Version"]) if msg["MIME-Version"] is not None else None,
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "transfer_encoding": str(msg["Content-Transfer-Encoding"] or ""),
            "body": body,
            "defects": [str(d) for d in msg.defects],
        }
        base = os.path.join(self.args.dir, "%04d" % n)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(raw)
        os.rename(base + ".eml.tmp", base + ".eml")
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(base + ".json.tmp", base + ".json")
        print(f"saved {n} from {envelope.mail_from} to {envelope.rcpt_tos}",
              file=sys.stderr, flush=True)
        return "250 2.0.0 Message accepted for delivery"


def raw_header(raw, name):
    """The header's lines as sent, unfolded only by joining them."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    out, on = [], False
    for line in head:
        if line[:1] in (b" ", b"\t") and on:
            out.append(line)
            continue
        on = line.lower().startswith(name + b":")
        if on:
            out.append(line)
    return b"\r\n".join(out).decode("ascii", "replace") if out else None


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


class Silent(asyncio.Protocol):
    """Takes the connection and says nothing, ever."""
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        pass


async def main():
    args = parse_args()
    # AUTH over plain loopback is what --auth without --starttls asks for.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    loop = asyncio.get_running_loop()
    handler = Saver(args)
    user = password = None
    if args.auth is not None:
        user, _, password = args.auth.partition(":")

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        print(f"AUTH {mechanism} {'accepted' if ok else 'refused'}",
              file=sys.stderr, flush=True)
        # handled=False: aiosmtpd then answers the refusal (535) itself.
        return AuthResult(success=ok, handled=False,
                          auth_data=auth_data if ok else None)

    def factory():
        kw = {"hostname": "smtpd.test", "timeout": 60}
        if args.starttls:
            kw["tls_context"] = tls_context(*args.starttls)
            kw["require_starttls"] = True
        if args.auth is not None:
            kw["auth_required"] = True
            kw["authenticator"] = authenticator
            # Over plain loopback too, unless STARTTLS is there to wait for.
            kw["auth_require_tls"] = bool(args.starttls)
        return SMTP(handler, **kw)

    if args.silent:
        server = await loop.create_server(Silent, args.bind, args.port)
    else:
        server = await loop.create_server(
            factory, args.bind, args.port,
            ssl=tls_context(*args.tls) if args.tls else None)
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(args.port_file + ".tmp", args.port_file)
    print(f"listening on {args.bind} port {port}", file=sys.stderr, flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    await stop
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
