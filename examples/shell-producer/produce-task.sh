#!/usr/bin/env bash
# Publishes a task to Warden from a shell, with kcat: no Warden code, no JSON library. The contract is in
# docs/publishing-tasks.md: a TaskSubmitted envelope as JSON, framed in the schema-registry wire format (magic byte 0,
# the 4-byte big-endian schema id of subject "<subject prefix>TaskSubmitted", then the JSON), keyed by the task id,
# partitioned as Java's default (murmur2), on topic "<prefix>.tasks.v1".
#
#   examples/shell-producer/produce-task.sh examples/shell-producer/task.json [TASK_ID]
#
# task.json holds the task's data (goal, input, scope, requester, limits, budgets, risk, and optionally model).
# Prints the task id. Follow it with `npx warden tail TASK_ID --until-end`.
# Environment: KAFKA_BROKERS, SCHEMA_REGISTRY_URL, WARDEN_TOPIC_PREFIX (default warden), WARDEN_SUBJECT_PREFIX
# (default "warden."), WARDEN_TENANT (default "default"), KAFKA_SASL_MECHANISM / KAFKA_SASL_USERNAME /
# KAFKA_SASL_PASSWORD (the local stack requires SCRAM-SHA-512: user client, its password in
# ~/.cache/warden/keys/kafka-users.json; KAFKA_SSL=true adds TLS), KCAT_OPTS (extra kcat flags).
set -euo pipefail

if [ $# -lt 1 ] || [ ! -r "$1" ]; then
  echo "usage: $0 TASK_DATA.json [TASK_ID]" >&2
  exit 2
fi
command -v kcat >/dev/null || { echo "kcat is needed: apt-get install kcat (or brew install kcat)" >&2; exit 2; }

brokers=${KAFKA_BROKERS:-127.0.0.1:9092}
registry=${SCHEMA_REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}
topic="${WARDEN_TOPIC_PREFIX:-warden}.tasks.v1"
subject="${WARDEN_SUBJECT_PREFIX-warden.}TaskSubmitted"
tenant=${WARDEN_TENANT:-default}
new_id() { cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen | tr 'A-Z' 'a-z'; }
task_id=${2:-$(new_id)}
case "$task_id$tenant" in
  *[!A-Za-z0-9._:-]*) echo "task id and tenant may hold only letters, digits and . _ : -" >&2; exit 2 ;;
esac

# The schema id Warden's workers registered for TaskSubmitted (each registers every event type when it starts).
latest=$(curl -fsS "$registry/subjects/$subject/versions/latest") || {
  echo "subject $subject is not in the registry at $registry: start the workers first (npx warden up)" >&2
  exit 3
}
schema_id=$(printf '%s' "$latest" | sed -n 's/.*"id":[[:space:]]*\([0-9][0-9]*\).*/\1/p')
[ -n "$schema_id" ] || { echo "no schema id in the registry's answer: $latest" >&2; exit 3; }

now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
envelope=$(printf '{"id":"%s","type":"TaskSubmitted","taskId":"%s","tenantId":"%s","seq":0,"prevHashes":[],"causationId":null,"correlationId":"%s","occurredAt":"%s","producer":"shell-producer@0.1.0","policyVersion":"none","data":%s}' \
  "$(new_id)" "$task_id" "$tenant" "$task_id" "$now" "$(cat "$1")")

frame=$(mktemp)
# SASL settings go to kcat in a file readable by this user only, never on its command line (-q: without the
# "Reading configuration" line).
auth=$(umask 077 && mktemp)
trap 'rm -f "$frame" "$auth"' EXIT
protocol=PLAINTEXT
[ "${KAFKA_SSL:-false}" = true ] && protocol=SSL
if [ -n "${KAFKA_SASL_MECHANISM:-}" ]; then
  [ "$protocol" = SSL ] && protocol=SASL_SSL || protocol=SASL_PLAINTEXT
  mechanism=$(printf '%s' "$KAFKA_SASL_MECHANISM" | tr 'a-z' 'A-Z')
  printf 'sasl.mechanisms=%s\nsasl.username=%s\nsasl.password=%s\n' \
    "$mechanism" "${KAFKA_SASL_USERNAME:?KAFKA_SASL_USERNAME is needed with KAFKA_SASL_MECHANISM}" \
    "${KAFKA_SASL_PASSWORD:?KAFKA_SASL_PASSWORD is needed with KAFKA_SASL_MECHANISM}" >"$auth"
fi
printf 'security.protocol=%s\n' "$protocol" >>"$auth"
byte() { printf "\\$(printf '%03o' "$1")"; }
{
  byte 0
  byte $(((schema_id >> 24) & 255)); byte $(((schema_id >> 16) & 255)); byte $(((schema_id >> 8) & 255)); byte $((schema_id & 255))
  printf '%s' "$envelope"
} >"$frame"

# One file is one message; murmur2_random is the Java client's partitioner, so the task lands where Warden's own
# events of the task do.
# shellcheck disable=SC2086
kcat -P -q -F "$auth" -b "$brokers" -t "$topic" -k "$task_id" -X topic.partitioner=murmur2_random \
  -H "warden-event-type=TaskSubmitted" -H "warden-task-id=$task_id" -H "warden-tenant-id=$tenant" \
  ${KCAT_OPTS:-} "$frame"
echo "$task_id"
