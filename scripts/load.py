"""Puts the deployed stack under a bounded load and keeps a ledger of every event.

Deploys template.yaml to LocalStack with Lambda (as scripts/stack_test.py does), then:

- posts LOAD_EVENTS CloudTrail records (StopLogging by 40 roles, so every evaluated event
  leaves exactly one anomaly) to the ingest function's URL, LOAD_PER_REQUEST (100) per
  request, from LOAD_CLIENTS concurrent clients: as fast as they can, or with LOAD_RATE at a
  steady rate of that many events a second (the latency a steady load sees);
- injects a detector crash: a third of the way in, every detector process of the stack is
  killed (SIGKILL) in the middle of its batch;
- injects a redelivery: 500 accepted events are put on the queue a second time, as SQS may
  deliver a message twice; and 20 poison messages, which must be dead-lettered;
- waits for the queue to drain, then reads the anomalies table and the dead-letter queue.

It prints throughput, p50/p99 ingest latency per request, p50/p99 ingest-to-anomaly latency,
and the ledger: accepted = evaluated + dead-lettered, zero unaccounted, each anomaly once.
LOAD_PARAMETERS sets template parameters ("DetectorBatchingWindowSeconds=1"); LOAD_RESULTS
names a file to which the figures are written as JSON as well. The queue's visibility
timeout is lowered to 60 s for the run, so the crashed batch comes
back within it (the template's 660 s would only make the run wait).
"""

import concurrent.futures
import datetime
import json
import os
import signal
import sys
import threading
import time
import uuid

from stack_test import deploy, dynamodb, post_to_function_url, remove, sqs, template_parameters

