#!/usr/bin/python3
"""Test-only Python worker: the routes the interop test needs beyond worker.py's echo/hello.

    /boom     the handler raises                    → the router must get a 500, the worker stays up
    /forever  an endless streamed response          → lets the client go away mid-stream (RST cancel)
    /echo     the request body streamed back
    anything  "ok <path>"
  WebSocket (scheme ws/wss):
    /ws/boom  accepts, then the handler raises     → DATA close 1011
    /ws/bye   accepts, sends text "bye", closes 4000 "done"
    anything  worker.py's routes: /ws/echo echoes, other paths 501
"""

import itertools
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python-worker"))
from worker import handle as example_handle  # noqa: E402
from zp import Response, run_worker  # noqa: E402


def handle_websocket(req):
    if req.path == "/ws/boom":
        req.accept_websocket()
        raise RuntimeError("boom after the 101")
    if req.path == "/ws/bye":
        ws = req.accept_websocket()
        ws.send("bye")
        ws.close(4000, "done")
        for _ in ws:  # until the router's close arrives
            pass
        return None
    return example_handle(req)


def handle(req):
    if req.is_websocket:
        return handle_websocket(req)
    if req.path == "/boom":
        raise RuntimeError("boom on purpose")
    if req.path == "/echo":
        return Response(200, {"content-type": "application/octet-stream"}, req.body)
    if req.path == "/forever":
        # Each chunk waits for window, so an endless body costs one window of memory at most.
        return Response(200, {"content-type": "application/octet-stream"}, (b"x" * 16384 for _ in itertools.count()))
    return Response(200, {"content-type": "text/plain"}, f"ok {req.path}\n")


if __name__ == "__main__":
    run_worker(handle, sys.argv[1].split(","), worker_id=sys.argv[2], capacity=int(sys.argv[3]))
