"""Deploys template.yaml, as it is, to a LocalStack that runs Lambda functions, and drives the
deployed stack: function URL -> ingest function -> queue -> event source mapping -> detector
function -> DynamoDB; EventBridge CloudTrail events -> rule -> queue; a delivery file put into the
trail bucket -> S3 notification -> collector function -> queue -> detector; forwarder.yaml in a
second region -> the stack's bus -> queue -> detector; a poison message dead-lettered at its
first receive, with the reason, while its neighbour is processed.

Run by scripts/stack-test, which builds the functions for this machine first. Only what
community LocalStack cannot do is changed in the deployed copy: the code comes from S3 zips of
host binaries (no `sam build`), and the ingest function gets a function URL because the HTTP
API (API Gateway v2) is a LocalStack Pro feature.
"""

import gzip
import io
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
import zipfile

import boto3
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
REGION = os.environ.get("AWS_REGION", "us-east-1")
# Where forwarder.yaml is deployed: any region but the stack's.
SECOND_REGION = "eu-west-1" if REGION != "eu-west-1" else "us-west-2"
BINARIES = {"IngestFunction": "ingest", "DetectorFunction": "detector", "CollectorFunction": "collector",
            "PublisherFunction": "publisher", "QueryFunction": "query"}
SIGMA_DIR = os.path.abspath(os.path.join(ROOT, "..", "shared", "data", "sigma-aws-cloudtrail"))
# A team's own rule files, as a rules layer would put them under /opt/rules.
RULES_DIR = os.path.join(ROOT, "events", "rules")
results = []


def client(service):
    return client_in(service, REGION)


def client_in(service, region):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=region)


cfn, s3, sqs, events, dynamodb, cloudwatch, sns = (
    client(s) for s in ("cloudformation", "s3", "sqs", "events", "dynamodb", "cloudwatch", "sns")
)


