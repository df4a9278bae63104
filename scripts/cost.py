"""What a million CloudTrail events cost trailwatch, measured on the deployed stack.

Deploys template.yaml to LocalStack with Lambda (as scripts/stack_test.py does) and replays
the same simulated account's CloudTrail records through each way in, one after the other:

  (a) EventBridge: the records as `AWS API Call via CloudTrail` events on the default bus,
      read-only calls included; the rule puts each on the queue as a message of its own;
  (b) the ingest API: POSTed to the ingest function, COST_PER_REQUEST events a request;
  (c) the S3 collector: gzipped delivery files of COST_PER_FILE records put in the trail's
      bucket, as CloudTrail writes them.

Each path's records get event ids of their own, so no path finds another's work done. After
each path has drained, the functions' own `usage` log lines (every invocation logs the
DynamoDB capacity units DynamoDB said it consumed, the SQS requests in 64 KiB units, and its
handler time) are read back from CloudWatch Logs, and the requests the script itself made
(API requests, EventBridge events, S3 objects) are counted. PRICES turns them into dollars.

Prints one JSON object: per path, the counts and dollars per million events. COST_PATHS
picks the ways in ("a c"), COST_PARAMETERS sets template parameters ("DetectorBatchSize=10").
"""

import datetime
import gzip
import json
import math
import os
import re
import sys
import time
import uuid

from stack_test import cfn, client, deploy, post_to_function_url, remove, s3, sqs, template_parameters

logs = client("logs")
events = client("events")

EVENTS = int(os.environ.get("COST_EVENTS", "5000"))
PER_REQUEST = int(os.environ.get("COST_PER_REQUEST", "500"))
PER_FILE = int(os.environ.get("COST_PER_FILE", "500"))
RECORDS = os.environ.get("COST_RECORDS")  # a simulated account: {"Records": [...]} or [...]
PARAMETERS = template_parameters("COST_PARAMETERS")
# Which ways in to replay (default all): "a b c".
ONLY = os.environ.get("COST_PATHS", "a b c").split()

# us-east-1 list prices, from the AWS pricing pages as this project read them on 2026-12-01
# (on-demand, past any free tier; Lambda on arm64 as the template deploys it).
PRICES = {
    "as_of": "2026-12-01",
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000133334,
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KiB of payload
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand read request unit
    "api_request": 1.00 / 1e6,  # HTTP API, per request of up to 512 KB
    "eventbridge_aws_event": 0.0,  # AWS service events on the default bus
    "s3_get": 0.0004 / 1000,
    "logs_gb": 0.50,  # CloudWatch Logs ingestion
}
USAGE_FIELDS = ("handler_ms", "dynamodb_read_units", "dynamodb_write_units", "dynamodb_requests",
                "sqs_requests", "sqs_billed_requests", "polled_messages")


def load_records():
    with open(RECORDS) as f:
        data = json.load(f)
    records = data["Records"] if isinstance(data, dict) else data
    if len(records) < EVENTS:
        sys.exit(f"{RECORDS} holds {len(records)} records; COST_EVENTS is {EVENTS}")
    return records[:EVENTS]


def fresh(records, path):
    """The records with event ids of this path's own, timed as if they happened in the
    last hours (the ingest window and the baselines take them as recent)."""
    last = max(record["eventTime"] for record in records)
    shift = datetime.datetime.now(datetime.timezone.utc) - parse_time(last)
    out = []
    for record in records:
        record = dict(record, eventID=f"{path}-{uuid.uuid4()}")
        record["eventTime"] = (parse_time(record["eventTime"]) + shift).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(record)
    return out


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def functions(state):
    """Logical id -> the deployed function's name."""
    resources = cfn.describe_stack_resources(StackName=state["stack"])["StackResources"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources
            if r["ResourceType"] == "AWS::Lambda::Function"}


def memory_mb(name):
    return client("lambda").get_function_configuration(FunctionName=name)["MemorySize"]


