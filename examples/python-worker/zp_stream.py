"""Per-request objects of the Python ZP/1 worker: what a handler sees (Request, Body) and returns
(Response), and the stream state shared between the session loop and the handler's thread.

A handler thread blocks in `take_body` until request bytes arrive and in `take_window` until the
router grants response window (SPEC §7.4), so each stream holds at most one window per direction.
"""

import threading


class StreamAborted(Exception):
    """The stream was reset (RST from the router, router gone, drain timeout)."""


class Response:
    def __init__(self, status=200, headers=None, body=b""):
        self.status = status
        self.headers = headers or {}
        self.body = body


class Request:
    """What a handler sees. `headers` is a list of (name, value), names lower-case."""

    def __init__(self, msg, body, aborted, stream=None):
        self._st = stream
        self.method, self.scheme, self.authority = msg["method"], msg["scheme"], msg["authority"]
        self.path, self.remote, self.request_id = msg["path"], msg["remote"], msg["requestId"]
        h = msg["headers"]
        self.headers = list(zip(h[0::2], h[1::2]))
        self.body = body
        self.aborted = aborted  # threading.Event, set when the stream is reset

    def header(self, name, default=None):
        name = name.lower()
        return next((v for k, v in self.headers if k == name), default)

    @property
    def is_websocket(self):
        """A WebSocket opening (SPEC §7.7): accept it, or answer with a Response (501 if unsupported)."""
        return self.scheme in ("ws", "wss")

    @property
    def websocket_protocols(self):
        """The subprotocols the client offered (sec-websocket-protocol), in its order."""
        offered = ",".join(v for k, v in self.headers if k == "sec-websocket-protocol")
        return [p.strip() for p in offered.split(",") if p.strip()]

    def accept_websocket(self, protocol=None, headers=None, max_message_bytes=None):
        """Send RES 101 and → a WebSocket (zp_websocket.py). The handler then runs the session and
        returns None; returning closes the WebSocket with 1000 if it is still open."""
        from zp_websocket import DEFAULT_MAX_MESSAGE, WebSocket, WebSocketUpgradeError

        st = self._st
        if not self.is_websocket or st is None:
            raise WebSocketUpgradeError(f"not a WebSocket request (scheme {self.scheme})")
        if st.ws is not None:
            raise WebSocketUpgradeError("already accepted")
        if protocol and protocol not in self.websocket_protocols:
            raise ValueError(f"subprotocol {protocol!r} was not offered by the client")  # the router would 502
        pairs = list(headers.items() if isinstance(headers, dict) else headers or [])
        fields = [x for k, v in pairs for x in (k.lower(), str(v))]
        if protocol:
            fields += ["sec-websocket-protocol", protocol]
        st.ws = WebSocket(st, protocol, max_message_bytes or DEFAULT_MAX_MESSAGE)
        st.session.worker.post(("send", st, {"type": "RES", "status": 101, "headers": fields, "fin": False, "body": b""}))
        return st.ws


class Body:
    """The request body as the handler reads it; reading grants the router more window."""

    def __init__(self, stream):
        self._st = stream

    def read(self, n=-1):
        chunks = []
        while n != 0:
            chunk = self._st.take_body(n)
            if not chunk:
                break
            chunks.append(chunk)
            n = n - len(chunk) if n > 0 else n
        return b"".join(chunks)

    def __iter__(self):
        while True:
            chunk = self._st.take_body(-1)
            if not chunk:
                return
            yield chunk


class Stream:
    """Per-request state. Fields marked (loop) are touched only by the session loop; the rest are
    shared with the handler thread under `cond`."""

    def __init__(self, session, msg):
        self.session, self.id, self.request_id = session, msg["stream"], msg["requestId"]
        self.cond = threading.Condition()
        self.aborted = threading.Event()
        self.chunks, self.fin_in = [], msg["fin"]  # request body not yet read by the handler
        self.send_window = session.response_window  # response-body bytes we may still send
        self.recv_left = session.worker.window  # (loop) request-body bytes the router may still send
        self.unacked = 0  # (loop) bytes the handler consumed but we have not granted back yet
        self.seq_in, self.seq_out = 1, 0  # (loop) REQ was seq 0
        self.res_sent = self.fin_out = self.reset = self.thread_done = False  # (loop)
        self.ws = None  # the WebSocket, once the handler accepted (set by the handler thread before the 101)
        self.ws_open = self.close_in = self.close_out = False  # (loop) 101 sent; DATA close received / sent
        self.max_frame = session.max_frame

    # -- handler thread side
    def take_body(self, n):
        with self.cond:
            while not self.chunks and not self.fin_in and not self.aborted.is_set():
                self.cond.wait(1.0)
            if self.aborted.is_set():
                raise StreamAborted(f"stream {self.id} reset")
            if not self.chunks:
                return b""
            chunk = self.chunks.pop(0)
            if 0 < n < len(chunk):
                chunk, rest = chunk[:n], chunk[n:]
                self.chunks.insert(0, rest)
        self.session.worker.post(("consumed", self, len(chunk)))
        return chunk

    def take_window(self, want):
        """Block until the router lets us send; → how many of `want` bytes we may send now."""
        with self.cond:
            while self.send_window <= 0 and not self.aborted.is_set():
                self.cond.wait(1.0)
            if self.aborted.is_set():
                raise StreamAborted(f"stream {self.id} reset")
            n = min(want, self.send_window, self.max_frame)
            self.send_window -= n
            return n

    # -- loop side
    def abort(self):
        with self.cond:
            self.aborted.set()
            self.cond.notify_all()
