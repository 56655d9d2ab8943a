"""ZP/1 codec: the frame layout of proto/SPEC.md §3–§4 and the decode checks of §8.1.

Written from the SPEC alone. A message is a plain dict shaped like the vectors' JSON
(`{"type": "DATA", "stream": 1, "seq": 0, "fin": True, "body": b"..."}`); REQ, DATA and RES
carry `body` (bytes), other types have none. Decoding never raises anything but ProtocolError.
"""

import msgpack

SIGNATURE = "ZP"
VERSION = 1
SUPPORTED_VERSIONS = (1,)

MAX_PAIRS = 1024
MAX_HEADER_FRAME = 65536
MAX_BODY_FRAME = 1048576
MAX_ARRAY = 1040
MAX_MAP = 256
MAX_DEPTH = 32
U32 = 2**32 - 1
WINDOW_MAX = 2**31 - 1

RST_CODES = ("cancel", "refused", "timeout", "flow_control", "protocol", "peer_restart", "internal")
ERROR_CODES = ("unknown_peer", "version", "protocol", "auth", "overloaded", "internal")
WS_OPS = ("text", "binary", "ping", "pong", "close")  # SPEC §7.7: DATA.op on ws/wss streams

# Field kinds: ("int", lo, hi) | ("str", lo_bytes, hi_bytes) | ("bool",) | ("enum", values)
#              | ("versions",) | ("headers",) | ("meta",).  Order is the wire order (SPEC §4.1).
STREAM = ("stream", ("int", 1, U32))
SEQ = ("seq", ("int", 0, U32))
FIELDS = {
    "HELLO": [("nonce", ("int", 0, U32)), ("workerId", ("str", 1, 255)), ("epoch", ("str", 1, 255)),
              ("versions", ("versions",)), ("pool", ("str", 1, 255)), ("capacity", ("int", 0, 1000000)),
              ("window", ("int", 1, WINDOW_MAX)), ("meta", ("meta",))],
    "WELCOME": [("nonce", ("int", 0, U32)), ("routerId", ("str", 1, 255)), ("epoch", ("str", 1, 255)),
                ("version", ("int", 1, 65535)), ("heartbeatMs", ("int", 10, 3600000)),
                ("window", ("int", 1, WINDOW_MAX)), ("maxFrame", ("int", 1024, MAX_BODY_FRAME))],
    "CREDIT": [("credit", ("int", -1000000, 1000000))],
    "HEARTBEAT": [("epoch", ("str", 1, 255))],
    "DRAIN": [("lastStream", ("int", 0, U32))],
    "BYE": [("reason", ("str", 0, 1024))],
    "REQ": [STREAM, SEQ, ("method", ("str", 1, 64)), ("scheme", ("str", 1, 16)),
            ("authority", ("str", 0, 1024)), ("path", ("str", 1, 65536)), ("headers", ("headers",)),
            ("remote", ("str", 0, 128)), ("requestId", ("str", 0, 200)),
            ("timeoutMs", ("int", 0, U32)), ("fin", ("bool",))],
    "DATA": [STREAM, SEQ, ("fin", ("bool",))],
    "RES": [STREAM, SEQ, ("status", ("int", 100, 999)), ("headers", ("headers",)), ("fin", ("bool",))],
    "WINDOW": [STREAM, SEQ, ("increment", ("int", 1, WINDOW_MAX))],
    "RST": [STREAM, ("code", ("enum", RST_CODES)), ("message", ("str", 0, 1024))],
    "ERROR": [("code", ("enum", ERROR_CODES)), ("message", ("str", 0, 1024))],
}
# Optional trailing fields: decoded (and checked) only when the header is long enough, encoded only
# when the message has them. DATA.op is present exactly on WebSocket streams (SPEC §4.1, §7.7).
OPTIONAL_FIELDS = {"DATA": [("op", ("enum", WS_OPS))]}
TYPE_CODES = {name: code for code, name in enumerate(
    ["HELLO", "WELCOME", "CREDIT", "HEARTBEAT", "DRAIN", "BYE", "REQ", "DATA", "RES", "WINDOW", "RST", "ERROR"], 1)}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}
BODY_TYPES = ("REQ", "DATA", "RES")


class ProtocolError(Exception):
    """A typed decode error (SPEC §8.1). `stream` is set when a valid stream id was read first."""

    def __init__(self, code, detail="", field=None, stream=None, msg_type=None):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.field, self.stream, self.msg_type = code, field, stream, msg_type


# ---------------------------------------------------------------- encoding

def encode(msg):
    """One message → [header frame, body frame] (canonical: shortest integers, str not bin)."""
    kind = msg["type"]
    header = [SIGNATURE, msg.get("version", VERSION), TYPE_CODES[kind]]
    header += [msg[name] for name, _ in FIELDS[kind]]
    for name, _ in OPTIONAL_FIELDS.get(kind, ()):
        if msg.get(name) is None:
            break  # trailing fields are positional: stop at the first one absent
        header.append(msg[name])
    body = msg.get("body", b"") if kind in BODY_TYPES else b""
    return [msgpack.packb(header, use_bin_type=True), bytes(body)]


def encode_batch(msgs):
    """Messages → the frames of one ZeroMQ message (caller keeps ≤ MAX_PAIRS per message)."""
    frames = []
    for m in msgs:
        frames += encode(m)
    return frames


