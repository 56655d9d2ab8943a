#!/usr/bin/python3
"""Run the Python codec against every vector in proto/vectors/vectors.json (format: its README).

Valid pairs: decoding gives the stated message; canonical vectors: encoding the messages gives the
exact frames. Invalid input: decoding fails with the stated ZP_ERR_ code (and field / stream).
Prints one line per failure and a summary; exits 1 on any mismatch.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zp_codec import ProtocolError, decode_frames, encode_batch  # noqa: E402

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto", "vectors", "vectors.json")


def frame_bytes(spec):
    if isinstance(spec, dict):
        return bytes.fromhex(spec["fill"]) * spec["length"]
    return bytes.fromhex(spec)


def as_json(result):
    """A decode result in the vectors' JSON shape, so it compares with ==."""
    if isinstance(result, ProtocolError):
        err = {"code": result.code}
        if result.field is not None:
            err["field"] = result.field
        if result.stream is not None:
            err["stream"] = result.stream
        return {"error": err}
    msg = dict(result)
    if "body" in msg:
        msg["body"] = msg["body"].hex()
    return {"message": msg}


def from_json(message):
    msg = dict(message)
    if "body" in msg:
        msg["body"] = bytes.fromhex(msg["body"])
    return msg


def check(vector):
    """→ list of problems (empty when the vector passes)."""
    frames = [frame_bytes(f) for f in vector["frames"]]
    try:
        got = [as_json(r) for r in decode_frames(frames)]
    except ProtocolError as err:
        got = [as_json(err)]
    problems = []
    if got != vector["results"]:
        problems.append(f"decode: expected {json.dumps(vector['results'])[:300]} got {json.dumps(got)[:300]}")
    if vector.get("canonical"):
        messages = [from_json(r["message"]) for r in vector["results"]]
        encoded = encode_batch(messages)
        if encoded != frames:
            problems.append(f"encode: expected {[f.hex() for f in frames]} got {[f.hex() for f in encoded]}")
    return problems


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH
    with open(path) as f:
        doc = json.load(f)
    vectors = doc["vectors"]
    failed = 0
    canonical = 0
    for vector in vectors:
        canonical += bool(vector.get("canonical"))
        try:
            problems = check(vector)
        except Exception as err:  # a crash on a vector is a failure of that vector, not of the run
            problems = [f"crashed: {type(err).__name__}: {err}"]
        if problems:
            failed += 1
            for p in problems:
                print(f"FAIL {vector['name']}: {p}")
    print(f"{len(vectors) - failed}/{len(vectors)} vectors passed ({canonical} canonical, encode checked); {failed} failed")
    return 1 if failed or not vectors else 0


if __name__ == "__main__":
    sys.exit(main())