EVENTS = int(os.environ.get("LOAD_EVENTS", "50000"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "8"))
PER_REQUEST = int(os.environ.get("LOAD_PER_REQUEST", "100"))
RATE = float(os.environ.get("LOAD_RATE", "0"))  # events a second; 0: as fast as possible
PARAMETERS = template_parameters("LOAD_PARAMETERS")
RESULTS = os.environ.get("LOAD_RESULTS")
REDELIVERED = min(500, EVENTS // 4)
POISON = 20
DRAIN_TIMEOUT = float(os.environ.get("LOAD_DRAIN_TIMEOUT", "1800"))
# LOAD_CRASH=0 leaves the crash out: LocalStack's local executor has once stranded a batch
# after the SIGKILL (10 messages in flight for minutes while the new detector process idled).
CRASH = os.environ.get("LOAD_CRASH", "1") != "0"


def record(event_id, role, at):
    return {
        "eventVersion": "1.08", "eventID": event_id, "eventTime": at,
        "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0",
        "recipientAccountId": "111122223333",
        "requestParameters": {"name": "management-events"},
        "userIdentity": {
            "type": "AssumedRole", "accountId": "111122223333",
            "arn": f"arn:aws:sts::111122223333:assumed-role/{role}/load",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::111122223333:role/{role}"}},
        },
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def detector_pids(table):
    """The bootstrap processes LocalStack runs for this stack's detector."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environment = f.read().split(b"\0")
        except OSError:
            continue
        if f"ANOMALIES_TABLE={table}".encode() in environment:
            pids.append(int(entry))
    return pids


def queue_depth(url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def anomalies(table):
    """event id -> detected_at of every anomaly item."""
    found, start = {}, None
    while True:
        page = dynamodb.scan(TableName=table, ProjectionExpression="pk, detected_at",
                             **({"ExclusiveStartKey": start} if start else {}))
        for item in page["Items"]:
            found[item["pk"]["S"]] = item["detected_at"]["S"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def drain(url):
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run(state):
    out = state["out"]
    queue, dead_letters, table = out["EventsQueueUrl"], out["EventsDeadLetterQueueUrl"], out["AnomaliesTableName"]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "60"})

    now = datetime.datetime.now(datetime.timezone.utc)
    requests = []
    for start in range(0, EVENTS, PER_REQUEST):
        batch = []
        for n in range(start, min(EVENTS, start + PER_REQUEST)):
            at = (now - datetime.timedelta(seconds=EVENTS - n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            batch.append(record(f"load-{state['suffix']}-{n:06d}", f"role-{n % 40:02d}", at))
        requests.append(batch)

    sent_at, accepted, latencies, refused = {}, [], [], []
    lock = threading.Lock()
    crash = {"at_request": max(1, len(requests) // 3), "killed": []}
    done = [0]

    def post(numbered):
        number, batch = numbered
        if RATE:
            # A steady load: each request at its own moment, whichever client sends it.
            time.sleep(max(0.0, began + number * PER_REQUEST / RATE - time.time()))
        started = time.time()
        status, answer = post_to_function_url(state, json.dumps(batch))
        elapsed = time.time() - started
        with lock:
            latencies.append(elapsed)
            if status != 202:
                refused.append((status, answer))
            for event_id in answer.get("accepted", []):
                sent_at[event_id] = started
                accepted.append(event_id)
            done[0] += 1
            if done[0] == crash["at_request"]:
                crash_now.set()

    def crash_the_detector():
        # Once the load is under way, kill the detector in mid-batch: the first moment a
        # process of it is running (it starts with the first batch).
        crash_now.wait()
        deadline = time.time() + 120
        while not crash["killed"] and time.time() < deadline:
            for pid in detector_pids(table):
                try:
                    os.kill(pid, signal.SIGKILL)
                    crash["killed"].append(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)

    crash_now = threading.Event()
    crasher = threading.Thread(target=crash_the_detector if CRASH else lambda: None)
    crasher.start()
    began = time.time()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(post, enumerate(requests)))
    posting = time.time() - began
    crash_now.set()
    crasher.join()

    # A redelivery of accepted events, as SQS's at-least-once delivery may make, and poison.
    by_id = {r["eventID"]: r for batch in requests for r in batch}
    for start in range(0, REDELIVERED, 10):
        entries = [{"Id": str(i), "MessageBody": json.dumps(by_id[event_id]),
                    "MessageAttributes": {"trailwatch-origin": {"DataType": "String", "StringValue": "ingest"}}}
                   for i, event_id in enumerate(accepted[start:start + 10])]
        sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    for start in range(0, POISON, 10):
        sqs.send_message_batch(QueueUrl=queue, Entries=[
            {"Id": str(i), "MessageBody": f"poison {start + i}: not an event"} for i in range(10)])

    deadline = time.time() + DRAIN_TIMEOUT
    while queue_depth(queue) > 0 and time.time() < deadline:
        time.sleep(2)
    drained = time.time() - began
    left = queue_depth(queue)
    stored = anomalies(table)
    dead = drain(dead_letters)

    accepted_ids = set(accepted)
    dead_ids = set()
    for body in dead:
        try:
            message = json.loads(body)
        except ValueError:
            continue
        # The ingest function packs many events to a message; the redelivery sends one each.
        records = message.get("Records", [message]) if isinstance(message, dict) else []
        dead_ids.update(record.get("eventID") for record in records if isinstance(record, dict))
    evaluated = accepted_ids & set(stored)
    dead_lettered = (accepted_ids - evaluated) & dead_ids
    unaccounted = accepted_ids - evaluated - dead_lettered
    poison_dead = sum(1 for body in dead if body.startswith("poison "))
    to_anomaly = [parse_time(stored[event_id]) - sent_at[event_id] for event_id in evaluated]
    last_anomaly = max((parse_time(stored[event_id]) for event_id in evaluated), default=began)

    print(f"load: {EVENTS} events in {len(requests)} requests of {PER_REQUEST} from {CLIENTS} clients"
          + (f", {RATE:g} events/s" if RATE else ", as fast as they answer")
          + (f"; {PARAMETERS}" if PARAMETERS else ""))
    print(f"  ingest: {len(accepted)} accepted in {posting:.1f} s = {len(accepted) / posting:.0f} events/s; "
          f"refused requests: {len(refused)}")
    print(f"  ingest latency per request: p50 {percentile(latencies, .5) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, .99) * 1000:.0f} ms")
    print(f"  detector: {len(evaluated)} evaluated by {last_anomaly - began:.1f} s after the first post = "
          f"{len(evaluated) / max(last_anomaly - began, 0.001):.1f} events/s; "
          + (f"queue drained after {drained:.1f} s" if not left else f"{left} messages still queued after {drained:.1f} s"))
    print(f"  ingest-to-anomaly latency: p50 {percentile(to_anomaly, .5):.1f} s, p99 {percentile(to_anomaly, .99):.1f} s")
    crashed = (f"detector crash (SIGKILL to {len(crash['killed'])} process(es) after request {crash['at_request']})"
               if CRASH else "no crash (LOAD_CRASH=0)")
    print(f"  injected: {crashed}, {REDELIVERED} redelivered events, {POISON} poison messages")
    print(f"  ledger: accepted {len(accepted_ids)} = evaluated {len(evaluated)} + dead-lettered {len(dead_lettered)}; "
          f"unaccounted {len(unaccounted)}")
    print(f"  anomalies stored {len(stored)} for {len(accepted_ids)} events (each once: "
          f"{'yes' if len(stored) == len(evaluated) else 'NO'}); poison dead-lettered {poison_dead}/{POISON}; "
          f"duplicate accepted ids {len(accepted) - len(accepted_ids)}")
    if RESULTS:
        with open(RESULTS, "w") as f:
            json.dump({"events": EVENTS, "per_request": PER_REQUEST, "clients": CLIENTS, "rate": RATE or None,
                       "parameters": PARAMETERS, "accepted_per_second": len(accepted) / posting,
                       "evaluated": len(evaluated),
                       "to_anomaly_p50_s": percentile(to_anomaly, .5),
                       "to_anomaly_p99_s": percentile(to_anomaly, .99)}, f)
    ok = (not left and not unaccounted and not refused and len(stored) == len(evaluated) and poison_dead == POISON
          and len(accepted) == EVENTS and (crash["killed"] or not CRASH))
    if CRASH and not crash["killed"]:
        print("  no detector process was found to kill: the crash was not injected")
    return ok


def main():
    suffix = uuid.uuid4().hex[:8]
    state = {"stack": f"trailwatch-load-{suffix}", "bucket": f"trailwatch-code-{suffix}",
             "trail_bucket": f"trailwatch-trail-{suffix}", "suffix": suffix}
    try:
        deploy(state, parameters=PARAMETERS)
        ok = run(state)
    finally:
        # A loaded stack takes longer to delete.
        remove(state, attempts=120)
    print("load: ledger balanced" if ok else "load: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