def queue_depth(url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return sum(int(attributes[name]) for name in
               ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed"))


def drained(state, started, timeout=1800):
    """Waits until the queues are empty and stayed empty a while; returns the seconds taken."""
    queues = [state["out"]["EventsQueueUrl"], state["out"].get("TrailObjectsQueueUrl")]
    quiet_since = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(queue_depth(url) == 0 for url in queues if url):
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 6:
                return quiet_since - started
        else:
            quiet_since = None
        time.sleep(1)
    sys.exit("the queues did not drain")


def usage_lines(group, start_ms, end_ms):
    """The `usage` records a function logged in the window, and the bytes it logged."""
    lines, logged_bytes, token = [], 0, None
    while True:
        page = logs.filter_log_events(logGroupName=group, startTime=start_ms, endTime=end_ms,
                                      **({"nextToken": token} if token else {}))
        for event in page["events"]:
            # CloudWatch Logs bills each event's bytes plus 26 of its own.
            logged_bytes += len(event["message"].encode()) + 26
            fields = usage_fields(event["message"])
            if fields is not None:
                lines.append({name: float(fields.get(name, 0)) for name in USAGE_FIELDS})
        token = page.get("nextToken")
        if not token:
            return lines, logged_bytes


def usage_fields(message):
    """The fields of a `usage` line, logged as JSON (the template's LogFormat) or as text."""
    try:
        record = json.loads(message)
        fields = record.get("fields", record) if isinstance(record, dict) else {}
        return fields if fields.get("message") == "usage" else None
    except ValueError:
        if not re.search(r"\busage\b", message) or "handler_ms=" not in message:
            return None
        return dict(re.findall(r"(\w+)=([0-9.]+)", message))


def tally(state, start, end):
    """Per function: invocations, the sums of the usage fields, GB-seconds, logged bytes."""
    out = {}
    for logical, name in functions(state).items():
        group = f"/aws/lambda/{name}"
        try:
            lines, logged = usage_lines(group, int(start * 1000), int(end * 1000) + 60_000)
        except logs.exceptions.ResourceNotFoundException:
            lines, logged = [], 0
        if not lines and not logged:
            continue
        sums = {field: sum(line[field] for line in lines) for field in USAGE_FIELDS}
        sums["invocations"] = len(lines)
        sums["memory_mb"] = memory_mb(name)
        sums["gb_seconds"] = sums["handler_ms"] / 1000 * sums["memory_mb"] / 1024
        sums["logged_bytes"] = logged
        out[logical] = sums
    return out


def dollars(used, extra):
    """The bill for what the functions logged and the script counted, by part."""
    bill = {"lambda": 0.0, "sqs": 0.0, "dynamodb": 0.0, "logs": 0.0}
    for function in used.values():
        bill["lambda"] += (function["invocations"] * PRICES["lambda_request"]
                           + function["gb_seconds"] * PRICES["lambda_gb_second"])
        bill["sqs"] += function["sqs_billed_requests"] * PRICES["sqs_request"]
        bill["dynamodb"] += (function["dynamodb_read_units"] * PRICES["dynamodb_read_unit"]
                             + function["dynamodb_write_units"] * PRICES["dynamodb_write_unit"])
        bill["logs"] += function["logged_bytes"] / 1e9 * PRICES["logs_gb"]
    bill["sqs"] += extra.get("sqs_sends_by_aws", 0) * PRICES["sqs_request"]
    bill["api"] = extra.get("api_requests", 0) * PRICES["api_request"]
    bill["eventbridge"] = extra.get("eventbridge_events", 0) * PRICES["eventbridge_aws_event"]
    bill["s3"] = extra.get("s3_gets", 0) * PRICES["s3_get"]
    return bill


def through_eventbridge(state, records):
    for start in range(0, len(records), 10):
        entries = [{"Source": "aws.cloudtrail", "DetailType": "AWS API Call via CloudTrail",
                    "Detail": json.dumps(record)} for record in records[start:start + 10]]
        answer = events.put_events(Entries=entries)
        assert answer["FailedEntryCount"] == 0, answer
    # EventBridge sends each event the rule matches to the queue in a SendMessage of its own:
    # the messages the detector was handed.
    return {"eventbridge_events": len(records), "aws_sends_to": "DetectorFunction"}


def through_ingest(state, records):
    requests = 0
    for start in range(0, len(records), PER_REQUEST):
        body = json.dumps(records[start:start + PER_REQUEST])
        status, answer = post_to_function_url(state, body)
        assert status == 202, (status, answer)
        # API Gateway bills a request per 512 KB of it.
        requests += math.ceil(len(body.encode()) / (512 * 1024))
    return {"api_requests": requests}


def through_collector(state, records):
    s3.put_bucket_notification_configuration(
        Bucket=state["trail_bucket"],
        NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": state["out"]["TrailObjectsQueueArn"], "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".json.gz"}]}},
        }]},
    )
    files = 0
    for start in range(0, len(records), PER_FILE):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%MZ")
        key = (f"AWSLogs/111122223333/CloudTrail/us-east-1/{stamp[:4]}/{stamp[4:6]}/{stamp[6:8]}/"
               f"111122223333_CloudTrail_us-east-1_{stamp}_{uuid.uuid4().hex[:16]}.json.gz")
        body = gzip.compress(json.dumps({"Records": records[start:start + PER_FILE]}).encode())
        s3.put_object(Bucket=state["trail_bucket"], Key=key, Body=body)
        files += 1
    # S3 sends each notification to the objects queue (the messages the collector was
    # handed); the collector GETs each object.
    return {"s3_gets": files, "aws_sends_to": "CollectorFunction"}