def load_template():
    """template.yaml with its short-form intrinsics (!Ref, !GetAtt, !Sub) in long form."""

    def intrinsic(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    loader = type("CfnLoader", (yaml.SafeLoader,), {})
    loader.add_multi_constructor("!", intrinsic)
    with open(os.path.join(ROOT, "template.yaml")) as f:
        return yaml.load(f, Loader=loader)


def deployable(template, bucket, extra_rules=True):
    for logical_id, binary in BINARIES.items():
        function = template["Resources"][logical_id]
        function.pop("Metadata", None)
        function["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": f"{binary}.zip"}
    # Host binaries: LocalStack runs them as they are.
    template["Globals"]["Function"]["Architectures"] = ["x86_64" if os.uname().machine == "x86_64" else "arm64"]
    template["Resources"]["IngestFunction"]["Properties"]["FunctionUrlConfig"] = {"AuthType": "NONE"}
    template["Resources"]["QueryFunction"]["Properties"]["FunctionUrlConfig"] = {"AuthType": "NONE"}
    # LocalStack runs functions without layers; its processes see the host's files, so the
    # detector reads the reference Sigma rules and the example rule files where they lie, as
    # it would under /opt.
    detector = template["Resources"]["DetectorFunction"]["Properties"]
    detector.pop("Layers", None)
    if extra_rules:
        detector["Environment"]["Variables"]["TRAILWATCH_SIGMA_DIR"] = SIGMA_DIR
        detector["Environment"]["Variables"]["TRAILWATCH_RULES_DIR"] = RULES_DIR
    template["Outputs"]["IngestFunctionUrl"] = {"Value": {"Fn::GetAtt": ["IngestFunctionUrl", "FunctionUrl"]}}
    template["Outputs"]["QueryFunctionUrl"] = {"Value": {"Fn::GetAtt": ["QueryFunctionUrl", "FunctionUrl"]}}
    # LocalStack checks references before it applies the SAM transform, so the function roles
    # SAM generates cannot be named with !GetAtt there; the rules' exclusion of those roles
    # names them literally instead (the pattern itself is tested with TestEventPattern).
    return replace_generated_roles(template)


def replace_generated_roles(value):
    if isinstance(value, dict):
        target = value.get("Fn::GetAtt")
        if isinstance(target, list) and len(target) == 2 and target[0].endswith("FunctionRole"):
            return {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{AWS::StackName}}-{target[0]}"}
        return {key: replace_generated_roles(item) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_generated_roles(item) for item in value]
    return value


def zipped(binary):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        with open(os.path.join(os.environ["LAMBDA_BINARIES"], binary), "rb") as f:
            archive.writestr(info, f.read(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def check(name, test, state):
    started = time.time()
    try:
        test(state)
        results.append(True)
        print(f"PASS {name} ({time.time() - started:.1f}s)", flush=True)
    except Exception as error:  # noqa: BLE001 - report every failure and go on
        results.append(False)
        print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)


def poll(find, timeout, what):
    deadline = time.time() + timeout
    while True:
        found = find()
        if found:
            return found
        if time.time() > deadline:
            raise AssertionError(f"{what}: nothing after {timeout}s")
        time.sleep(0.5)


def anomaly(state, event_id):
    return dynamodb.get_item(
        TableName=state["out"]["AnomaliesTableName"], Key={"pk": {"S": event_id}}, ConsistentRead=True
    ).get("Item")


def template_parameters(variable):
    """Template parameters other than the defaults, from an environment variable holding
    "Key=Value,Key=Value" (DetectorBatchSize=10)."""
    return dict(pair.split("=", 1) for pair in os.environ.get(variable, "").split(",") if pair)


def deploy(state, extra_rules=True, parameters=None):
    """Deploys the stack; `extra_rules` adds the Sigma rules and the example rule files to
    the detector, as layers would (the default deployment has neither); `parameters` sets
    template parameters beyond the defaults."""
    s3.create_bucket(Bucket=state["bucket"])
    for binary in BINARIES.values():
        s3.put_object(Bucket=state["bucket"], Key=f"{binary}.zip", Body=zipped(binary))
    template = deployable(load_template(), state["bucket"], extra_rules)
    s3.create_bucket(Bucket=state["trail_bucket"])
    cfn.create_stack(
        StackName=state["stack"],
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "TrailBucketName", "ParameterValue": state["trail_bucket"]},
            # The samples are dated 2023: a backfill window lets them in.
            {"ParameterKey": "IngestMaxEventAgeDays", "ParameterValue": "7670"},
        ] + [{"ParameterKey": key, "ParameterValue": value}
             for key, value in (parameters or {}).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    state["deployed"] = True
    cfn.get_waiter("stack_create_complete").wait(
        StackName=state["stack"], WaiterConfig={"Delay": 2, "MaxAttempts": 90}
    )
    stack = cfn.describe_stacks(StackName=state["stack"])["Stacks"][0]
    state["out"] = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}


def remove(state, attempts=60):
    """Deletes what deploy() made: the stack (if it was created) and both buckets."""
    if state.get("deployed"):
        cfn.delete_stack(StackName=state["stack"])
        cfn.get_waiter("stack_delete_complete").wait(
            StackName=state["stack"], WaiterConfig={"Delay": 2, "MaxAttempts": attempts}
        )
    for bucket in (state["bucket"], state["trail_bucket"]):
        try:
            for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])
            s3.delete_bucket(Bucket=bucket)
        except Exception:  # noqa: BLE001 - the bucket may not exist
            pass


def post_to_function_url(state, body):
    return call_function_url(state, "IngestFunctionUrl", "POST", "/ingest", body)


