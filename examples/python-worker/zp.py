"""A ZP/1 worker in Python, written from proto/SPEC.md alone: the session (this file), the codec
(zp_codec.py) and the per-request objects (zp_stream.py).

    from zp import Response, run_worker
    run_worker(lambda req: Response(200, {"content-type": "text/plain"}, "hi\\n"), connect=[...])

One thread (the session loop) owns the ZeroMQ socket: handshake, heartbeats, credit, windows, RST,
drain. Each request runs its handler in its own thread; the handler reads the request body
(`req.body.read()` or iterate it) and returns a Response whose body is bytes, str or an iterable
of bytes. Handler threads never touch the socket: they post to the loop through a queue and wake
it through a pipe, and they block on per-stream windows, so memory per stream stays ≤ one window
in each direction (SPEC §7.4).
"""

import json
import os
import queue
import random
import secrets
import signal
import socket
import sys
import threading
import time

import zmq

from zp_codec import MAX_PAIRS, WINDOW_MAX, ProtocolError, decode_frames, encode, encode_batch  # noqa: F401 (re-exported)
from zp_stream import Body, Request, Response, Stream, StreamAborted  # noqa: F401 (Response: the handler API)
from zp_websocket import WebSocketClosed, WebSocketUpgradeError, expire_closes, on_ws_data, send_close  # noqa: F401

HELLO_BACKOFF_START = 0.1  # SPEC §5.2: 100 ms, doubling, at most 5 s
HELLO_BACKOFF_MAX = 5.0
LIVENESS = 1.5  # SPEC §5.3: a router silent for 1.5 intervals has lost this connection: reconnect
SEND_TIMEOUT_MS = 2000  # a router that never drains its pipe must not stall the loop forever


def log(level, msg, **fields):
    """pino-style JSON line on stdout (level numbers as pino: 30 info, 40 warn, 50 error)."""
    line = {"level": {"debug": 20, "info": 30, "warn": 40, "error": 50}[level], "time": int(time.time() * 1000),
            "msg": msg, **fields}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


class Session:
    """One router–worker session (SPEC §5): a HELLO loop, then registered until dead/BYE/restart."""

    def __init__(self, worker, endpoint):
        self.worker, self.endpoint, self.name = worker, endpoint, endpoint.encode()
        self.streams = {}
        self.outbox = []
        self.sock = None
        self.open_connection()
        self.new_hello_loop(now=time.monotonic())

    def open_connection(self):
        """SPEC §2: one socket per connection, with a fresh random routing id (a secret, never the
        workerId and never logged); a connection the router stopped answering is replaced."""
        if self.sock is not None:
            self.worker.poller.unregister(self.sock)
            self.sock.close(linger=0)
        sock = self.worker.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.ROUTING_ID, secrets.token_urlsafe(18).encode())
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        # Not ZMQ_IMMEDIATE (SPEC §2): with it libzmq creates the pipe only after the handshake and
        # the connect routing id (our name for the router) is lost, so sends never reach the router.
        # Messages queued while a router is down may reach its next process; it answers them with
        # ERROR unknown_peer, which an unregistered session ignores (SPEC §5.4).
        sock.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
        sock.setsockopt(zmq.LINGER, 1000)
        sock.setsockopt(zmq.CONNECT_ROUTING_ID, self.name)
        sock.connect(self.endpoint)
        self.worker.poller.register(sock, zmq.POLLIN)
        self.sock = sock

    def new_hello_loop(self, now, backoff=HELLO_BACKOFF_START):
        for st in self.streams.values():  # SPEC §5.5 step 3: abort, send nothing more, no credit back
            st.abort()
        self.streams = {}
        self.closing = {}  # stream id → (stream, deadline): our WebSocket close awaits the router's
        self.registered, self.nonce = False, random.randrange(2**32)
        self.router_epoch, self.heartbeat, self.credit_owed, self.last_stream = None, None, 0, 0
        self.response_window, self.max_frame = 0, 0
        self.backoff, self.next_hello = backoff, now
        self.drain_sent = self.bye_sent = False
        self.last_sent = self.last_heard = now

    def send(self, msg):
        self.outbox.append(msg)