# ---------------------------------------------------------------- decoding

def decode_frames(frames, supported=SUPPORTED_VERSIONS):
    """Frames after the routing envelope → a list with one dict or ProtocolError per pair.

    Raises ProtocolError(ZP_ERR_FRAME_COUNT) when the message must be dropped whole (SPEC §3)."""
    n = len(frames)
    if n == 0 or n % 2 or n > 2 * MAX_PAIRS:
        raise ProtocolError("ZP_ERR_FRAME_COUNT", f"{n} frames")
    out = []
    for i in range(0, n, 2):
        try:
            out.append(decode_pair(bytes(frames[i]), bytes(frames[i + 1]), supported))
        except ProtocolError as err:
            out.append(err)
    return out


def decode_pair(header_frame, body, supported=SUPPORTED_VERSIONS):
    """One (header, body) pair → message dict, checked in the order of SPEC §8.1 steps 2–11."""
    if len(header_frame) > MAX_HEADER_FRAME:
        raise ProtocolError("ZP_ERR_HEADER_TOO_LARGE", f"{len(header_frame)} bytes")
    header = _unpack_strict(header_frame)
    if not isinstance(header, list) or len(header) < 3:
        raise ProtocolError("ZP_ERR_HEADER_SHAPE", "not an array of 3 or more")
    if header[0] != SIGNATURE:
        raise ProtocolError("ZP_ERR_SIGNATURE", repr(header[0])[:40])
    version, code = header[1], header[2]
    if not _is_int(code) or not _is_int(version) or version < 1:
        raise ProtocolError("ZP_ERR_HEADER_SHAPE", "bad version or type")
    if version not in supported and code != TYPE_CODES["HELLO"]:
        raise ProtocolError("ZP_ERR_VERSION", f"version {version}")
    kind = TYPE_NAMES.get(code)
    if kind is None:
        raise ProtocolError("ZP_ERR_UNKNOWN_TYPE", f"type {code}")
    msg = {"type": kind}
    stream = None
    for index, (name, spec) in enumerate(FIELDS[kind], 3):
        if index >= len(header):
            raise ProtocolError("ZP_ERR_FIELD", f"{kind}.{name} missing", name, stream, kind)
        value = header[index]
        if not _field_ok(value, spec):
            raise ProtocolError("ZP_ERR_FIELD", f"{kind}.{name} invalid", name, stream, kind)
        msg[name] = value
        if name == "stream":
            stream = value
    for index, (name, spec) in enumerate(OPTIONAL_FIELDS.get(kind, ()), len(FIELDS[kind]) + 3):
        if index >= len(header):
            break
        if not _field_ok(header[index], spec):
            raise ProtocolError("ZP_ERR_FIELD", f"{kind}.{name} invalid", name, stream, kind)
        msg[name] = header[index]
    if len(body) > MAX_BODY_FRAME:
        raise ProtocolError("ZP_ERR_BODY_TOO_LARGE", f"{len(body)} bytes", None, stream, kind)
    if kind in BODY_TYPES:
        msg["body"] = body
    elif body:
        raise ProtocolError("ZP_ERR_UNEXPECTED_BODY", f"{kind} with {len(body)} body bytes", None, stream, kind)
    return msg


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _str_ok(v, lo, hi):
    return isinstance(v, str) and lo <= len(v.encode("utf-8", "surrogatepass")) <= hi


def _field_ok(v, spec):
    kind = spec[0]
    if kind == "int":
        return _is_int(v) and spec[1] <= v <= spec[2]
    if kind == "str":
        return _str_ok(v, spec[1], spec[2])
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "enum":
        return isinstance(v, str) and v in spec[1]
    if kind == "versions":
        return isinstance(v, list) and 1 <= len(v) <= 16 and all(_is_int(x) and 1 <= x <= 65535 for x in v)
    if kind == "headers":
        return isinstance(v, list) and len(v) % 2 == 0 and len(v) <= 1024 and all(isinstance(x, str) for x in v)
    if kind == "meta":
        return isinstance(v, dict) and len(v) <= MAX_MAP and all(isinstance(x, str) for x in v.values())
    return False


def _unpack_strict(data):
    """Exactly one msgpack object within the SPEC §3 rules, else ZP_ERR_MSGPACK."""
    try:
        obj = msgpack.unpackb(data, raw=False, unicode_errors="replace", strict_map_key=True,
                              max_array_len=MAX_ARRAY, max_map_len=MAX_MAP, max_ext_len=0,
                              use_list=True, timestamp=0)
    except Exception as err:  # msgpack raises several unrelated types; all mean "not valid msgpack"
        raise ProtocolError("ZP_ERR_MSGPACK", type(err).__name__) from None
    _check_tree(obj, 1)
    return obj


def _check_tree(obj, depth):
    if isinstance(obj, (list, dict)) and depth > MAX_DEPTH:
        raise ProtocolError("ZP_ERR_MSGPACK", "nested too deep")
    if isinstance(obj, list):
        for item in obj:
            _check_tree(item, depth + 1)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str) or key == "__proto__":
                raise ProtocolError("ZP_ERR_MSGPACK", "map key must be a str")
            _check_tree(value, depth + 1)
    elif not (obj is None or isinstance(obj, (bool, int, float, str, bytes))):
        raise ProtocolError("ZP_ERR_MSGPACK", f"{type(obj).__name__} not allowed")  # ext / timestamp
