"""An S3 front that answers like S3 about bucket regions, placed before moto.

    python tests/py/s3_region_front.py --port P --upstream http://127.0.0.1:M \
        [--default-region us-east-1] [--bucket-region NAME=REGION ...] [--verbose]

moto keeps every bucket in one namespace and ignores the region a request is signed for. Real
S3 does not: a request signed (SigV4) for a region other than the bucket's is answered
`301 PermanentRedirect` with the bucket's region in `x-amz-bucket-region`, and the AWS SDKs for
Rust do not follow that redirect. This front forwards everything to moto unchanged except:

* an S3 request (SigV4 credential scope service `s3`, in the `Authorization` header or the
  `X-Amz-Credential` query parameter of a presigned URL) for a path-style bucket whose region
  differs from the signed region is answered 301 PermanentRedirect here, never forwarded.
  CreateBucket is exempt (it names its own region). A copy (`x-amz-copy-source`: CopyObject,
  UploadPartCopy) is checked against the destination bucket only; the source bucket may be in
  any region, as with S3;
* every answer about a bucket whose region is known carries `x-amz-bucket-region`;
* `GET /__front/stats` answers counters as JSON, `POST /__front/reset` zeroes them.

Bucket regions come from the CreateBucket requests passing through (recorded once moto accepted
them), from `--bucket-region`, or else from one unsigned `GET /<bucket>?location` to moto, cached.

Standard library only. One thread per client connection (HTTP/1.1 keep-alive, as the SDKs
reuse connections), each with its own persistent connection to the upstream.
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import re
import socket
import sys
import threading
import urllib.parse

# Headers that describe one connection, not the message: never relayed as they are.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    # The front answers `Expect: 100-continue` itself and forwards the whole body at once.
    "expect",
}

# `Credential=AKID/20261201/us-east-1/s3/aws4_request` in a SigV4 Authorization header.
AUTH_CREDENTIAL = re.compile(
    r"^AWS4-HMAC-SHA256\s.*?Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request"
)
# `<LocationConstraint>us-west-2</LocationConstraint>` (CreateBucket body, GetBucketLocation
# answer); `<LocationConstraint/>` or an empty element means the default region.
LOCATION = re.compile(rb"<LocationConstraint(?:\s[^>]*)?(?:/>|>([^<]*)</LocationConstraint>)")

# Query parameters that do not make a request a sub-resource request (the Rust SDK adds
# `x-id=<Operation>` to some requests).
NOT_SUBRESOURCE = {"x-id"}

REDIRECT_MESSAGE = (
    "The bucket you are attempting to access must be addressed using the specified endpoint. "
    "Please send all future requests to this endpoint."
)


class State:
    """What all connections share: the bucket regions and the counters, under one lock."""

    def __init__(self, default_region, preloaded):
        self.lock = threading.Lock()
        self.default_region = default_region
        self.regions = dict(preloaded)
        self.forwarded = 0
        self.redirected = 0
        self.redirects = {}

    def region(self, bucket):
        with self.lock:
            return self.regions.get(bucket)

    def learn(self, bucket, region, replace=False):
        with self.lock:
            if replace or bucket not in self.regions:
                self.regions[bucket] = region

    def forget(self, bucket):
        with self.lock:
            self.regions.pop(bucket, None)

    def count_forwarded(self):
        with self.lock:
            self.forwarded += 1

    def count_redirect(self, bucket):
        with self.lock:
            self.redirected += 1
            self.redirects[bucket] = self.redirects.get(bucket, 0) + 1

    def reset(self):
        with self.lock:
            self.forwarded = 0
            self.redirected = 0
            self.redirects = {}

    def stats(self):
        with self.lock:
            return {
                "forwarded": self.forwarded,
                "redirected": self.redirected,
                "redirects": dict(self.redirects),
                "regions": dict(self.regions),
            }


class UpstreamConnection(http.client.HTTPConnection):
    """A connection to the upstream with Nagle's algorithm off (small requests, no delays)."""

    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def signed_scope(headers, query):
    """The (region, service) of a SigV4 credential scope, or None for other requests."""
    m = AUTH_CREDENTIAL.match(headers.get("Authorization", "") or "")
    if m:
        return m.group(3), m.group(4)
    for value in query.get("X-Amz-Credential", []):
        parts = value.split("/")
        if len(parts) == 5 and parts[4] == "aws4_request":
            return parts[2], parts[3]
    return None


def request_id():
    """A request id shaped like S3's (16 upper-case hex digits)."""
    return os.urandom(8).hex().upper()


