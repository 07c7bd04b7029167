#!/usr/bin/env python3
"""A downstream subscriber of Warden's audit topics, in Python.

It reads Warden topics with confluent-kafka, decodes the schema-registry wire format (magic byte 0, a 4-byte
schema id, then JSON), checks each event's schema id against the registry's Confluent API, recomputes each
event's sha256 over its RFC 8785 canonical form, and checks every prevHashes link of each task's chain.
It prints one JSON line per event and a final summary line:

    KAFKA_SASL_MECHANISM=scram-sha-512 KAFKA_SASL_USERNAME=client KAFKA_SASL_PASSWORD=... \
    python3 subscriber.py --brokers 127.0.0.1:9092 \
        --registry http://127.0.0.1:8081/apis/ccompat/v7 \
        --topics warden.tasks.v1,warden.proposals.v1,warden.verdicts.v1,warden.results.v1,warden.outcomes.v1 \
        --max-events 100

`--check-vectors schemas/test-vectors/canonical.json` checks this canonicaliser against Warden's vectors first.
"""
import argparse
import hashlib
import json
import os
import re
import struct
import sys
import time
import urllib.request
from collections import defaultdict

import rfc8785
from confluent_kafka import Consumer, KafkaError


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


def _js_int(text):
    """JSON numbers are doubles in JavaScript: integers beyond 2**53 become floats, as there."""
    n = int(text)
    return n if abs(n) <= 2**53 else float(n)


def loads(text):
    """json.loads with JavaScript's number semantics, so the canonical form matches Warden's."""
    return json.loads(text, parse_int=_js_int)


def event_hash(envelope):
    """sha256 (hex) of an envelope's RFC 8785 canonical form: the hash Warden's chain uses."""
    return hashlib.sha256(rfc8785.dumps(envelope)).hexdigest()


def check_vectors(path):
    with open(path, encoding="utf-8") as f:
        vectors = json.load(f)
    for v in vectors:
        canonical = rfc8785.dumps(loads(v["inputJson"])).decode("utf-8")
        if canonical != v["canonical"] or hashlib.sha256(canonical.encode("utf-8")).hexdigest() != v["sha256"]:
            raise SystemExit(f"canonical vector {v['name']!r} differs: {canonical!r} != {v['canonical']!r}")
    return len(vectors)


class Registry:
    """Schema lookups by id through the Confluent API, cached."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.cache = {}

    def schema(self, schema_id):
        if schema_id not in self.cache:
            with urllib.request.urlopen(f"{self.url}/schemas/ids/{schema_id}", timeout=10) as r:
                body = json.load(r)
            self.cache[schema_id] = json.loads(body["schema"])
        return self.cache[schema_id]


SEALED_FIELD = "__wardenSealed"
# a sealed value written as JSON inside a text: its one field holds strings and a number, no nested braces
SEALED_IN_TEXT = re.compile(r'\{"' + SEALED_FIELD + r'":\{[^{}]*\}\}')


def sealed_values(value, path="data"):
    """(path, subject) of every sealed value (personal data encrypted with its subject's key, ADR 0026) in a value."""
    if isinstance(value, dict):
        inner = value.get(SEALED_FIELD)
        if len(value) == 1 and isinstance(inner, dict) and isinstance(inner.get("subject"), str):
            yield path, inner["subject"]
            return
        for k, v in value.items():
            yield from sealed_values(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from sealed_values(v, f"{path}[{i}]")
    elif isinstance(value, str) and SEALED_FIELD in value:
        # pieces of a text sealed in place (what a model repeated of personal data): the sealed value's JSON
        for m in SEALED_IN_TEXT.finditer(value):
            try:
                piece = json.loads(m.group(0))
            except ValueError:
                continue  # a truncated piece: not a sealed value
            yield from sealed_values(piece, path)


def decode(raw, registry):
    if raw is None or len(raw) < 6 or raw[0] != 0:
        raise ValueError("not in the schema registry wire format")
    (schema_id,) = struct.unpack(">i", raw[1:5])
    schema = registry.schema(schema_id)
    envelope = loads(raw[5:].decode("utf-8"))
    title = schema.get("title", "")
    if title != f"warden.{envelope.get('type')}":
        raise ValueError(f"schema {schema_id} is {title!r}, the event says {envelope.get('type')!r}")
    return schema_id, envelope


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--brokers", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--topics", required=True)
    p.add_argument("--group", default="warden-python-subscriber")
    p.add_argument("--max-events", type=int, default=0, help="stop after this many events (0: run until idle)")
    p.add_argument("--idle-seconds", type=float, default=10.0)
    p.add_argument("--check-vectors")
    args = p.parse_args()

    if args.check_vectors:
        print(json.dumps({"vectorsChecked": check_vectors(args.check_vectors)}), flush=True)

    registry = Registry(args.registry)
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        **kafka_security(),
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "isolation.level": "read_committed",
    })
    consumer.subscribe(args.topics.split(","))
    hashes = defaultdict(dict)  # taskId -> {hash: envelope}
    events = 0
    undecodable = 0
    erased = set()  # subjects whose SubjectErased was read
    last = time.monotonic()
    try:
        while args.max_events == 0 or events < args.max_events:
            msg = consumer.poll(0.5)
            if msg is None:
                if time.monotonic() - last > args.idle_seconds:
                    break
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise SystemExit(f"kafka error: {msg.error()}")
            last = time.monotonic()
            try:
                schema_id, envelope = decode(msg.value(), registry)
            except ValueError as e:
                undecodable += 1
                print(json.dumps({"topic": msg.topic(), "offset": msg.offset(), "undecodable": str(e)}), flush=True)
                continue
            h = event_hash(envelope)
            hashes[envelope["taskId"]][h] = envelope
            events += 1
            line = {
                "type": envelope["type"], "taskId": envelope["taskId"], "seq": envelope["seq"],
                "hash": h, "schemaId": schema_id, "topic": msg.topic(),
            }
            if envelope["type"] == "SubjectErased":
                erased.add(envelope["data"]["subject"])
            sealed = [{"path": p, "subject": sub, "state": "erased" if sub in erased else "sealed"}
                      for p, sub in sealed_values(envelope.get("data"))]
            if sealed:
                line["sealed"] = sealed
            print(json.dumps(line), flush=True)
    finally:
        consumer.close()

    broken = []
    for task_id, by_hash in hashes.items():
        for h, env in by_hash.items():
            if env["type"] == "DeadLettered":
                continue
            for prev in env.get("prevHashes", []):
                if prev not in by_hash:
                    broken.append({"taskId": task_id, "seq": env["seq"], "missing": prev})
    # A subject's data reads as erased once its erasure is in the log, whichever topic was read first.
    erased_fields = [{"taskId": task_id, "seq": env["seq"], "path": p, "subject": sub}
                     for task_id, by_hash in hashes.items() for env in by_hash.values()
                     for p, sub in sealed_values(env.get("data")) if sub in erased]
    print(json.dumps({"summary": True, "events": events, "tasks": len(hashes), "undecodable": undecodable,
                      "brokenLinks": broken, "erasedSubjects": sorted(erased), "erasedFields": erased_fields}),
          flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
