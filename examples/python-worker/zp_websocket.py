"""WebSocket streams (SPEC §7.7) for the Python ZP/1 worker: what a handler holds after
`req.accept_websocket()`, and the loop-side rules for DATA with an `op`.

The router terminates the WebSocket framing, so a worker sees whole messages carried by DATA whose
`op` is text/binary/ping/pong/close, fragmented with `fin` when larger than a frame. The handler's
thread blocks in `receive()` until a message arrives and in `send()` until the router grants window
(SPEC §7.4 applies to every op), exactly like an HTTP body. Closing needs no handler code: a close
from the router is answered by the loop at once, echoing the code, and `receive()` then returns None.
"""

import struct
import time

from zp_stream import StreamAborted

DEFAULT_MAX_MESSAGE = 1024 * 1024  # SPEC §10: the worker's incoming-message limit (close 1009 above it)
CONTROL_MAX = 125  # RFC 6455: ping/pong/close bodies
NO_SEND_CODES = (1005, 1006, 1015)  # RFC 6455 §7.4.1: never on the wire
CLOSE_TIMEOUT = 5.0  # SPEC §7.7: a close the router does not answer within this ends with RST cancel


class WebSocketUpgradeError(Exception):
    """accept_websocket() on a request that is not a WebSocket opening (scheme not ws/wss)."""


class WebSocketClosed(Exception):
    """send()/ping() after this side's close went out (or the stream was reset)."""


def sendable(code):
    return 1000 <= code <= 4999 and code not in NO_SEND_CODES


def close_payload(code, reason=""):
    """The close body: empty (no code), or 2-byte big-endian code + UTF-8 reason, ≤ 125 bytes."""
    if code is None:
        return b""
    if not sendable(code):
        raise ValueError(f"close code {code} may not be sent")
    body = struct.pack(">H", code) + reason.encode()
    if len(body) > CONTROL_MAX:
        raise ValueError("close reason longer than 123 bytes")
    return body


def parse_close(body):
    """→ (code, reason); (1005, "") for an empty body (RFC 6455: no status received)."""
    if len(body) < 2:
        return 1005, ""
    return struct.unpack(">H", body[:2])[0], body[2:].decode("utf-8", "replace")


class Message:
    """One received message: `data` is a str for text, bytes for binary."""

    __slots__ = ("data", "is_binary")

    def __init__(self, data, is_binary):
        self.data, self.is_binary = data, is_binary

    def __repr__(self):
        return f"Message({self.data!r:.60}, binary={self.is_binary})"


class WebSocket:
    """The handler's side of an accepted WebSocket stream. Thread-safe through the stream's `cond`.

    Fields under `cond`: inbox (complete messages the loop delivered), close_in (the router's close
    arrived), close_out (our close went out or is on its way). The loop sets them; so does close()."""

    def __init__(self, stream, protocol, max_message):
        self._st = stream
        self.protocol = protocol or ""
        self.max_message = max_message
        self.inbox = []
        self.close_in = self.close_out = False
        self.close_code, self.close_reason = None, ""
        # loop-only reassembly state of the message being received
        self.partial_op, self.partial, self.partial_size = None, [], 0

    # -- handler thread side
    def receive(self):
        """→ the next Message, or None once the router closed the stream (or it was reset)."""
        st = self._st
        with st.cond:
            while not self.inbox and not self.close_in and not st.aborted.is_set():
                st.cond.wait(1.0)
            if not self.inbox:
                return None
            msg, size = self.inbox.pop(0)
        st.session.worker.post(("consumed", st, size))  # SPEC §7.4: grant as the application reads
        return msg

    def __iter__(self):
        while True:
            msg = self.receive()
            if msg is None:
                return
            yield msg

    def send(self, data, binary=None):
        """str → text, bytes → binary (or force with `binary=`). Fragments by window and maxFrame."""
        if isinstance(data, Message):
            data, binary = data.data, data.is_binary
        if isinstance(data, str):
            data, op = data.encode(), "binary" if binary else "text"
        else:
            data, op = bytes(data), "text" if binary is False else "binary"
        self._send(op, data)

    def ping(self, data=b""):
        data = data.encode() if isinstance(data, str) else bytes(data)
        if len(data) > CONTROL_MAX:
            raise ValueError("ping body longer than 125 bytes")
        self._send("ping", data)

    def close(self, code=1000, reason=""):
        """Send our close (once); the stream ends when the router's close comes back."""
        payload = close_payload(code, reason)
        st = self._st
        with st.cond:
            if self.close_out or st.aborted.is_set():
                return
            self.close_out = True
            st.cond.notify_all()
        st.session.worker.post(("ws_close", st, payload))

    # -- internals
    def _send(self, op, data):
        st = self._st
        view = memoryview(data)
        while True:
            n = self._take_window(len(view)) if view else self._check_open()
            piece, view = bytes(view[:n]), view[n:]
            st.session.worker.post(("send", st, {"type": "DATA", "op": op, "fin": not view, "body": piece}))
            if not view:
                return

    def _check_open(self):
        with self._st.cond:
            self._raise_if_closed()
        return 0

    def _raise_if_closed(self):
        if self._st.aborted.is_set():
            raise StreamAborted(f"stream {self._st.id} reset")
        if self.close_out:
            raise WebSocketClosed("this side already sent close")

    def _take_window(self, want):
        st = self._st
        with st.cond:
            while st.send_window <= 0 and not st.aborted.is_set() and not self.close_out:
                st.cond.wait(1.0)
            self._raise_if_closed()
            n = min(want, st.send_window, st.max_frame)
            st.send_window -= n
            return n


