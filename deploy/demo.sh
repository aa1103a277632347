#!/usr/bin/env bash
# logsentry's main job end to end on this machine (what `make demo` runs):
#   start a local Apache Kafka broker (KRaft) -> generate labelled traffic -> train and publish
#   a model -> start the streaming detector -> replay live traffic (with a few malformed
#   messages) -> show alerts, dead letters and metrics -> stop everything.
# Everything lands in ./work (git-ignored). LOGSENTRY_DEMO_KEEP=1 leaves broker and detector
# running to explore (stop them with: deploy/demo.sh stop).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${LOGSENTRY_WORK:-work}"
PORT="${LOGSENTRY_DEMO_PORT:-39092}"
METRICS_PORT="${LOGSENTRY_DEMO_METRICS_PORT:-9308}"
ROWS="${LOGSENTRY_DEMO_ROWS:-12000}"
TRAFFIC="${LOGSENTRY_DEMO_TRAFFIC:-3000}"
EPOCHS="${LOGSENTRY_DEMO_EPOCHS:-}"
STORE="$WORK/models"
KAFKA_DIR="$WORK/kafka"
export LOGSENTRY_BOOTSTRAP_SERVERS="127.0.0.1:$PORT"
KAFKA=deploy/kafka/kafka-local

step() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
stop_all() {
  if [ -f "$WORK/stream.pid" ]; then
    kill -TERM "$(cat "$WORK/stream.pid")" 2>/dev/null && wait "$(cat "$WORK/stream.pid")" 2>/dev/null || true
    rm -f "$WORK/stream.pid"
  fi
  "$KAFKA" stop --port "$PORT" --dir "$KAFKA_DIR" >/dev/null || true
}
if [ "${1:-}" = stop ]; then stop_all; exit 0; fi
mkdir -p "$WORK"
if [ "${LOGSENTRY_DEMO_KEEP:-0}" != 1 ]; then trap stop_all EXIT; fi

step "start a local Apache Kafka broker (KRaft) on 127.0.0.1:$PORT"
"$KAFKA" start --port "$PORT" --dir "$KAFKA_DIR"

step "generate labelled request logs: $ROWS to train on, $TRAFFIC as live traffic"
logsentry generate --rows "$ROWS" --out "$WORK/train.csv" --seed 1
logsentry generate --rows "$TRAFFIC" --out "$WORK/traffic.csv" --seed 2 --attack-share 0.1

step "train the default model and publish it to $STORE"
logsentry train --data "$WORK/train.csv" --store "$STORE" ${EPOCHS:+--epochs "$EPOCHS"} --keras-verbose 2
logsentry models list --store "$STORE"

step "start the streaming detector (metrics on http://127.0.0.1:$METRICS_PORT/metrics)"
logsentry stream --store "$STORE" --topics requests --metrics-port "$METRICS_PORT" > "$WORK/stream.log" 2>&1 &
echo $! > "$WORK/stream.pid"
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$METRICS_PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$(cat "$WORK/stream.pid")" 2>/dev/null || { cat "$WORK/stream.log"; echo "the detector exited"; exit 1; }
  sleep 0.5
done
curl -fs "http://127.0.0.1:$METRICS_PORT/healthz"

step "replay live traffic to topic 'requests' (plus 3 malformed messages)"
printf '%s\n' 'this is not a log line' '[1,2,3]' '{"method":"get","path":"/","path":"/admin"}' > "$WORK/malformed.jsonl"
logsentry replay "$WORK/traffic.csv" --topic requests --partitions 4 --rate 1500
logsentry replay "$WORK/malformed.jsonl" --topic requests --quiet

step "alerts on topic 'logsentry-alerts' (first 10)"
logsentry alerts --from-beginning --max 10 --timeout 30

step "what the detector measured"
for _ in $(seq 1 60); do
  consumed="$(curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" | awk '/^logsentry_events_consumed_total/ {s+=$2} END {print s+0}')"
  [ "${consumed%.*}" -ge $((TRAFFIC + 3)) ] && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" \
  | grep -E '^logsentry_(events_(consumed|scored|flagged)_total|alerts_published_total|dead_letters_total\{reason="(unrecognized_format|not_object|duplicate_key)"\}|input_format_messages_total|model_info)'
echo
echo "metrics:      http://127.0.0.1:$METRICS_PORT/metrics  (health: /healthz)"
echo "alerts:       logsentry alerts --bootstrap-servers 127.0.0.1:$PORT"
echo "model report: $STORE/versions/$(logsentry models --store "$STORE" show | python -c 'import json,sys; print(json.load(sys.stdin)["version"])')/report/summary.md"
if [ "${LOGSENTRY_DEMO_KEEP:-0}" = 1 ]; then echo "still running; stop with: deploy/demo.sh stop"; fi
