"""The AWS Lambda Runtime API on loopback, so a function binary runs as Lambda would run it.

    python tests/py/lambda_runtime_api.py --port P [--function-arn ARN] [--timeout-ms 60000]

Start the function binary with `AWS_LAMBDA_RUNTIME_API=127.0.0.1:P` (and the other variables
Lambda sets: AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
AWS_LAMBDA_FUNCTION_VERSION, ...); it polls this server for events exactly as it polls Lambda.

The Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

* `GET  /2018-06-01/runtime/invocation/next` waits for an invocation, then answers the event
  with `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
  `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id`;
* `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error` complete it (202;
  an id that is not in flight: 400, as Lambda answers);
* `POST /2018-06-01/runtime/init/error` records an initialisation error (202): every pending
  and later invocation completes with it.

Test control (not part of Lambda):

* `POST /_test/invoke[?timeout_ms=N]`, the event as body: queues an invocation and waits for its
  outcome, answered as JSON `{"outcome": "response" | "error" | "init_error", "body": ...,
  "request_id": "..."}` (`body` is the posted body, parsed when it is JSON; an error also
  carries `error_type`, the `Lambda-Runtime-Function-Error-Type` header). No outcome within
  `timeout_ms` (default 120000): 504 with outcome `timeout`;
* `GET /_test/state`: counts of invocations queued, in flight and completed, whether the
  function has polled `/next` yet, and the init error if one was recorded.

Standard library only; one thread per connection, HTTP/1.1 keep-alive (the runtime client keeps
its connection and long-polls `/next` on it). Silent unless `--verbose`.
"""

import argparse
import collections
import http.server
import json
import os
import re
import select
import socket
import sys
import threading
import time
import urllib.parse
import uuid

PREFIX = "/2018-06-01/runtime"
INVOCATION = re.compile(r"^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$")


def parse_body(data):
    """A posted body as JSON when it is JSON, else as text."""
    text = data.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def trace_id():
    """An X-Ray trace header, as Lambda passes it: `Root=1-<time>-<id>;Parent=<id>;Sampled=0`."""
    root = "1-%08x-%s" % (int(time.time()), os.urandom(12).hex())
    return "Root=%s;Parent=%s;Sampled=0" % (root, os.urandom(8).hex())


class Invocation:
    def __init__(self, event):
        self.id = str(uuid.uuid4())
        self.event = event
        self.done = threading.Event()
        self.result = None  # the answer of /_test/invoke, once completed