# ---------------------------------------------------------------- loop side

def on_ws_data(worker, s, st, m):
    """A DATA on an accepted WebSocket stream (seq and window already checked and counted).

    → None, or the (code, message) of a protocol error the caller resets the stream with."""
    ws, op, body = st.ws, m.get("op"), m["body"]
    if op is None:
        return "DATA without op on a WebSocket stream"
    if ws.close_in:
        return "DATA after the router's close"
    if op in ("ping", "pong", "close"):
        if not m["fin"] or len(body) > CONTROL_MAX:
            return f"{op}: fin must be true and the body ≤ 125 bytes"
        if op == "close":
            if len(body) == 1:
                return "close body of 1 byte"
            on_close_in(worker, s, st, body)
        else:
            worker.grant(s, st, len(body))  # informational (SPEC §7.7 liveness): consumed at once
        return None
    if ws.partial_op is not None and op != ws.partial_op:
        return f"{op} DATA inside an unfinished {ws.partial_op} message"
    ws.partial_op = op
    ws.partial.append(body)
    ws.partial_size += len(body)
    if ws.partial_size > ws.max_message:
        send_close(worker, s, st, 1009, "message too big")  # SPEC §7.7: the SDK closes with 1009
        ws.partial_op, ws.partial, ws.partial_size = None, [], 0
        return None
    if not m["fin"]:
        # A fragment is held by the reassembly (bounded by max_message), not by the handler: grant it
        # now, or a message larger than the window could never complete.
        worker.grant(s, st, len(body))
        return None
    data = b"".join(ws.partial)
    size = len(body)  # earlier fragments were granted already
    ws.partial_op, ws.partial, ws.partial_size = None, [], 0
    if ws.close_out:
        worker.grant(s, st, size)  # we are closing: nobody will read it
        return None
    if op == "text":
        try:
            msg = Message(data.decode("utf-8"), False)
        except UnicodeDecodeError:
            return "text message is not valid UTF-8"
    else:
        msg = Message(data, True)
    with st.cond:
        ws.inbox.append((msg, size))
        st.cond.notify_all()
    return None


def on_close_in(worker, s, st, body):
    """The router's close (its client closed, or the router is going away): echo the code if we
    have not closed yet (SPEC §7.7), wake the handler, end the stream when both closes are out."""
    ws = st.ws
    code, reason = parse_close(body)
    with st.cond:
        ws.close_in, ws.close_code, ws.close_reason = True, code, reason
        st.cond.notify_all()
    st.close_in = True
    if not st.close_out:
        echo = code if body and sendable(code) else None
        send_close(worker, s, st, echo, "")
    worker.maybe_end(s, st)


def send_close(worker, s, st, code, reason, payload=None):
    """Send our DATA close from the loop (once). The payload needs window like any DATA; a close
    must not wait behind a stalled client, so without room it goes out empty (no code), which is
    0 bytes and always fits."""
    if st.close_out:
        return
    if payload is None:
        payload = close_payload(code, reason)
    with st.cond:
        if len(payload) > st.send_window:
            payload = b""
        st.send_window -= len(payload)
        st.ws.close_out = True
        st.cond.notify_all()
    s.send({"type": "DATA", "stream": st.id, "seq": st.seq_out, "fin": True, "body": payload, "op": "close"})
    st.seq_out = (st.seq_out + 1) % 2**32
    st.close_out = True
    if not st.close_in:
        s.closing[st.id] = (st, time.monotonic() + CLOSE_TIMEOUT)
    worker.maybe_end(s, st)


def expire_closes(worker, s, now):
    """RST cancel each stream whose close went unanswered for CLOSE_TIMEOUT (SPEC §7.7: bounded)."""
    for sid, (st, deadline) in list(s.closing.items()):
        if s.streams.get(sid) is not st or st.close_in or st.reset:
            del s.closing[sid]
        elif now >= deadline:
            del s.closing[sid]
            worker.reset(s, st, "cancel", "close handshake timed out")
