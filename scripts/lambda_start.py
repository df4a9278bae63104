"""Measures the Lambda functions as Lambda would start them, on this machine: each function's
zipped size, its cold start (from process start until it asks the runtime API for its first
event), and the detector's memory and batch times while it evaluates events of many
principals.

The functions run as local processes against a stub of Lambda's runtime API (the
`2018-06-01` interface: `invocation/next`, `response`, `error`), with the local endpoint's
queues and tables (the environment `scripts/local-aws start` writes to .local/env).

    python scripts/lambda_start.py BINARIES_DIR [--principals N] [--starts N]

Prints one JSON object (the figures) on stdout; scripts/bench turns it into table rows.
"""

import argparse
import datetime
import http.server
import io
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile

FUNCTIONS = ["ingest", "detector", "collector", "publisher", "query"]
# What each function needs besides .local/env to start.
EXTRA_ENVIRONMENT = {"publisher": {"ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:trailwatch-alerts"}}
MEMORY_MB = 128
NEXT = "/2018-06-01/runtime/invocation/next"


class RuntimeApi(http.server.ThreadingHTTPServer):
    """Lambda's runtime API, as much of it as a function's loop uses: hands out queued
    invocations and collects their answers."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.invocations = queue.Queue()
        self.answers = queue.Queue()
        self.first_next = threading.Event()
        self.first_next_at = None
        self.lock = threading.Lock()

    def handle_error(self, request, client_address):
        # A killed function's `next`, still waiting, ends with its connection reset: expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"

    def reset(self):
        """Ready for a new process. Requests of killed ones may still wait for work: they
        wait on the old queue, so they never take the new process's invocations."""
        with self.lock:
            self.first_next = threading.Event()
            self.first_next_at = None
            self.invocations = queue.Queue()

    def invoke(self, payload):
        """Queues an invocation; returns its request id."""
        request_id = str(uuid.uuid4())
        self.invocations.put((request_id, json.dumps(payload).encode()))
        return request_id


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != NEXT:
            return self.answer(404, b"{}")
        with self.server.lock:
            if not self.server.first_next.is_set():
                self.server.first_next_at = time.perf_counter()
                self.server.first_next.set()
            invocations = self.server.invocations
        request_id, body = invocations.get()
        deadline = int((time.time() + 900) * 1000)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:trailwatch-bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.end_headers()
        self.wfile.write(body)
        self.server.answers.put(("served", request_id, time.perf_counter(), None))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        parts = self.path.split("/")
        # /2018-06-01/runtime/invocation/{id}/response or /error; /2018-06-01/runtime/init/error
        kind = parts[-1]
        request_id = parts[-2] if len(parts) >= 6 else None
        self.server.answers.put((kind, request_id, time.perf_counter(), body))
        self.answer(202, b"{}")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def environment(api, function):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_LAMBDA_")}
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": f"trailwatch-{function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/trailwatch-{function}",
        "RUST_LOG": "warn",
    })
    env.update(EXTRA_ENVIRONMENT.get(function, {}))
    return env


def zipped_size(binary):
    """The deployment package: the binary as `bootstrap`, deflated as `sam build` zips it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.write(binary, "bootstrap")
    return len(buffer.getvalue())


def cold_starts(api, binary, function, starts):
    """Milliseconds from process start to the first `invocation/next`, `starts` times."""
    times = []
    for _ in range(starts):
        api.reset()
        started = time.perf_counter()
        process = subprocess.Popen([binary], env=environment(api, function),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        asked = api.first_next.wait(timeout=10)
        process.kill()
        _, errors = process.communicate()
        if not asked:
            sys.exit(f"{function} never asked for an event: {errors.decode(errors='replace')[-2000:]}")
        times.append((api.first_next_at - started) * 1000)
    return times


def record(principal, n, at):
    role = f"bench-role-{principal:05d}"
    return {
        "eventVersion": "1.08", "eventID": str(uuid.uuid4()), "eventTime": at,
        "eventSource": "ec2.amazonaws.com" if n % 2 == 0 else "s3.amazonaws.com",
        "eventName": "DescribeInstances" if n % 2 == 0 else "ListBuckets",
        "eventType": "AwsApiCall", "readOnly": True, "managementEvent": True,
        "eventCategory": "Management", "awsRegion": "us-east-1",
        "sourceIPAddress": f"10.{principal % 200}.{n % 250}.{principal % 250}",
        "userAgent": f"aws-sdk-go/1.{principal % 50}.0",
        "recipientAccountId": "111122223333",
        "requestParameters": None, "responseElements": None,
        "userIdentity": {
            "type": "AssumedRole", "accountId": "111122223333",
            "principalId": f"AROA{principal:016d}:session",
            "arn": f"arn:aws:sts::111122223333:assumed-role/{role}/session",
            "sessionContext": {"sessionIssuer": {
                "type": "Role", "arn": f"arn:aws:iam::111122223333:role/{role}", "userName": role}},
        },
    }


def sqs_event(batch):
    """An SQS batch as Lambda's poller hands it over, each message packed with records."""
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "bench", "body": json.dumps({"Records": records}),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "bench",
                       "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trailwatch-EventsQueue",
        "awsRegion": "us-east-1",
    } for records in batch]}


