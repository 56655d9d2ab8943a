#!/usr/bin/python3
"""A zeroproxy worker in Python: GET → a greeting, POST/PUT → the body echoed back, streamed,
WebSocket /ws/echo → every message echoed back (SPEC §7.7); WebSocket on any other path → 501.

    /usr/bin/python3 examples/python-worker/worker.py --connect tcp://127.0.0.1:5555 [--id ID] [--pool P] [--capacity N]
"""

import argparse

from zp import Response, run_worker


def echo_websocket(ws):
    """Text comes back as text, binary as binary. A close from the client ends the loop (the
    worker answers it with its own close); window and fragmentation are handled by ws.send."""
    for msg in ws:
        ws.send(msg)


def handle(req):
    if req.is_websocket:
        if req.path.split("?")[0] != "/ws/echo":
            # SPEC §12: a worker without WebSocket on this path refuses the opening with a non-101 status.
            return Response(501, {"content-type": "text/plain"}, "no WebSocket here (try /ws/echo)\n")
        offered = req.websocket_protocols
        echo_websocket(req.accept_websocket(protocol=offered[0] if offered else None))
        return None
    if req.method in ("POST", "PUT"):
        # req.body is read as it arrives and the echo streams out as the router grants window:
        # memory stays bounded by the windows whatever the body size.
        length = req.header("content-length")
        headers = {"content-type": req.header("content-type", "application/octet-stream")}
        if length is not None:
            headers["content-length"] = length
        return Response(200, headers, req.body)
    return Response(200, {"content-type": "text/plain; charset=utf-8", "x-worker-runtime": "python"},
                    f"hello from python: {req.method} {req.path}\n")


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--connect", default="tcp://127.0.0.1:5555", help="router endpoint(s), comma-separated")
    cli.add_argument("--id", help="worker id (default hostname/pid/random)")
    cli.add_argument("--pool", default="default")
    cli.add_argument("--capacity", type=int, default=64)
    args = cli.parse_args()
    run_worker(handle, args.connect.split(","), worker_id=args.id, pool=args.pool, capacity=args.capacity)