def host_id():
    """An extended request id (`x-amz-id-2`, `<HostId>`) shaped like S3's."""
    return base64.b64encode(os.urandom(48)).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered writes: status line, headers and a small body leave in one segment (flushed by
    # the base class after each request).
    wbufsize = -1

    # Set on the class by main().
    state = None
    upstream_host = "127.0.0.1"
    upstream_port = 80
    verbose = False

    # -- connection ---------------------------------------------------------------------------

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # This client connection's own persistent connection to the upstream.
        self.upstream = None

    def finish(self):
        try:
            super().finish()
        finally:
            if self.upstream is not None:
                self.upstream.close()

    def handle_expect_100(self):
        # The reply is buffered: send the interim `100 Continue` now, or the client never
        # sends the body it announced.
        ok = super().handle_expect_100()
        self.wfile.flush()
        return ok

    def log_message(self, format, *args):
        if self.verbose:
            sys.stderr.write("s3_region_front: %s\n" % (format % args))

    # -- request handling ---------------------------------------------------------------------

    def do_any(self):
        try:
            body = self.read_body()
        except (ConnectionError, ValueError) as e:
            # Truncated or malformed framing: the connection cannot be kept in step.
            self.close_connection = True
            self.log_message('"%s" dropped: %s', self.requestline, e)
            return
        path, _, raw_query = self.path.partition("?")
        if path in ("/__front/stats", "/__front/reset"):
            return self.control(path)

        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        bucket, key = self.bucket_and_key(path)
        subresources = [q for q in query if q not in NOT_SUBRESOURCE]
        bucket_request = bool(bucket) and not key and not subresources
        is_create = (
            self.command == "PUT"
            and bucket_request
            and "x-amz-copy-source" not in self.headers
        )
        is_delete = self.command == "DELETE" and bucket_request

        # The region check: S3 requests signed for a region, on a bucket, CreateBucket aside.
        # A copy is checked against the path's (destination) bucket only, like any request.
        scope = signed_scope(self.headers, query)
        if bucket and scope and scope[1] == "s3" and not is_create:
            bucket_region = self.bucket_region(bucket)
            if bucket_region is not None and bucket_region != scope[0]:
                return self.redirect(bucket, bucket_region, scope[0])

        try:
            status, reason, headers, data = self.forward(self.command, self.path, body)
        except (OSError, http.client.HTTPException) as e:
            msg = f"upstream unreachable: {e}\n".encode()
            self.reply(502, "Bad Gateway", [("Content-Type", "text/plain")], msg)
            self.log_message('"%s" 502 (upstream: %s)', self.requestline, e)
            return
        self.state.count_forwarded()

        known = self.state.region(bucket) if bucket else None
        if 200 <= status < 300:
            if is_create:
                # Recorded only once the upstream created it; a re-create keeps the region.
                self.state.learn(bucket, self.create_region(body))
                known = self.state.region(bucket)
            elif is_delete:
                self.state.forget(bucket)
        if known is not None and not any(k.lower() == "x-amz-bucket-region" for k, _ in headers):
            headers.append(("x-amz-bucket-region", known))
        self.reply(status, reason, headers, data)
        self.log_message('"%s" %d forwarded', self.requestline, status)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = do_PATCH = do_any

    def read_body(self):
        """The request body, read off the connection whatever its framing (the connection is
        kept alive, so it must be consumed even when the request is not forwarded)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("connection closed inside a chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    break
                parts.append(self.read_exactly(size))
                self.rfile.readline(65537)  # the CRLF closing the chunk
            # Trailer fields, if any, up to the empty line ending the message.
            while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.read_exactly(length) if length else b""

    def read_exactly(self, n):
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError("connection closed inside a request body")
        return data

    @staticmethod
    def bucket_and_key(path):
        """(bucket, key) of a path-style request path; ("", "") for `/` (ListBuckets)."""
        if not path.startswith("/"):
            return "", ""
        bucket, _, key = path[1:].partition("/")
        return urllib.parse.unquote(bucket), key

    def create_region(self, body):
        """The region a CreateBucket body asks for (none or empty: the default region)."""
        m = LOCATION.search(body)
        region = m.group(1).decode("utf-8", "replace").strip() if m and m.group(1) else ""
        return region or self.state.default_region

    def bucket_region(self, bucket):
        """The bucket's region: known, or asked of the upstream once (None when unknown)."""
        region = self.state.region(bucket)
        if region is not None:
            return region
        try:
            status, _, _, data = self.forward(
                "GET",
                "/%s?location" % urllib.parse.quote(bucket, safe=""),
                b"",
                headers=[("Host", "%s:%d" % (self.upstream_host, self.upstream_port))],
            )
        except (OSError, http.client.HTTPException):
            return None
        if status != 200:
            return None  # 404 NoSuchBucket and the like: not known, not cached
        m = LOCATION.search(data)
        region = m.group(1).decode("utf-8", "replace").strip() if m and m.group(1) else ""
        self.state.learn(bucket, region or self.state.default_region)
        return self.state.region(bucket)

    # -- upstream -----------------------------------------------------------------------------

    def forward(self, method, target, body, headers=None):
        """Sends one request upstream on this thread's persistent connection; returns (status,
        reason, [(header, value)], body). A reused connection that turns out to be closed is
        reopened once."""
        if headers is None:
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
            chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
            if chunked:
                # The body was decoded from its chunked framing: it now has a length.
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
        for attempt in (1, 2):
            if self.upstream is None:
                self.upstream = UpstreamConnection(
                    self.upstream_host, self.upstream_port, timeout=600
                )
            conn = self.upstream
            reused = conn.sock is not None
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                data = resp.read()
                out = (resp.status, resp.reason, resp.getheaders(), data)
                if resp.will_close:
                    conn.close()
                return out[0], out[1], list(out[2]), out[3]
            except (OSError, http.client.HTTPException):
                conn.close()
                if not reused or attempt == 2:
                    raise

    # -- answers ------------------------------------------------------------------------------

    def reply(self, status, reason, headers, body):
        """Writes one answer: the given headers (connection-level ones excepted) and body.
        HEAD, 1xx, 204 and 304 answers carry no body; their Content-Length is kept as given."""
        bodyless = self.command == "HEAD" or status < 200 or status in (204, 304)
        self.send_response_only(status, reason)
        for k, v in headers:
            lk = k.lower()
            if lk in HOP_BY_HOP or (lk == "content-length" and not bodyless):
                continue
            self.send_header(k, v)
        if not bodyless:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not bodyless and body:
            self.wfile.write(body)

    def redirect(self, bucket, bucket_region, signed_region):
        """301 PermanentRedirect, as S3 answers a request signed for the wrong region."""
        rid, hid = request_id(), host_id()
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            "<Error><Code>PermanentRedirect</Code>"
            f"<Message>{REDIRECT_MESSAGE}</Message>"
            f"<Endpoint>s3.{bucket_region}.amazonaws.com</Endpoint>"
            f"<Bucket>{bucket}</Bucket><RequestId>{rid}</RequestId>"
            f"<HostId>{hid}</HostId></Error>"
        ).encode()
        headers = [
            ("x-amz-bucket-region", bucket_region),
            ("x-amz-request-id", rid),
            ("x-amz-id-2", hid),
            ("Content-Type", "application/xml"),
            ("Date", self.date_time_string()),
            ("Server", "AmazonS3"),
        ]
        if self.command == "HEAD":
            headers.append(("Content-Length", "0"))
        self.state.count_redirect(bucket)
        self.reply(301, "Moved Permanently", headers, body)
        self.log_message(
            '"%s" 301 redirected (bucket %s is in %s, signed for %s)',
            self.requestline,
            bucket,
            bucket_region,
            signed_region,
        )

    def control(self, path):
        """The test endpoints: counters (GET /__front/stats) and their reset (POST reset)."""
        if path == "/__front/stats" and self.command in ("GET", "HEAD"):
            pass
        elif path == "/__front/reset" and self.command == "POST":
            self.state.reset()
        else:
            body = b'{"error": "method not allowed"}'
            headers = [("Content-Type", "application/json")]
            return self.reply(405, "Method Not Allowed", headers, body)
        body = json.dumps(self.state.stats()).encode()
        self.reply(200, "OK", [("Content-Type", "application/json")], body)
        self.log_message('"%s" 200 control', self.requestline)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that goes away mid-request is routine; say so only when asked to.
        if Handler.verbose:
            super().handle_error(request, client_address)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--upstream", required=True, help="http://HOST:PORT of moto")
    p.add_argument(
        "--default-region",
        default="us-east-1",
        help="region of a bucket created without a LocationConstraint (S3: us-east-1)",
    )
    p.add_argument(
        "--bucket-region",
        action="append",
        default=[],
        metavar="NAME=REGION",
        help="a bucket's region, known in advance (repeatable)",
    )
    p.add_argument("--verbose", action="store_true", help="one line per request on stderr")
    args = p.parse_args(argv)

    up = urllib.parse.urlsplit(args.upstream)
    if up.scheme != "http" or not up.hostname:
        p.error("--upstream must be http://HOST:PORT")
    preloaded = {}
    for item in args.bucket_region:
        name, sep, region = item.partition("=")
        if not sep or not name or not region:
            p.error(f"--bucket-region {item!r}: expected NAME=REGION")
        preloaded[name] = region

    Handler.state = State(args.default_region, preloaded)
    Handler.upstream_host = up.hostname
    Handler.upstream_port = up.port or 80
    Handler.verbose = args.verbose
    server = Server((args.host, args.port), Handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