class Worker:
    def __init__(self, handler, connect, worker_id=None, pool="default", capacity=64, window=262144,
                 drain_timeout=30.0, meta=None):
        self.handler, self.pool, self.capacity, self.window = handler, pool, capacity, window
        self.id = worker_id or f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"
        self.epoch = secrets.token_urlsafe(9)  # SPEC §5.3: random per process start
        self.meta = {"runtime": f"python {sys.version.split()[0]}", **(meta or {})}
        self.drain_timeout = drain_timeout
        self.events = queue.Queue()  # handler threads → loop
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.ctx = zmq.Context()
        self.poller = zmq.Poller()
        self.poller.register(self.wake_r, zmq.POLLIN)
        self.sessions = {}
        for endpoint in connect:
            self.sessions[endpoint.encode()] = Session(self, endpoint)
        self.stopping = None  # monotonic deadline once SIGTERM/SIGINT arrived
        self.stop_requested = False
        self.warnings = {}  # rate-limit key → (suppressed count, last logged); keys: one per router + 1

    # ---------------------------------------------------------------- thread-safe entry points
    def post(self, event):
        self.events.put(event)
        try:
            os.write(self.wake_w, b"x")
        except BlockingIOError:
            pass  # the pipe is full, so the loop is awake anyway

    def stop(self, *_):
        """Signal handler: only a flag and a pipe write, both safe to do at any point of the loop."""
        self.stop_requested = True
        try:
            os.write(self.wake_w, b"s")
        except BlockingIOError:
            pass

    # ---------------------------------------------------------------- the loop
    def run(self):
        while True:
            now = time.monotonic()
            timeout = max(0, min(self.next_timer(now) - now, 1.0))
            ready = dict(self.poller.poll(timeout * 1000))
            for s in list(self.sessions.values()):
                if s.sock in ready:
                    self.read_socket(s)
            if self.wake_r in ready:
                try:
                    os.read(self.wake_r, 4096)
                except BlockingIOError:
                    pass
            self.handle_events()
            if self.stop_requested and self.stopping is None:
                self.begin_drain()
            now = time.monotonic()
            for s in self.sessions.values():
                self.tick(s, now)
            self.flush()
            if self.stopping is not None and self.drained(now):
                break
        for s in self.sessions.values():
            s.sock.close()
        self.ctx.term()

    def next_timer(self, now):
        t = now + 1.0
        for s in self.sessions.values():
            if s.registered:
                t = min(t, s.last_sent + s.heartbeat, s.last_heard + LIVENESS * s.heartbeat)
            else:
                t = min(t, s.next_hello)
        return t

    def read_socket(self, s):
        sock = s.sock
        for _ in range(1000):  # bounded, so handler events and timers get their turn
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if frames[0] != s.name:
                self.warn_limited("unknown router", "message from unknown router",
                                  router=frames[0][:64].decode(errors="replace"))
                continue
            try:
                results = decode_frames(frames[1:])
            except ProtocolError as err:
                self.warn_limited(s.endpoint, "dropped message", router=s.endpoint, code=err.code, error=str(err))
                continue
            s.last_heard = time.monotonic()
            for r in results:
                if isinstance(r, ProtocolError):
                    self.on_decode_error(s, r)
                else:
                    self.on_message(s, r)

    def on_decode_error(self, s, err):
        self.warn_limited(s.endpoint, "decode error", router=s.endpoint, code=err.code, field=err.field, error=str(err))
        st = s.streams.get(err.stream) if s.registered and err.stream is not None else None
        if st is not None:  # SPEC §8.1: a readable stream id → reset it (RST is never answered with RST)
            self.reset(s, st, "protocol", err.code, send=err.msg_type != "RST")

    def warn_limited(self, key, msg, **fields):
        """SPEC §8.1: count every bad input, log at most once per second per peer."""
        count, last = self.warnings.get(key, (0, 0.0))
        now = time.monotonic()
        if now - last >= 1.0:
            log("warn", msg, suppressed=count, **fields)
            self.warnings[key] = (0, now)
        else:
            self.warnings[key] = (count + 1, last)

    def on_message(self, s, m):
        kind = m["type"]
        if not s.registered:  # SPEC §5.4: only WELCOME/ERROR answering our HELLO loop count
            if kind == "WELCOME" and m["nonce"] == s.nonce:
                self.on_welcome(s, m)
            elif kind == "ERROR":
                self.on_error(s, m)
            return
        if kind == "WELCOME":
            if m["nonce"] == s.nonce and m["epoch"] != s.router_epoch:
                self.router_lost(s, "router restarted (new epoch in WELCOME)")
        elif kind == "HEARTBEAT":
            if m["epoch"] != s.router_epoch:
                self.router_lost(s, "router restarted (new epoch in HEARTBEAT)")
        elif kind == "ERROR":
            self.on_error(s, m)
        elif kind == "BYE":
            self.router_lost(s, f"router said BYE: {m['reason']}")
        elif kind == "REQ":
            self.on_req(s, m)
        elif kind in ("DATA", "WINDOW", "RST"):
            st = s.streams.get(m["stream"])
            if st is None:
                if kind == "DATA":  # SPEC §7.5: one RST cancel; WINDOW/RST for unknown streams are ignored
                    s.send({"type": "RST", "stream": m["stream"], "code": "cancel", "message": "unknown stream"})
            elif kind == "RST":
                log("info", "stream reset", stream=st.id, code=m["code"], requestId=st.request_id)
                self.reset(s, st, m["code"], m["message"], send=False)
            elif m["seq"] != st.seq_in:  # SPEC §7.2: a gap means a lost message
                self.reset(s, st, "protocol", f"seq {m['seq']}, expected {st.seq_in}")
            else:
                st.seq_in = (st.seq_in + 1) % 2**32
                (self.on_data if kind == "DATA" else self.on_window)(s, st, m)
        else:
            self.warn_limited(s.endpoint, "message in the wrong direction", router=s.endpoint, type=kind)

    def on_welcome(self, s, m):
        if m["version"] != 1:
            self.on_error(s, {"code": "version", "message": f"WELCOME picked version {m['version']}"})
            return
        now = time.monotonic()
        s.registered, s.router_epoch = True, m["epoch"]
        s.heartbeat, s.response_window, s.max_frame = m["heartbeatMs"] / 1000, m["window"], m["maxFrame"]
        s.last_heard = s.last_sent = now
        log("info", "worker registered", router=s.endpoint, workerId=self.id, routerId=m["routerId"])

    def on_error(self, s, m):
        self.warn_limited(s.endpoint, "router error", router=s.endpoint, code=m["code"], message=m["message"])
        if m["code"] == "unknown_peer" and s.registered:  # unregistered: it answers a stale message, not our HELLO
            self.router_lost(s, "router does not know us")
        elif m["code"] in ("version", "auth", "overloaded") and not s.registered:
            s.backoff = HELLO_BACKOFF_MAX  # SPEC §5.1: keep trying at the maximum backoff

    def router_lost(self, s, why):
        log("warn", "router session lost", router=s.endpoint, reason=why, streams=len(s.streams))
        s.new_hello_loop(time.monotonic())
        s.outbox = []

    def on_req(self, s, m):
        if m["seq"] != 0 or m["stream"] in s.streams:
            old = s.streams.get(m["stream"])
            if old is not None:
                self.reset(s, old, "protocol", "duplicate stream id")
            else:
                s.send({"type": "RST", "stream": m["stream"], "code": "protocol", "message": "REQ seq must be 0"})
            return
        if self.stopping is not None or len(s.streams) >= self.capacity:
            s.send({"type": "RST", "stream": m["stream"], "code": "refused", "message": "no free slot"})
            s.credit_owed += 1  # SPEC §6.1: a refused REQ returns its credit like any other stream
            return
        st = Stream(s, m)
        body = m["body"]
        if len(body) > st.recv_left:
            s.send({"type": "RST", "stream": st.id, "code": "flow_control", "message": "REQ body over window"})
            s.credit_owed += 1
            return
        st.recv_left -= len(body)
        if body:
            st.chunks.append(body)
        s.streams[st.id] = st
        s.last_stream = max(s.last_stream, st.id)
        threading.Thread(target=self.run_handler, args=(st, Request(m, Body(st), st.aborted, st)), daemon=True).start()

    def on_data(self, s, st, m):
        if (st.fin_in and not st.ws_open) or (m.get("op") is not None and not st.ws_open):
            self.reset(s, st, "protocol", "DATA after fin" if st.fin_in else "DATA with op on an HTTP stream")
            return
        body = m["body"]
        if len(body) > st.recv_left:  # SPEC §7.4 and §7.7: every op counts against the window
            self.reset(s, st, "flow_control", f"{len(body)} bytes over a window of {st.recv_left}")
            return
        st.recv_left -= len(body)
        if st.ws_open:
            problem = on_ws_data(self, s, st, m)
            if problem:
                self.reset(s, st, "protocol", problem)
            return
        with st.cond:
            if body:
                st.chunks.append(body)
            if m["fin"]:
                st.fin_in = True
            st.cond.notify_all()
        if m["fin"]:
            self.maybe_end(s, st)

    def on_window(self, s, st, m):
        with st.cond:
            st.send_window += m["increment"]
            overflow = st.send_window > WINDOW_MAX
            st.cond.notify_all()
        if overflow:
            self.reset(s, st, "flow_control", "window above 2^31-1")

    # ---------------------------------------------------------------- handler threads
    def run_handler(self, st, req):
        try:
            resp = self.handler(req)
            if st.ws is None:
                self.send_response(st, resp)
            # else: an accepted WebSocket; "done" closes it with 1000 if the handler left it open
        except (StreamAborted, WebSocketClosed):
            pass
        except Exception as err:  # a failing handler fails its request, never the worker
            self.post(("failed", st, f"{type(err).__name__}: {err}"))
        finally:
            self.post(("done", st))

    def send_response(self, st, resp):
        if not isinstance(resp, Response) or not isinstance(resp.status, int) or not 100 <= resp.status <= 999:
            raise TypeError(f"handler must return a Response with a status 100..999, not {resp!r:.80}")
        if resp.status == 101:
            raise TypeError("answer a WebSocket with req.accept_websocket(), not Response(101)")
        headers = resp.headers.items() if isinstance(resp.headers, dict) else resp.headers
        head = {"type": "RES", "status": resp.status, "headers": [x for k, v in headers for x in (k.lower(), str(v))]}
        body = resp.body
        if isinstance(body, str):
            body = body.encode()
        chunks = iter([body] if isinstance(body, (bytes, bytearray, memoryview)) else body)
        pending = next((c for c in chunks if c), None)
        if pending is None:
            self.post(("send", st, {**head, "fin": True, "body": b""}))
            return
        while pending is not None:
            following = next((c for c in chunks if c), None)
            view = memoryview(pending)
            while view:
                n = st.take_window(len(view))
                last = following is None and n == len(view)
                piece = bytes(view[:n])
                view = view[n:]
                if head is not None:
                    self.post(("send", st, {**head, "fin": last, "body": piece}))
                    head = None
                else:
                    self.post(("send", st, {"type": "DATA", "fin": last, "body": piece}))
            pending = following

    def handle_events(self):
        for _ in range(100000):
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                return
            kind, st = ev[0], ev[1]
            s = st.session
            if s.streams.get(st.id) is not st:
                continue  # the stream is gone (router lost, or ended): drop what the thread still says
            if st.reset and kind != "done":
                continue  # reset: only the thread's exit matters now (it frees the slot)
            if kind == "send":
                if st.close_out:
                    continue  # SPEC §7.7: nothing after our close (the loop may have closed first)
                msg = {**ev[2], "stream": st.id, "seq": st.seq_out}
                st.seq_out = (st.seq_out + 1) % 2**32
                st.res_sent = True
                s.send(msg)
                if msg["type"] == "RES" and msg["status"] == 101:
                    st.ws_open = True  # from now on DATA carry an op both ways
                elif msg.get("op") is not None:
                    pass  # fin ends a WebSocket message, not the stream (close does)
                elif msg["fin"]:
                    st.fin_out = True
                    if not st.fin_in:  # SPEC §7.3: response done, stop the router sending unread body
                        self.reset(s, st, "cancel", "response complete")
                    else:
                        self.maybe_end(s, st)
            elif kind == "consumed":
                self.grant(s, st, ev[2])
            elif kind == "ws_close":
                send_close(self, s, st, None, None, payload=ev[2])
            elif kind == "failed":
                log("error", "handler failed", stream=st.id, requestId=st.request_id, error=ev[2])
                if not st.res_sent:  # SPEC §7.6: before RES → 500, after → RST internal
                    self.post_500(s, st)
                elif st.ws_open:  # a WebSocket ends with a close frame the client can read
                    send_close(self, s, st, 1011, "handler failed")
                elif not st.fin_out:
                    self.reset(s, st, "internal", "handler failed")
            elif kind == "done":
                st.thread_done = True
                if st.ws_open:
                    if not st.reset:
                        send_close(self, s, st, 1000, "")  # no-op when already closed
                elif not st.fin_out and not st.reset:
                    self.reset(s, st, "internal", "handler ended without a response")
                self.maybe_end(s, st)

    def post_500(self, s, st):
        s.send({"type": "RES", "stream": st.id, "seq": st.seq_out, "status": 500,
                "headers": ["content-type", "text/plain"], "fin": True, "body": b"handler failed\n"})
        st.seq_out = (st.seq_out + 1) % 2**32
        st.res_sent = st.fin_out = True
        if not st.fin_in:
            self.reset(s, st, "cancel", "response complete")

    def grant(self, s, st, n):
        st.unacked += n
        if st.close_in or (st.fin_in and not st.ws_open):
            return  # the whole body has arrived (or the router closed its side): no more window needed
        if st.unacked >= max(1, self.window // 4):  # SPEC §7.4: no tiny increments
            s.send({"type": "WINDOW", "stream": st.id, "seq": st.seq_out, "increment": st.unacked})
            st.seq_out = (st.seq_out + 1) % 2**32
            st.recv_left += st.unacked
            st.unacked = 0

    def reset(self, s, st, code, message, send=True):
        if send:
            s.send({"type": "RST", "stream": st.id, "code": code, "message": str(message)[:1024]})
        st.reset = True
        st.abort()
        self.maybe_end(s, st)

    def maybe_end(self, s, st):
        """SPEC §6.1: a stream ends when both directions finished or an RST went either way; its
        slot (credit) comes back once the handler thread has also let go of it."""
        finished = (st.close_in and st.close_out) if st.ws_open else (st.fin_in and st.fin_out)  # SPEC §7.7
        if (st.reset or finished) and st.thread_done and s.streams.get(st.id) is st:
            del s.streams[st.id]
            s.credit_owed += 1

    # ---------------------------------------------------------------- timers, drain, sending
    def tick(self, s, now):
        if not s.registered:
            if now >= s.next_hello and self.stopping is None:
                s.send({"type": "HELLO", "nonce": s.nonce, "workerId": self.id, "epoch": self.epoch, "versions": [1],
                        "pool": self.pool, "capacity": self.capacity, "window": self.window, "meta": self.meta})
                s.next_hello = now + s.backoff
                s.backoff = min(s.backoff * 2, HELLO_BACKOFF_MAX)
            return
        if now - s.last_heard >= LIVENESS * s.heartbeat:
            # SPEC §5.3: if the router no longer reads this connection, nothing sent on it reaches
            # the router again: a new connection with a new routing id always gets through.
            self.router_lost(s, "router silent for 1.5 heartbeat intervals")
            s.open_connection()
            return
        if s.closing:
            expire_closes(self, s, now)
        if s.credit_owed and not s.drain_sent:
            s.send({"type": "CREDIT", "credit": s.credit_owed})
            s.credit_owed = 0
        if not s.outbox and now - s.last_sent >= s.heartbeat:
            s.send({"type": "HEARTBEAT", "epoch": self.epoch})

    def begin_drain(self):
        self.stopping = time.monotonic() + self.drain_timeout
        log("info", "worker draining", workerId=self.id)
        for s in self.sessions.values():
            if s.registered:
                s.send({"type": "DRAIN", "lastStream": s.last_stream})
                s.drain_sent = True
                for st in list(s.streams.values()):  # SPEC §7.7: clients reconnect elsewhere at once
                    if st.ws_open and not st.reset:
                        send_close(self, s, st, 1001, "worker draining")

    def drained(self, now):
        """Once stopping: BYE each session whose streams are done (or at the drain deadline)."""
        done = True
        for s in self.sessions.values():
            if not s.registered or s.bye_sent:
                continue
            if s.streams and now < self.stopping:
                done = False
                continue
            for st in list(s.streams.values()):
                self.reset(s, st, "cancel", "drain timeout")
            s.send({"type": "BYE", "reason": "drained"})
            s.bye_sent = True
            self.flush()
        if done:
            log("info", "worker stopped", workerId=self.id)
        return done

    def flush(self):
        for s in self.sessions.values():
            if not s.outbox:
                continue
            batch, s.outbox = s.outbox, []
            for i in range(0, len(batch), MAX_PAIRS):
                try:
                    s.sock.send_multipart([s.name] + encode_batch(batch[i:i + MAX_PAIRS]))
                    s.last_sent = time.monotonic()
                except zmq.ZMQError as err:
                    if s.registered:  # SPEC §5.3: a failed send to a registered router means it is gone
                        self.router_lost(s, f"send failed: {err.strerror}")
                    break  # before WELCOME, EHOSTUNREACH is normal: the HELLO loop retries


def run_worker(handler, connect, **options):
    """Serve `handler` until SIGTERM/SIGINT, then DRAIN, finish in-flight streams, BYE, return."""
    worker = Worker(handler, connect, **options)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    log("info", "worker starting", workerId=worker.id, connect=list(connect), pool=worker.pool,
        capacity=worker.capacity)
    worker.run()