def call_function_url(state, output, method, path, body=None):
    """An HTTP request to a deployed function's URL, as LocalStack routes them (by Host)."""
    url_id = state["out"][output].split("//")[1].split(".")[0]
    request = urllib.request.Request(
        f"{ENDPOINT}{path}",
        data=body.encode() if body is not None else None,
        method=method,
        headers={
            "Content-Type": "application/json",
            "Host": f"{url_id}.lambda-url.{REGION}.localhost.localstack.cloud:4566",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def delivery_file_through_the_stack(state):
    with open(os.path.join(ROOT, "events", "cloudtrail-delivery.json")) as f:
        status, answer = post_to_function_url(state, f.read())
    assert status == 202 and len(answer["accepted"]) == 6, (status, answer)
    root_login = poll(lambda: anomaly(state, "5b0c1e0a-1111-4e6f-8a9b-000000000002"), 60, "root login anomaly")
    assert root_login["role_id"]["S"] == "arn:aws:iam::111122223333:root", root_login
    stop = poll(lambda: anomaly(state, "5b0c1e0a-1111-4e6f-8a9b-000000000005"), 60, "StopLogging anomaly")
    assert stop["event_type"]["S"] == "cloudtrail:StopLogging", stop
    # The team's own rule (events/rules) fires beside the built-in one, at its own severity.
    stop_ids = [detection["M"]["id"]["S"] for detection in stop["detections"]["L"]]
    assert "ACME-TRAIL-001" in stop_ids and "TW-CLOUDTRAIL-001" in stop_ids, stop_ids
    assert stop["severity"]["S"] == "critical", stop["severity"]
    # A benign call fires no built-in rule (SigmaHQ's "AWS STS AssumeRole Misuse" flags every
    # assumed-role session at low, so Sigma detections are allowed).
    benign = anomaly(state, "5b0c1e0a-1111-4e6f-8a9b-000000000001")
    ids = [detection["M"]["id"]["S"] for detection in benign["detections"]["L"]] if benign else []
    assert all(id.startswith("SIGMA-") for id in ids), ids


def subscribe_to_alerts(state):
    """What a team does after deploying: a queue subscribed to the alerts topic (raw
    delivery: each message is the alert's JSON), and a rule on the default bus sending
    trailwatch's Finding and Incident events to another queue."""
    def queue(name):
        url = sqs.create_queue(QueueName=f"{state['stack']}-{name}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    state["topic_queue"], topic_queue_arn = queue("topic-subscriber")
    sns.subscribe(TopicArn=state["out"]["AlertsTopicArn"], Protocol="sqs", Endpoint=topic_queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    state["bus_queue"], bus_queue_arn = queue("bus-subscriber")
    state["alert_rule"] = f"{state['stack']}-alerts"
    events.put_rule(Name=state["alert_rule"],
                    EventPattern=json.dumps({"source": ["trailwatch"], "detail-type": ["Finding", "Incident"]}))
    events.put_targets(Rule=state["alert_rule"], Targets=[{"Id": "subscriber", "Arn": bus_queue_arn}])


def drain(queue_url):
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def the_incident_is_alerted_once_on_the_topic_and_the_bus(state):
    """The cases table's stream -> publisher function -> SNS topic and EventBridge bus: the
    incident and its findings at medium or above, each alert once, the same on both."""
    bot = state["bot"]
    told, on_bus = [], []

    def incident_told():
        told.extend(alert for alert in drain(state["topic_queue"]) if alert["principal"] == bot)
        on_bus.extend(event for event in drain(state["bus_queue"]) if event["detail"]["principal"] == bot)
        return any(a["kind"] == "Incident" for a in told) and any(e["detail-type"] == "Incident" for e in on_bus)

    poll(incident_told, 90, "the incident's alert")
    time.sleep(5)  # later changes of the same attack, if any
    incident_told()
    ids = [alert["alert_id"] for alert in told]
    assert len(ids) == len(set(ids)), ids
    incidents = [alert for alert in told if alert["kind"] == "Incident"]
    assert incidents[0]["change"] == "opened" and incidents[0]["severity"] == "critical", incidents
    assert len({alert["id"] for alert in incidents}) == 1, incidents
    assert all(alert["severity"] != "low" for alert in told), told
    assert "TW-CLOUDTRAIL-001" in {alert.get("detection") for alert in told}, told
    assert sorted(ids) == sorted(event["detail"]["alert_id"] for event in on_bus), (ids, on_bus)
    # Acknowledging a finding (the CLI check before) changed it, and told no one again.
    assert drain(state["topic_queue"]) == []


def the_query_api_answers_through_the_function_url(state):
    """The query function, deployed: the attack's findings listed and shown with their raw
    events, one acknowledged, its incident shown, a posted event followed, a suppression
    added and removed; wrong input a 400 naming the parameter, a wrong method a 405."""
    bot = state["bot"]

    def api(method, path, body=None, expect=200):
        status, answer = call_function_url(state, "QueryFunctionUrl", method, path, body)
        assert status == expect, (method, path, status, answer)
        return answer

    quoted = urllib.parse.quote(bot, safe="")
    page = api("GET", f"/findings?principal={quoted}&min_severity=high")
    stop = next(f for f in page["items"] if f["detection"]["id"] == "TW-CLOUDTRAIL-001")
    detail = api("GET", f"/findings/{stop['id']}")
    assert detail["anomalies"][0]["event"]["eventName"] == "StopLogging", detail
    changed = api("PATCH", f"/findings/{stop['id']}", json.dumps({"status": "resolved", "note": "trail restarted"}))
    assert changed["status"] == "resolved" and changed["status_change"]["note"] == "trail restarted", changed
    incidents = api("GET", f"/incidents?principal={quoted}")["items"]
    assert len(incidents) == 1, incidents
    shown = api("GET", f"/incidents/{incidents[0]['id']}")
    assert {f["id"] for f in shown["findings"]} >= {stop["id"]}, shown
    event = api("GET", f"/events/{stop['event_ids'][0]}")
    assert event["status"] == "anomaly" and stop["id"] in event["findings"], event
    rule = {"id": f"stack-test-{uuid.uuid4().hex[:6]}", "detection": "TW-BASE-DENIED", "reason": "stack test"}
    api("POST", "/suppressions", json.dumps(rule), expect=201)
    assert rule["id"] in [r["id"] for r in api("GET", "/suppressions")["items"]]
    api("DELETE", f"/suppressions/{rule['id']}")
    api("DELETE", f"/suppressions/{rule['id']}", expect=404)
    bad = api("GET", "/findings?limit=1000", expect=400)
    assert bad["error"]["parameter"] == "limit", bad
    assert api("DELETE", "/findings", expect=405)["error"]["status"] == 405


def attack_sequence_becomes_one_incident(state):
    """Admin rights for itself, then the trail stopped: one incident in the cases table,
    found through the index the query API lists a principal's cases by."""
    bot = f"arn:aws:iam::111122223333:user/build-bot-{uuid.uuid4().hex[:6]}"
    identity = {"type": "IAMUser", "arn": bot, "accountId": "111122223333", "accessKeyId": "AKIABUILDBOT"}

    def call(minute, source, name, parameters):
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600 + minute * 60))
        return {"eventVersion": "1.10", "eventID": str(uuid.uuid4()), "eventTime": at,
                "eventSource": f"{source}.amazonaws.com", "eventName": name, "awsRegion": REGION,
                "sourceIPAddress": "203.0.113.10", "userAgent": "python-requests/2.32.3",
                "recipientAccountId": "111122223333", "userIdentity": identity,
                "requestParameters": parameters}

    records = [
        call(0, "iam", "AttachUserPolicy",
             {"userName": "build-bot", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        call(5, "cloudtrail", "StopLogging", {"name": "management-events"}),
    ]
    status, answer = post_to_function_url(state, json.dumps({"Records": records}))
    assert status == 202 and len(answer["accepted"]) == 2, (status, answer)

    def incidents():
        items = dynamodb.query(
            TableName=state["out"]["CasesTableName"], IndexName="by-principal",
            KeyConditionExpression="principal = :p", ExpressionAttributeValues={":p": {"S": bot}},
        )["Items"]
        return [item for item in items if item["sk"]["S"] == "incident"]

    found = poll(incidents, 90, "the incident of the two steps")
    assert len(found) == 1, found
    incident = found[0]["state"]["M"]
    assert incident["severity"]["S"] == "critical", incident
    tactics = [tactic["S"] for tactic in incident["tactics"]["L"]]
    # The stack also runs the Sigma rules, whose tags may add a tactic of their own.
    assert tactics[0] == "Privilege Escalation" and "Defense Evasion" in tactics, tactics
    state["bot"] = bot


def the_cli_reads_the_stack_by_name(state):
    """`trailwatch incidents list --stack NAME` and `findings ack`, tables found through the
    stack's outputs."""
    def trailwatch(*args):
        done = subprocess.run([os.environ["TRAILWATCH_BIN"], *args, "--stack", state["stack"]],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    bot = state["bot"]
    incidents = [json.loads(line) for line in
                 trailwatch("incidents", "list", "--principal", bot, "--format", "jsonl").splitlines()]
    assert len(incidents) == 1 and incidents[0]["severity"] == "critical", incidents
    findings = [json.loads(line) for line in
                trailwatch("findings", "list", "--principal", bot, "--format", "jsonl").splitlines()]
    target = next(f for f in findings if f["detection"]["id"] == "TW-IAM-004")
    said = trailwatch("findings", "ack", target["id"], "--note", "checking with the team")
    assert said.startswith(f"{target['id']} is now acknowledged"), said
    acknowledged = trailwatch("findings", "list", "--status", "acknowledged", "--format", "jsonl")
    assert target["id"] in acknowledged, acknowledged


def invalid_input_is_a_400(state):
    status, answer = post_to_function_url(state, '{"EventID": "x"}')
    assert status == 400, (status, answer)
    assert {problem["field"] for problem in answer["rejected"]} >= {"RequestID", "RoleID"}, answer


def cloudtrail_events_from_eventbridge(state):
    with open(os.path.join(ROOT, "events", "eventbridge-cloudtrail.json")) as f:
        sample = json.load(f)
    ours = dict(sample["detail"], eventID=f"eb-{uuid.uuid4()}")
    foreign = dict(sample["detail"], eventID=f"custom-{uuid.uuid4()}")
    answer = events.put_events(
        Entries=[
            # Not from an AWS service: the rule must not send it.
            {"Source": "custom.app", "DetailType": sample["detail-type"], "Detail": json.dumps(foreign)},
            {"Source": sample["source"], "DetailType": sample["detail-type"], "Detail": json.dumps(ours)},
        ]
    )
    assert answer["FailedEntryCount"] == 0, answer
    item = poll(lambda: anomaly(state, ours["eventID"]), 60, "anomaly from the EventBridge event")
    assert item["event_type"]["S"] == "cloudtrail:DeleteTrail", item
    ids = [detection["M"]["id"]["S"] for detection in item["detections"]["L"]]
    assert "TW-CLOUDTRAIL-002" in ids and "SIGMA-4db60cc0-36fb-42b7-9b58-a5b53019fb74" in ids, ids
    assert anomaly(state, foreign["eventID"]) is None, "the rule passed an event from a custom source"


def the_stack_watches_itself(state):
    resources = cfn.describe_stack_resources(StackName=state["stack"])["StackResources"]
    alarms = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) >= 12, alarms
    described = cloudwatch.describe_alarms(AlarmNames=alarms)["MetricAlarms"]
    topic = state["out"]["AlarmsTopicArn"]
    assert len(described) == len(alarms) and all(a["AlarmActions"] == [topic] for a in described), described
    groups = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Logs::LogGroup"]
    assert len(groups) == 5, groups


def delivery_file_through_the_collector(state):
    s3.put_bucket_notification_configuration(
        Bucket=state["trail_bucket"],
        NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": state["out"]["TrailObjectsQueueArn"],
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".json.gz"}]}},
        }]},
    )
    with open(os.path.join(ROOT, "events", "cloudtrail-delivery.json")) as f:
        records = json.load(f)["Records"]
    # Fresh event ids: the ingest check above already made anomalies of the sample's.
    for record in records:
        record["eventID"] = f"s3-{uuid.uuid4()}"
    key = ("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/"
           "111122223333_CloudTrail_us-east-1_20261102T0915Z_stacktest.json.gz")
    s3.put_object(Bucket=state["trail_bucket"], Key=key,
                  Body=gzip.compress(json.dumps({"Records": records}).encode()))
    stop = next(record for record in records if record["eventName"] == "StopLogging")
    item = poll(lambda: anomaly(state, stop["eventID"]), 90, "StopLogging anomaly from the delivery file")
    assert item["event_type"]["S"] == "cloudtrail:StopLogging", item


