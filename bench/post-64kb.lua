-- wrk script: every request is a POST of a 64 KB body to the path given in the URL.
-- The body matches ECHO_BODY_BYTES in payloads.ts.
wrk.method = "POST"
wrk.body = string.rep("p", 65536)
wrk.headers["Content-Type"] = "application/octet-stream"
