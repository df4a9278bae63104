"""A day with a deployed trailwatch, printed as a terminal session: the template deployed to
LocalStack, a queue subscribed to the alerts topic, an attack posted, the alert it raises,
the findings and incident listed, one acknowledged, a suppression added, the attack's sequel
stored suppressed and told to no one. The README's session is this script's output.

Run by scripts/stack-session (which builds the functions and the CLI first); needs a
LocalStack that runs Lambda functions, as scripts/stack-test does.
"""

import json
import os
import shlex
import subprocess
import sys
import time
import uuid

import stack_test as stack

BOT = "arn:aws:iam::111122223333:user/build-bot"


def say(command, output):
    print(f"$ {command}")
    if output:
        print(output.rstrip("\n"))


def trailwatch(state, *args):
    command = [os.environ["TRAILWATCH_BIN"], *args, "--stack", state["stack"]]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise SystemExit(f"trailwatch {' '.join(args)} failed: {done.stderr}")
    say("trailwatch " + " ".join(shlex.quote(a) for a in args), done.stdout)
    return done.stdout


def call(minute, source, name, parameters, hours_ago=26):
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - hours_ago * 3600 + minute * 60))
    return {"eventVersion": "1.10", "eventID": str(uuid.uuid4()), "eventTime": at,
            "eventSource": f"{source}.amazonaws.com", "eventName": name, "awsRegion": stack.REGION,
            "sourceIPAddress": "203.0.113.10", "userAgent": "python-requests/2.32.3",
            "recipientAccountId": "111122223333",
            "userIdentity": {"type": "IAMUser", "arn": BOT, "accountId": "111122223333",
                             "accessKeyId": "AKIABUILDBOT"},
            "requestParameters": parameters}


def post(state, records):
    status, answer = stack.post_to_function_url(state, json.dumps({"Records": records}))
    say(f"curl --aws-sigv4 … --data @attack.json $INGEST_URL    # {len(records)} CloudTrail records",
        json.dumps(answer))
    assert status == 202, answer


def wait_for_alerts(state, kind):
    found = []

    def arrived():
        found.extend(stack.drain(state["topic_queue"]))
        return any(alert["kind"] == kind for alert in found)

    stack.poll(arrived, 90, f"an {kind} alert")
    time.sleep(3)
    found.extend(stack.drain(state["topic_queue"]))
    return found


def session(state):
    stack.deploy(state)
    say(f"sam deploy --stack-name {state['stack']} …    # here: the same template, on LocalStack",
        "\n".join(f"{key:<30} {state['out'][key]}" for key in ("AlertsTopicArn", "CasesTableName")))
    stack.subscribe_to_alerts(state)
    say("aws sns subscribe --topic-arn $ALERTS_TOPIC_ARN --protocol sqs --notification-endpoint $QUEUE_ARN "
        "--attributes RawMessageDelivery=true", "")

    attack = [
        call(0, "iam", "AttachUserPolicy",
             {"userName": "build-bot", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        call(5, "cloudtrail", "StopLogging", {"name": "management-events"}),
    ]
    post(state, attack)
    alerts = wait_for_alerts(state, "Incident")
    incident = next(alert for alert in alerts if alert["kind"] == "Incident")
    say("aws sqs receive-message --queue-url $QUEUE_URL    # the incident's alert, one of "
        f"{len(alerts)} ({', '.join(sorted(a['kind'] + ' ' + a['change'] for a in alerts))})",
        json.dumps(incident, indent=2))

    status, answer = stack.call_function_url(state, "QueryFunctionUrl", "GET", f"/events/{attack[1]['eventID']}")
    say(f"curl --aws-sigv4 … $API_URL/events/{attack[1]['eventID']} | jq '{{event_id, status, findings}}'",
        json.dumps({key: answer[key] for key in ("event_id", "status", "findings")}, indent=2))
    trailwatch(state, "incidents", "list")
    findings = trailwatch(state, "findings", "list", "--min-severity", "high")
    stop = next(line.split()[0] for line in findings.splitlines() if "TW-CLOUDTRAIL-001" in line)
    trailwatch(state, "findings", "ack", stop, "--note", "asked the platform team")
    trailwatch(state, "suppress", "add", "--id", "bot-trail-rotation", "--detection", "TW-CLOUDTRAIL-001",
               "--principal", "*:user/build-bot", "--reason", "build-bot rotates its trail nightly (OPS-7)")
    # The detector reads the suppressions table at most once a minute.
    time.sleep(61)
    post(state, [call(0, "cloudtrail", "StopLogging", {"name": "management-events"}, hours_ago=0.1)])    # today: a new finding
    time.sleep(8)
    told = stack.drain(state["topic_queue"])
    say("aws sqs receive-message --queue-url $QUEUE_URL    # kind, change, severity, detection, title of each",
        "\n".join(f"{a['kind']} {a['change']} {a['severity']} {a.get('detection', '-')} {a['title']}" for a in told))
    trailwatch(state, "findings", "list", "--detection", "TW-CLOUDTRAIL-001")


def main():
    suffix = uuid.uuid4().hex[:8]
    state = {"stack": f"trailwatch-{suffix}", "bucket": f"trailwatch-code-{suffix}",
             "trail_bucket": f"trailwatch-trail-{suffix}"}
    try:
        session(state)
    finally:
        if state.get("alert_rule"):
            stack.events.remove_targets(Rule=state["alert_rule"], Ids=["subscriber"])
            stack.events.delete_rule(Name=state["alert_rule"])
        for queue in ("topic_queue", "bus_queue"):
            if state.get(queue):
                stack.sqs.delete_queue(QueueUrl=state[queue])
        stack.remove(state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