def forwarder_in_another_region(state):
    """forwarder.yaml deployed in a second region sends its CloudTrail events to the home
    stack's bus, whose rule puts them on the queue."""
    cfn2, events2 = (client_in(service, SECOND_REGION) for service in ("cloudformation", "events"))
    with open(os.path.join(ROOT, "forwarder.yaml")) as f:
        body = f.read()
    bus = state["out"]["ForwardedEventsBusArn"]
    cfn2.create_stack(
        StackName=state["forwarder"], TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": "HomeEventBusArn", "ParameterValue": bus}],
    )
    state["forwarder_deployed"] = True
    cfn2.get_waiter("stack_create_complete").wait(
        StackName=state["forwarder"], WaiterConfig={"Delay": 2, "MaxAttempts": 60}
    )
    with open(os.path.join(ROOT, "events", "eventbridge-cloudtrail.json")) as f:
        sample = json.load(f)
    detail = dict(sample["detail"], eventID=f"fwd-{uuid.uuid4()}", awsRegion=SECOND_REGION)
    answer = events2.put_events(Entries=[
        {"Source": sample["source"], "DetailType": sample["detail-type"], "Detail": json.dumps(detail)},
    ])
    assert answer["FailedEntryCount"] == 0, answer
    item = poll(lambda: anomaly(state, detail["eventID"]), 60, f"anomaly of the event put in {SECOND_REGION}")
    assert item["region"]["S"] == SECOND_REGION, item
    assert item["event_type"]["S"] == "cloudtrail:DeleteTrail", item