class State:
    """Invocations and their lifecycle: queued -> in flight -> completed, under one condition."""

    def __init__(self):
        self.cond = threading.Condition()
        self.queue = collections.deque()  # invocations not yet handed to the function
        self.in_flight = {}  # id -> invocation handed out by /next, not yet completed
        self.completed = 0
        self.polled = False
        self.init_error = None  # the /_test/invoke answer every invocation gets after one

    def enqueue(self, inv):
        with self.cond:
            if self.init_error is not None:
                self._complete(inv, dict(self.init_error))
                return
            self.queue.append(inv)
            self.cond.notify_all()

    def next(self, gone):
        """The next queued invocation, moved in flight; waits for one. None if `gone()` says
        the caller went away meanwhile."""
        with self.cond:
            self.polled = True
            while not self.queue:
                self.cond.wait(timeout=0.5)
                if not self.queue and gone():
                    return None
            inv = self.queue.popleft()
            self.in_flight[inv.id] = inv
            return inv

    def give_back(self, inv):
        """An invocation /next could not deliver goes back to the front of the queue."""
        with self.cond:
            if self.in_flight.pop(inv.id, None) is not None:
                self.queue.appendleft(inv)
                self.cond.notify_all()

    def finish(self, request_id, result):
        """Completes an in-flight invocation; False if no invocation with this id is in flight."""
        with self.cond:
            inv = self.in_flight.pop(request_id, None)
            if inv is None:
                return False
            self._complete(inv, result)
            return True

    def record_init_error(self, result):
        with self.cond:
            self.init_error = result
            pending = list(self.queue) + list(self.in_flight.values())
            self.queue.clear()
            self.in_flight.clear()
            for inv in pending:
                self._complete(inv, dict(result))

    def abandon(self, inv):
        """The invoker stopped waiting: a still-queued invocation is withdrawn (an in-flight one
        completes whenever the function answers, and its answer is dropped)."""
        with self.cond:
            try:
                self.queue.remove(inv)
            except ValueError:
                pass

    def _complete(self, inv, result):
        result["request_id"] = inv.id
        inv.result = result
        self.completed += 1
        inv.done.set()

    def snapshot(self):
        with self.cond:
            return {
                "queued": len(self.queue),
                "in_flight": len(self.in_flight),
                "completed": self.completed,
                "polled": self.polled,
                "init_error": None if self.init_error is None else self.init_error["body"],
            }


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered writes: status line, headers and body leave together (flushed after each request).
    wbufsize = -1

    # Set on the class by main().
    state = None
    function_arn = ""
    timeout_ms = 60000
    verbose = False

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_expect_100(self):
        ok = super().handle_expect_100()
        self.wfile.flush()  # the interim answer cannot wait in the buffer
        return ok

    def log_message(self, format, *args):
        if self.verbose:
            sys.stderr.write("lambda_runtime_api: %s\n" % (format % args))

    # -- plumbing -----------------------------------------------------------------------------

    def read_body(self):
        """The request body, with Content-Length or chunked framing (streamed responses are
        chunked and may end with trailers, returned too)."""
        trailers = {}
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("connection closed inside a chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            while True:
                line = self.rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                trailers[name.strip().lower()] = value.strip()
            return b"".join(parts), trailers
        length = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(length) if length else b""), trailers

    def reply(self, status, body, headers=(), content_type="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def client_gone(self):
        """True once the peer has closed its side (checked while /next waits)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    # -- routes -------------------------------------------------------------------------------

    def do_GET(self):
        path, _, _ = self.path.partition("?")
        if path == PREFIX + "/invocation/next":
            return self.next_invocation()
        if path == "/_test/state":
            return self.reply(200, self.state.snapshot())
        self.reply(404, {"errorMessage": "unknown path %s" % path, "errorType": "NotFound"})

    def do_POST(self):
        try:
            body, trailers = self.read_body()
        except (ConnectionError, ValueError):
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        m = INVOCATION.match(path)
        if m:
            return self.complete(m.group(1), m.group(2), body, trailers)
        if path == PREFIX + "/init/error":
            self.state.record_init_error(
                {
                    "outcome": "init_error",
                    "body": parse_body(body),
                    "error_type": self.headers.get("Lambda-Runtime-Function-Error-Type"),
                }
            )
            return self.reply(202, {"status": "OK"})
        if path == "/_test/invoke":
            return self.invoke(body, urllib.parse.parse_qs(query))
        self.reply(404, {"errorMessage": "unknown path %s" % path, "errorType": "NotFound"})

    def next_invocation(self):
        inv = self.state.next(self.client_gone)
        if inv is None:
            self.close_connection = True  # the function went away while waiting
            return
        deadline = int(time.time() * 1000) + self.timeout_ms
        try:
            self.reply(
                200,
                inv.event,
                headers=[
                    ("Lambda-Runtime-Aws-Request-Id", inv.id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn),
                    ("Lambda-Runtime-Trace-Id", trace_id()),
                ],
            )
            self.wfile.flush()
        except OSError:
            self.state.give_back(inv)
            raise
        self.log_message("invocation %s handed to the function", inv.id)

    def complete(self, request_id, kind, body, trailers):
        streamed = (self.headers.get("Lambda-Runtime-Function-Response-Mode") or "") == "streaming"
        if streamed:
            # A streamed response starts with a JSON prelude and eight NUL bytes.
            _, sep, rest = body.partition(b"\0" * 8)
            body = rest if sep else body
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
        if streamed and "lambda-runtime-function-error-type" in trailers:
            kind, error_type = "error", trailers["lambda-runtime-function-error-type"]
        result = {"outcome": kind, "body": parse_body(body)}
        if kind == "error":
            result["error_type"] = error_type
        if not self.state.finish(request_id, result):
            return self.reply(
                400,
                {
                    "errorMessage": "Invalid request ID: %s is not in flight" % request_id,
                    "errorType": "InvalidRequestID",
                },
            )
        self.log_message("invocation %s completed: %s", request_id, kind)
        self.reply(202, {"status": "OK"})

    def invoke(self, event, query):
        try:
            wait_ms = int((query.get("timeout_ms") or ["120000"])[0])
        except ValueError:
            return self.reply(400, {"errorMessage": "timeout_ms must be an integer"})
        inv = Invocation(event)
        self.state.enqueue(inv)
        if not inv.done.wait(wait_ms / 1000):
            self.state.abandon(inv)
            if not inv.done.is_set():
                return self.reply(
                    504,
                    {
                        "outcome": "timeout",
                        "body": "no outcome within %d ms" % wait_ms,
                        "request_id": inv.id,
                    },
                )
        self.reply(200, inv.result)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        if Handler.verbose:
            super().handle_error(request, client_address)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--function-arn",
        default="arn:aws:lambda:us-east-1:123456789012:function:%s"
        % os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function"),
    )
    p.add_argument(
        "--timeout-ms",
        type=int,
        default=60000,
        help="function timeout: each invocation's deadline is now + this",
    )
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)

    Handler.state = State()
    Handler.function_arn = args.function_arn
    Handler.timeout_ms = args.timeout_ms
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
