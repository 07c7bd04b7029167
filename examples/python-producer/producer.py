#!/usr/bin/env python3
"""Publishes a task to Warden from Python, without Warden's code, then (optionally) waits for how it ended.

The contract (docs/publishing-tasks.md): a TaskSubmitted envelope as JSON, framed in the schema-registry wire
format (magic byte 0, the 4-byte big-endian schema id of subject "<subject prefix>TaskSubmitted", then the JSON),
keyed by the task id, on topic "<prefix>.tasks.v1". Warden's workers validate it like any event; one that does not
match the schema is dead-lettered on "<prefix>.dlq.v1" with the reason, keyed by the same task id.

    python3 producer.py --goal "Refund order ord_7731 of customer cus_1042: 42.50 USD." \\
        --input '{"customerId": "cus_1042", "orderId": "ord_7731", "amountUsd": 42.5}' \\
        --tools customers.query,payments.refund --collections customers --wait 60

Prints the task id, then with --wait one line per event of the task and its end: exit 0 when the task completed,
1 when it failed, halted, waits for a person or was dead-lettered (the reason is printed), 2 on a timeout.
`-X key=value` passes librdkafka settings through (security.protocol, sasl.mechanisms, sasl.username, ...).
"""
import argparse
import datetime
import json
import os
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import rfc8785
from confluent_kafka import Consumer, Producer

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_FILE = os.path.join(HERE, "..", "..", "schemas", "events", "TaskSubmitted.json")

# What a task gets when it says nothing else (the same defaults as `warden submit`).
DEFAULTS = {
    "requester": {"id": "python-producer", "kind": "service"},
    "limits": {
        "maxRowsPerAction": 10,
        "maxRowsPerTask": 50,
        "maxFilesPerAction": 5,
        "maxFilesPerTask": 20,
        "maxRecipientsPerAction": 5,
        "maxRecipientsPerTask": 20,
        "maxMoneyUsdPerAction": 100,
        "maxMoneyUsdPerTask": 500,
    },
    "budgets": {"maxTokens": 50000, "maxCostUsd": 1, "maxSteps": 20, "maxWallTimeMs": 600000},
    "risk": {"onMagnitudeExceeded": "escalate", "maxConsecutiveFailures": 3},
}
ENDS = {"TaskCompleted": 0, "TaskFailed": 1, "TaskHalted": 1, "EscalationRequested": 1, "DeadLettered": 1}


def registry_request(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(
        base.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read().decode("utf-8"))


def schema_id(registry, subject):
    """The id of the subject's latest schema; registers schemas/events/TaskSubmitted.json when it has none yet."""
    quoted = urllib.parse.quote(subject, safe="")
    try:
        return registry_request(registry, "GET", f"/subjects/{quoted}/versions/latest")["id"]
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        schema = json.dumps(json.load(f), separators=(",", ":"), ensure_ascii=False)
    registry_request(registry, "PUT", f"/config/{quoted}", {"compatibility": "BACKWARD"})
    return registry_request(registry, "POST", f"/subjects/{quoted}/versions", {"schemaType": "JSON", "schema": schema})["id"]


def frame(schema_id_, envelope):
    """The wire format: magic byte 0, the schema id (4 bytes, big-endian), the RFC 8785 canonical JSON."""
    return b"\x00" + struct.pack(">I", schema_id_) + rfc8785.dumps(envelope)


def envelope_of(task_id, tenant_id, data):
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": str(uuid.uuid4()),
        "type": "TaskSubmitted",
        "taskId": task_id,
        "tenantId": tenant_id,
        "seq": 0,
        "prevHashes": [],
        "causationId": None,
        "correlationId": task_id,
        "occurredAt": now,
        "producer": "python-producer@0.1.0",
        "policyVersion": "none",
        "data": data,
    }


def decode(raw):
    """The JSON of a framed Warden event (this example trusts the broker; the subscriber example checks more)."""
    if raw is None or len(raw) < 5 or raw[0] != 0:
        return None
    return json.loads(raw[5:].decode("utf-8"))


def describe(event):
    data = event.get("data", {})
    if event["type"] == "DeadLettered":
        return f"{data.get('errorCode')}: {data.get('errorMessage')}"
    for field in ("reasonCode", "reason", "answer", "tool"):
        if field in data:
            return str(data[field])[:160]
    return ""