def poison_message_dead_lettered_at_once(state):
    queue_url = state["out"]["EventsQueueUrl"]
    good = {"RequestID": "g", "EventID": f"good-{uuid.uuid4()}", "RoleID": "role12",
            "EventType": "cloudtrail:StopLogging", "EventTimestamp": "2026-11-02T09:00:00Z", "AffectedAssets": []}
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[
        {"Id": "poison", "MessageBody": "not an event"},
        {"Id": "good", "MessageBody": json.dumps(good)},
    ])
    poll(lambda: anomaly(state, good["EventID"]), 60, "the poison message's neighbour")

    # No retry can help it: the detector sends it to the dead-letter queue at once, with the
    # reason, and the events queue is left empty (not holding it for four more receives).
    def dead_lettered():
        answer = sqs.receive_message(QueueUrl=state["out"]["EventsDeadLetterQueueUrl"],
                                     MessageAttributeNames=["All"], WaitTimeSeconds=1)
        return next((m for m in answer.get("Messages", []) if m["Body"] == "not an event"), None)

    dead = poll(dead_lettered, 60, "the poison message in the dead-letter queue")
    reason = dead["MessageAttributes"]["trailwatch-error"]["StringValue"]
    assert "not valid JSON" in reason, reason

    # Once the invocation returns, the event source mapping deletes both messages: nothing
    # waits out the 660 s visibility timeout for a retry.
    def events_queue_empty():
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        return attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"

    poll(events_queue_empty, 30, "the events queue emptied (no message left for a retry)")