PATHS = [("a", "EventBridge, read-only events included", through_eventbridge),
         ("b", f"ingest API, {PER_REQUEST} events a request", through_ingest),
         ("c", f"S3 collector, {PER_FILE} records a file", through_collector)]


def main():
    records = load_records()
    suffix = uuid.uuid4().hex[:8]
    state = {"stack": f"trailwatch-cost-{suffix}", "bucket": f"trailwatch-code-{suffix}",
             "trail_bucket": f"trailwatch-trail-{suffix}", "suffix": suffix}
    result = {"events_per_path": EVENTS, "prices": PRICES, "parameters": PARAMETERS, "paths": {}}
    try:
        # As deployed by default: the built-in rules, no Sigma layer.
        deploy(state, extra_rules=False, parameters=PARAMETERS)
        for path, label, send in [path for path in PATHS if path[0] in ONLY]:
            started = time.time()
            extra = send(state, fresh(records, path))
            seconds = drained(state, started)
            time.sleep(3)  # the last invocation's log lines
            used = tally(state, started, time.time())
            if "aws_sends_to" in extra:
                fed = used.get(extra.pop("aws_sends_to"), {})
                extra["sqs_sends_by_aws"] = fed.get("polled_messages", 0)
            bill = dollars(used, extra)
            # The ingest function writes to DynamoDB only its ledger (GET /events/{id}),
            # which EventStatusHours=0 turns off.
            ledger = used.get("IngestFunction", {}).get("dynamodb_write_units", 0) * PRICES["dynamodb_write_unit"]
            lambda_duration = sum(f["gb_seconds"] for f in used.values()) * PRICES["lambda_gb_second"]
            result["paths"][path] = {
                "label": label, "seconds": seconds, "counted": extra, "functions": used,
                "dollars_per_million": {part: cost / EVENTS * 1e6 for part, cost in bill.items()},
                "total_per_million": sum(bill.values()) / EVENTS * 1e6,
                "ledger_per_million": ledger / EVENTS * 1e6,
                # Handler times here include LocalStack's DynamoDB round trips (tens of ms on
                # this machine, single digits on AWS): the duration part is an upper bound.
                "lambda_duration_per_million": lambda_duration / EVENTS * 1e6,
            }
            print(f"cost: ({path}) {label}: ${result['paths'][path]['total_per_million']:.3f} per million "
                  f"events, drained in {seconds:.0f} s", file=sys.stderr)
    finally:
        remove(state, attempts=120)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