def detector_under_load(api, binary, principals, per_principal, per_message, per_batch):
    """Runs the detector over every principal's events in batches of packed messages; returns
    its peak resident memory and the batch handling times."""
    now = datetime.datetime.now(datetime.timezone.utc)
    events = []
    for n in range(per_principal):
        for principal in range(principals):
            at = (now - datetime.timedelta(seconds=3600 - n * 60)).strftime("%Y-%m-%dT%H:%M:%SZ")
            events.append(record(principal, n, at))
    messages = [events[i:i + per_message] for i in range(0, len(events), per_message)]
    batches = [messages[i:i + per_batch] for i in range(0, len(messages), per_batch)]

    api.reset()
    process = subprocess.Popen([binary], env=environment(api, "detector"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    durations, failed = [], 0
    try:
        for batch in batches:
            request_id = api.invoke(sqs_event(batch))
            served = None
            while True:
                kind, answered, at, body = api.answers.get(timeout=3600)
                if answered != request_id:
                    continue
                if kind == "served":
                    served = at
                    continue
                if kind != "response":
                    sys.exit(f"the detector failed a batch: {body[:2000]!r}")
                failed += len(json.loads(body).get("batchItemFailures", []))
                durations.append((at - served) * 1000)
                print(f"lambda_start: detector batch {len(durations)}/{len(batches)} in "
                      f"{durations[-1] / 1000:.1f} s", file=sys.stderr)
                break
        with open(f"/proc/{process.pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status)
        peak_kb = int(fields["VmHWM"].split()[0])
        rss_kb = int(fields["VmRSS"].split()[0])
        with open(f"/proc/{process.pid}/stat") as stat:
            # utime and stime, in clock ticks: the 14th and 15th fields, after the name's ")".
            ticks = stat.read().rsplit(")", 1)[1].split()
        cpu_seconds = (int(ticks[11]) + int(ticks[12])) / os.sysconf("SC_CLK_TCK")
    finally:
        process.kill()
        process.communicate()
    return {"events": len(events), "principals": principals, "batches": len(batches),
            "messages_per_batch": per_batch, "events_per_message": per_message,
            "failed_messages": failed, "peak_rss_bytes": peak_kb * 1024, "rss_bytes": rss_kb * 1024,
            "batch_ms": durations, "cpu_seconds": cpu_seconds}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries")
    parser.add_argument("--principals", type=int, default=10000)
    parser.add_argument("--per-principal", type=int, default=2)
    parser.add_argument("--starts", type=int, default=20)
    args = parser.parse_args()

    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    figures = {"memory_mb": MEMORY_MB, "functions": {}}
    for function in FUNCTIONS:
        binary = os.path.join(args.binaries, function)
        starts = cold_starts(api, binary, function, args.starts)
        figures["functions"][function] = {
            "binary_bytes": os.path.getsize(binary), "zip_bytes": zipped_size(binary),
            "init_ms_median": statistics.median(starts), "init_ms_max": max(starts),
        }
    figures["detector"] = detector_under_load(api, os.path.join(args.binaries, "detector"),
                                              args.principals, args.per_principal, 100, 10)
    api.shutdown()
    json.dump(figures, sys.stdout)
    print()


if __name__ == "__main__":
    main()