def main():
    suffix = uuid.uuid4().hex[:8]
    state = {"stack": f"trailwatch-{suffix}", "bucket": f"trailwatch-code-{suffix}",
             "trail_bucket": f"trailwatch-trail-{suffix}"}
    state["forwarder"] = f"trailwatch-forwarder-{suffix}"
    try:
        check("deploy template.yaml (CREATE_COMPLETE)", deploy, state)
        if "out" in state:
            check("function URL -> ingest -> queue -> detector -> anomalies", delivery_file_through_the_stack, state)
            check("function URL -> ingest: invalid event is a 400", invalid_input_is_a_400, state)
            check("a queue subscribed to the alerts topic; a rule on the default bus for trailwatch's events",
                  subscribe_to_alerts, state)
            check("two steps of an attack -> findings -> one incident in the cases table (by-principal index)",
                  attack_sequence_becomes_one_incident, state)
            check("trailwatch incidents list / findings ack --stack NAME (tables from the stack's outputs)",
                  the_cli_reads_the_stack_by_name, state)
            check("query API via function URL: findings, finding + raw events, PATCH, incident, events, suppressions; 400/404/405",
                  the_query_api_answers_through_the_function_url, state)
            check("cases stream -> publisher -> alerts topic (SQS subscriber) and default bus (rule -> SQS), once each",
                  the_incident_is_alerted_once_on_the_topic_and_the_bus, state)
            check("alarms on the dead-letter queues, backlog, errors and throttles, to the stack's topic; log groups",
                  the_stack_watches_itself, state)
            check("EventBridge: aws.* CloudTrail event -> rule -> queue -> detector (with Sigma rules); custom source ignored",
                  cloudtrail_events_from_eventbridge, state)
            check("trail bucket: delivery file -> S3 notification -> collector -> queue -> detector",
                  delivery_file_through_the_collector, state)
            check(f"forwarder.yaml in {SECOND_REGION}: event -> forwarder rule -> home bus -> rule -> queue -> detector",
                  forwarder_in_another_region, state)
            check("poison message: neighbour processed, poison dead-lettered at once with its reason",
                  poison_message_dead_lettered_at_once, state)
    finally:
        if state.get("forwarder_deployed"):
            cfn2 = client_in("cloudformation", SECOND_REGION)
            cfn2.delete_stack(StackName=state["forwarder"])
            cfn2.get_waiter("stack_delete_complete").wait(
                StackName=state["forwarder"], WaiterConfig={"Delay": 2, "MaxAttempts": 60}
            )
        if state.get("alert_rule"):
            events.remove_targets(Rule=state["alert_rule"], Ids=["subscriber"])
            events.delete_rule(Name=state["alert_rule"])
        for queue in ("topic_queue", "bus_queue"):
            if state.get(queue):
                sqs.delete_queue(QueueUrl=state[queue])
        remove(state)
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