def wait_for_end(conf, prefix, task_id, timeout_s):
    topics = [f"{prefix}.{k}.v1" for k in ("proposals", "verdicts", "results", "outcomes", "dlq")]
    consumer = Consumer({
        **conf,
        "group.id": f"python-producer-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    consumer.subscribe(topics)
    deadline = time.time() + timeout_s
    try:
        while time.time() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            if msg.key() is None or msg.key().decode("utf-8", "replace") != task_id:
                continue
            event = decode(msg.value())
            if event is None:
                continue
            print(f"{event['seq']:>3} {event['type']:<20} {describe(event)}", flush=True)
            if event["type"] in ENDS:
                return ENDS[event["type"]]
        print(f"no end of task {task_id} within {timeout_s} s", file=sys.stderr)
        return 2
    finally:
        consumer.close()



def kafka_security():
    """librdkafka settings for SASL from the environment (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
    KAFKA_SASL_PASSWORD; KAFKA_SSL=true for TLS), as Warden's workers read them. The local stack requires
    SCRAM-SHA-512: the passwords are in ~/.cache/warden/keys/kafka-users.json (ADR 0019)."""
    mechanism = os.environ.get("KAFKA_SASL_MECHANISM", "")
    ssl = os.environ.get("KAFKA_SSL", "false") == "true"
    if not mechanism:
        return {"security.protocol": "SSL"} if ssl else {}
    return {
        "security.protocol": "SASL_SSL" if ssl else "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism.upper(),
        "sasl.username": os.environ["KAFKA_SASL_USERNAME"],
        "sasl.password": os.environ["KAFKA_SASL_PASSWORD"],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"))
    p.add_argument("--registry", default=os.environ.get("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081/apis/ccompat/v7"))
    p.add_argument("--prefix", default=os.environ.get("WARDEN_TOPIC_PREFIX", "warden"), help="topic prefix")
    p.add_argument("--subject-prefix", default=os.environ.get("WARDEN_SUBJECT_PREFIX", "warden."))
    p.add_argument("--task", help="a JSON file with the task's data (goal, input, scope, ...)")
    p.add_argument("--goal")
    p.add_argument("--input", help="a JSON object")
    p.add_argument("--tools", help="comma-separated tools in scope")
    p.add_argument("--collections", help="comma-separated collections in scope")
    p.add_argument("--model", help="e.g. scripted:pipeline-refund")
    p.add_argument("--tenant", default="default")
    p.add_argument("--task-id", default=None)
    p.add_argument("--malformed", action="store_true", help="send a task that breaks the schema, to see the DLQ")
    p.add_argument("--wait", type=float, default=0, help="seconds to wait for the task's end (0: do not wait)")
    p.add_argument("-X", action="append", default=[], metavar="KEY=VALUE", help="a librdkafka setting")
    args = p.parse_args()

    data = dict(DEFAULTS)
    if args.task:
        with open(args.task, encoding="utf-8") as f:
            data.update(json.load(f))
    if args.goal:
        data["goal"] = args.goal
    data.setdefault("input", {})
    if args.input:
        data["input"] = json.loads(args.input)
    if args.tools or args.collections:
        scope = data.setdefault("scope", {})
        if args.tools:
            scope["tools"] = [t for t in args.tools.split(",") if t]
        if args.collections:
            scope.setdefault("resources", {})["collections"] = [c for c in args.collections.split(",") if c]
    if args.model:
        data["model"] = args.model
    if args.malformed:
        data["budgets"] = {"maxTokens": -1}  # not a positive limit: the workers refuse it

    conf = {"bootstrap.servers": args.brokers, **kafka_security()}
    for kv in args.X:
        key, _, value = kv.partition("=")
        conf[key] = value
    task_id = args.task_id or str(uuid.uuid4())
    value = frame(schema_id(args.registry, args.subject_prefix + "TaskSubmitted"), envelope_of(task_id, args.tenant, data))
    # murmur2_random is the Java client's partitioner: the task lands on the partition Warden's events of it use.
    producer = Producer({**conf, "enable.idempotence": True, "acks": "all", "partitioner": "murmur2_random"})
    failures = []
    producer.produce(
        f"{args.prefix}.tasks.v1",
        key=task_id.encode("utf-8"),
        value=value,
        headers={"warden-event-type": "TaskSubmitted", "warden-task-id": task_id, "warden-tenant-id": args.tenant},
        on_delivery=lambda err, _msg: failures.append(err) if err is not None else None,
    )
    producer.flush(30)
    if failures:
        print(f"publish failed: {failures[0]}", file=sys.stderr)
        return 3
    print(task_id, flush=True)
    return wait_for_end(conf, args.prefix, task_id, args.wait) if args.wait > 0 else 0


if __name__ == "__main__":
    sys.exit(main())
