#!/usr/bin/env bash
# The main job end to end on this machine: generate labelled traffic, train a model,
# score requests offline. Everything lands in ./work (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${LOGSENTRY_WORK:-work}"
STORE="$WORK/models"
mkdir -p "$WORK"

step() { printf '\n== %s\n' "$*"; }

step "generate labelled request logs (training data and fresh traffic)"
logsentry generate --rows 12000 --out "$WORK/train.csv" --seed 1
logsentry generate --rows 2000 --out "$WORK/traffic.csv" --seed 2 --attack-share 0.1

step "train the default model and publish it to $STORE"
logsentry train --data "$WORK/train.csv" --store "$STORE"
logsentry models list --store "$STORE"

step "score fresh traffic offline (first 5 flagged requests)"
python - "$WORK/traffic.csv" > "$WORK/traffic.jsonl" <<'PY'
import csv, sys
for row in csv.reader(open(sys.argv[1], encoding="utf-8", newline=""), quotechar="|"):
    print(row[0])
PY
logsentry score --store "$STORE" "$WORK/traffic.jsonl" > "$WORK/scores.jsonl"
grep '"flagged": true' "$WORK/scores.jsonl" | head -n 5
logsentry evaluate --store "$STORE" --data "$WORK/traffic.csv"
echo
echo "report: $STORE/versions/$(logsentry models --store "$STORE" show | python -c 'import json,sys; print(json.load(sys.stdin)["version"])')/report/summary.md"
