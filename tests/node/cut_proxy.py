"""A TCP proxy for tests/node/test_node_push_resume.sh (not a test itself): forwards every
connection to the node, except that the first one whose request is a PUT is cut after
CUT bytes from the client, both sides closed, as a dropped network would; or, with the
mode flip, has its byte at CUT (from the request's first byte) inverted and goes on.
Usage: cut_proxy.py NODE_PORT CUT PORT_FILE [flip]"""
import os
import socket
import sys
import threading

node_port, cut, port_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
flip = len(sys.argv) > 4 and sys.argv[4] == "flip"
state = {"cut_done": False}
lock = threading.Lock()


def pipe(src, dst, limit=None, flip_at=None):
    """Forwards src to dst: up to limit bytes if given, with the byte at flip_at inverted
    if given; then closes both."""
    sent = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if flip_at is not None and sent <= flip_at < sent + len(data):
                b = bytearray(data)
                b[flip_at - sent] ^= 0xFF
                data = bytes(b)
                print("flipped byte %d of a PUT" % flip_at, flush=True)
            if limit is not None and sent + len(data) >= limit:
                dst.sendall(data[: limit - sent])
                break
            dst.sendall(data)
            sent += len(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve_flip(client, upstream, first):
    b = bytearray(first)
    if cut < len(b):
        b[cut] ^= 0xFF
        print("flipped byte %d of a PUT" % cut, flush=True)
    upstream.sendall(bytes(b))
    t = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
    t.start()
    pipe(client, upstream, None, cut - len(first) if cut >= len(first) else None)
    t.join(30)
    client.close()
    upstream.close()


def serve(client):
    upstream = socket.create_connection(("127.0.0.1", node_port))
    first = client.recv(65536)
    limit = None
    if flip:
        with lock:
            mine = first.startswith(b"PUT ") and not state["cut_done"]
            state["cut_done"] = state["cut_done"] or mine
        if mine:
            return serve_flip(client, upstream, first)
    with lock:
        if first.startswith(b"PUT ") and not state["cut_done"]:
            state["cut_done"] = True
            limit = cut
            print("cutting a PUT after %d bytes" % cut, flush=True)
    upstream.sendall(first[:limit] if limit else first)
    if limit and len(first) >= limit:
        for s in (client, upstream):
            s.close()
        return
    t = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
    t.start()
    pipe(client, upstream, None if limit is None else limit - len(first))
    t.join(30)
    client.close()
    upstream.close()


lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", 0))
lsock.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(lsock.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = lsock.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
