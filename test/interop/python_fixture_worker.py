#!/usr/bin/python3
"""Test-only Python worker: the routes the interop test needs beyond worker.py's echo/hello.

    /boom     the handler raises                    → the router must get a 500, the worker stays up
    /forever  an endless streamed response          → lets the client go away mid-stream (RST cancel)
    /echo     the request body streamed back
    anything  "ok <path>"
"""

import itertools
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python-worker"))
from zp import Response, run_worker  # noqa: E402


def handle(req):
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
