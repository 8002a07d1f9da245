#!/usr/bin/env python3
"""Misbehaving TCP clients for the server tests (hostile-host review, issue 11).

  drip HOST PORT PREFIX_HEX CHUNK_HEX INTERVAL MAX_S
      sends PREFIX, then CHUNK every INTERVAL seconds, until the server closes the
      connection or MAX_S pass. Prints "connected" once connected, then "closed T" (the
      server ended it T seconds after connect) or "held T" (it never did); the time of each
      line since the epoch follows, so a test can order events across processes.
  flood HOST PORT N GARBAGE_HEX HOLD_S [keep]
      opens N connections, sends GARBAGE on each (empty: nothing), prints "open N connected
      M" (M: those the server accepted within 5 s; the others wait in its backlog), then
      keeps them open for HOLD_S seconds, or until the server has closed them all, and
      prints how many it closed: "closed K T" (T: seconds since they were open). With
      "keep", the connections stay open for HOLD_S seconds even once the server has ended
      its side (a client that never closes).
  oneshot HOST PORT REQ_HEX TIMEOUT_S
      sends REQ, reads until the server closes (at most TIMEOUT_S), prints the answer in hex.
  silent-server PORT_FILE MODE
      listens on 127.0.0.1:0, writes the port to PORT_FILE, and for each client either
      sends MODE=garbage bytes that are not TLS and closes, or (MODE=stall) reads and never
      answers. Runs until killed.
"""
import os
import select
import socket
import sys
import time


def out(*a):
    print(*a, flush=True)


def drip(host, port, prefix, chunk, interval, max_s):
    s = socket.create_connection((host, int(port)), timeout=10)
    t0 = time.monotonic()
    out("connected", time.time())
    try:
        s.sendall(bytes.fromhex(prefix))
        while time.monotonic() - t0 < float(max_s):
            r, _, _ = select.select([s], [], [], float(interval))
            if r:
                if not s.recv(4096):
                    break
                continue
            s.sendall(bytes.fromhex(chunk))
        else:
            out("held", round(time.monotonic() - t0, 2), time.time())
            return 1
    except OSError:
        pass
    out("closed", round(time.monotonic() - t0, 2), time.time())
    return 0


def flood(host, port, n, garbage, hold_s, keep=""):
    # Non-blocking connects: a server that stopped accepting leaves them in its backlog (or
    # unanswered), which holds it just as well; they are counted, not waited for.
    socks = []
    for _ in range(int(n)):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.setblocking(False)
        s.connect_ex((host, int(port)))
        socks.append(s)
    pending, t0 = set(socks), time.monotonic()
    while pending and time.monotonic() - t0 < 5:
        _, w, _ = select.select([], list(pending), [], 0.5)
        for s in w:
            pending.discard(s)
            if garbage and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                try:
                    s.send(bytes.fromhex(garbage))
                except OSError:
                    pass
    out("open", len(socks), "connected", len(socks) - len(pending))
    closed = set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < float(hold_s) and len(closed) < len(socks):
        live = [s for s in socks if s not in closed and s not in pending]
        r, _, _ = select.select(live, [], [], 0.5)
        for s in r:
            try:
                if not s.recv(4096):
                    closed.add(s)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(s)
    out("closed", len(closed), round(time.monotonic() - t0, 2))
    if keep:
        time.sleep(max(0.0, float(hold_s) - (time.monotonic() - t0)))
    return 0


def oneshot(host, port, req, timeout_s):
    s = socket.create_connection((host, int(port)), timeout=float(timeout_s))
    s.sendall(bytes.fromhex(req))
    buf = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            buf += d
    except OSError:
        pass
    out(buf.hex())
    return 0


def silent_server(port_file, mode):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    tmp = port_file + ".part"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, port_file)
    held = []
    while True:
        c, _ = ls.accept()
        if mode == "garbage":
            c.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            c.close()
        else:
            held.append(c)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"drip": drip, "flood": flood, "oneshot": oneshot, "silent-server": silent_server}[cmd]
    sys.exit(fn(*args))
