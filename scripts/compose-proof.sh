#!/usr/bin/env bash
# Deploy Kerve with docker compose on a real Docker engine and check what an
# operator expects. The image builds and the server becomes healthy. The demo
# profile runs against it. A trained model survives a restart of the
# container with the same state, version and outputs, and stop exits 0.
#
#   scripts/compose-proof.sh 2>&1 | tee compose-proof.log
#
# It runs docker-compose.yml with deploy/compose.host-network.yml, so the
# server listens on 127.0.0.1:KERVE_PROOF_PORT of the host (default 50787),
# under its own compose project and image tag so that it touches no other
# deployment. It takes everything down, the volume included, on success and
# on failure, and exits non-zero if a check fails. It needs a Docker engine
# with the compose plugin and the client in .venv (make install). CI does not
# run it.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${KERVE_PROOF_PORT:-50787}
metrics_port=${KERVE_PROOF_METRICS_PORT:-50788}
project=${KERVE_PROOF_PROJECT:-kerve-compose-proof}
python=${KERVE_PROOF_PYTHON:-.venv/bin/python}
# Seconds to wait for the health status to become healthy after a restart.
health_timeout=${KERVE_PROOF_HEALTH_TIMEOUT:-180}

# Read by the compose files.
export KERVE_PORT=$port
export KERVE_METRICS_PORT=$metrics_port
export KERVE_IMAGE=${KERVE_PROOF_IMAGE:-kerve:compose-proof}

compose=(docker compose -p "$project" -f docker-compose.yml
  -f deploy/compose.host-network.yml)
volume="${project}_kerve-data"
target="127.0.0.1:$port"
model=demo-regression-large
workdir=$(mktemp -d)

step() { printf '\n==> %s\n' "$*"; }
run() {
  printf '+ %s\n' "$*"
  "$@"
}
fail() {
  printf 'FAILED: %s\n' "$*"
  exit 1
}
pass() { printf 'ok: %s\n' "$*"; }

cleanup() {
  local status=$?
  trap - EXIT
  if [ "$status" -ne 0 ]; then
    step "Failure (exit status $status): last server log lines"
    "${compose[@]}" logs --no-color --tail 40 kerve || true
  fi
  step "Take everything down, the volume included"
  run "${compose[@]}" --profile demo down -v --remove-orphans || status=1
  if docker volume inspect "$volume" >/dev/null 2>&1; then
    printf 'FAILED: volume %s still exists\n' "$volume"
    status=1
  else
    pass "volume $volume removed"
  fi
  rm -rf "$workdir"
  if [ "$status" -eq 0 ]; then
    printf '\nPROOF PASSED\n'
  else
    printf '\nPROOF FAILED (exit status %s)\n' "$status"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# -a: a stopped container too.
container_id() { "${compose[@]}" ps -a -q kerve; }
health() { docker inspect --format '{{.State.Health.Status}}' "$(container_id)"; }

wait_healthy() {
  local deadline=$((SECONDS + health_timeout))
  local status previous=""
  while true; do
    status=$(health)
    if [ "$status" != "$previous" ]; then
      printf 'health status: %s\n' "$status"
      previous=$status
    fi
    if [ "$status" = healthy ]; then
      pass "health status is healthy"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "health status is $status after $health_timeout s, expected healthy"
    fi
    sleep 2
  done
}

# Print the model's state, version and verdict and its outputs for fixed rows
# as JSON, through the Python client on the host.
record_model() {
  "$python" - "$target" "$model" <<'PYTHON'
import json
import sys

import numpy as np

import kerve

target, name = sys.argv[1:3]
rows = np.random.default_rng(7).normal(size=(4, 5)).astype(np.float32)
with kerve.Client(target, timeout=30.0) as client:
    model = client.get_model(name)
    prediction = client.predict(name, rows)
record = {
    "name": model.name,
    "state": model.state.name,
    "version": model.version,
    "verdict": model.verdict.name,
    "prediction_version": prediction.version,
    "untrained": prediction.untrained,
    "outputs": prediction.outputs.ravel().tolist(),
}
print(json.dumps(record, indent=2))
PYTHON
}

json_field() { "$python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

step "Engine and tools"
run docker version --format 'engine {{.Server.Version}}, client {{.Client.Version}}'
run docker compose version
[ -x "$python" ] || fail "$python not found; run make install first"
if [ -n "$("${compose[@]}" ps -a -q)" ]; then
  fail "compose project $project already has containers; set KERVE_PROOF_PROJECT"
fi
for free in "$port" "$metrics_port"; do
  "$python" -c 'import socket, sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' \
    "$free" 2>/dev/null ||
    fail "port $free on 127.0.0.1 is in use; set KERVE_PROOF_PORT and KERVE_PROOF_METRICS_PORT"
done
pass "project $project is unused and ports $port and $metrics_port are free"

step "Build the image $KERVE_IMAGE"
run "${compose[@]}" build kerve
run docker image inspect --format \
  'user={{.Config.User}} env={{.Config.Env}} healthcheck={{.Config.Healthcheck.Test}} volumes={{.Config.Volumes}}' \
  "$KERVE_IMAGE"
[ "$(docker image inspect --format '{{.Config.User}}' "$KERVE_IMAGE")" = kerve ] ||
  fail "the image does not run as the user kerve"
pass "the image runs as the user kerve"

step "Start the server and wait until it is healthy"
run "${compose[@]}" up --build --wait kerve
run "${compose[@]}" ps
[ "$(health)" = healthy ] || fail "health status is $(health), expected healthy"
pass "health status is healthy"
run "${compose[@]}" exec -T kerve python -m kerve_server.healthcheck
run "${compose[@]}" exec -T kerve id
[ "$("${compose[@]}" exec -T kerve id -u)" = 10001 ] || fail "the server's uid is not 10001"
pass "the server runs as uid 10001"
run docker inspect --format '{{range .Mounts}}{{.Name}} on {{.Destination}}{{"\n"}}{{end}}' \
  "$(container_id)"
docker inspect --format '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}' \
  "$(container_id)" | grep -q "$volume:/data" || fail "volume $volume is not on /data"
pass "volume $volume is mounted on /data"

step "Run the demo profile against the server"
run "${compose[@]}" --profile demo run --rm -T demo | tee "$workdir/demo.txt"
grep -q "verdict on version" "$workdir/demo.txt" || fail "the demo printed no verdict"
grep -q "baseline .*: training_mean" "$workdir/demo.txt" ||
  fail "the demo printed no baseline"
pass "the demo ran and printed verdicts and baselines"

step "Ask the server for its status and scrape its metrics"
run .venv/bin/kerve --server "$target" status
printf '+ curl http://127.0.0.1:%s/metrics | grep (request and state series)\n' \
  "$metrics_port"
"$python" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
  "http://127.0.0.1:$metrics_port/metrics" >"$workdir/metrics.txt"
grep -E '^kerve_(rpc_requests_total\{.*grpc_method="Train"|models_by_state|training_runs_total)' \
  "$workdir/metrics.txt"
# The label order of a series is prometheus_client's, so match each label.
grep -E '^kerve_rpc_requests_total\{.*grpc_method="Train"' "$workdir/metrics.txt" |
  grep -q 'grpc_code="OK"' || fail "the metrics count no Train call"
pass "the metrics endpoint serves request counts and models by state"

step "Record the trained model $model through the client on the host"
record_model | tee "$workdir/before.json"
[ "$(json_field state <"$workdir/before.json")" = TRAINED ] ||
  fail "model $model is not TRAINED"
[ "$(json_field untrained <"$workdir/before.json")" = False ] ||
  fail "the prediction of $model is flagged untrained"
pass "model $model is TRAINED at version $(json_field version <"$workdir/before.json")"

step "Restart the server container"
started_before=$(docker inspect --format '{{.State.StartedAt}}' "$(container_id)")
run "${compose[@]}" restart kerve
started_after=$(docker inspect --format '{{.State.StartedAt}}' "$(container_id)")
[ "$started_before" != "$started_after" ] || fail "the container did not restart"
pass "container restarted: started at $started_before, then at $started_after"
wait_healthy
run "${compose[@]}" ps
printf '+ %s logs kerve | grep (shutdown and store lines)\n' "${compose[*]}"
"${compose[@]}" logs --no-color kerve | tee "$workdir/server.log" |
  grep -E 'stopping: health NOT_SERVING|kerve_server.transport.server: stopped|loaded [0-9]+ of [0-9]+ models|Kerve listening'
grep -q 'stopping: health NOT_SERVING' "$workdir/server.log" ||
  fail "the server logged no graceful stop on SIGTERM"
pass "the server stopped gracefully on SIGTERM"

step "Check that the trained model survived the restart"
record_model | tee "$workdir/after.json"
run diff -u "$workdir/before.json" "$workdir/after.json"
pass "same state, version, verdict and outputs after the restart"

step "Stop the server: SIGTERM, then the exit code"
run "${compose[@]}" stop kerve
exit_code=$(docker inspect --format '{{.State.ExitCode}}' "$(container_id)")
printf 'exit code %s\n' "$exit_code"
[ "$exit_code" = 0 ] || fail "the server exited with code $exit_code, expected 0"
pass "the server exited 0 within the stop grace period"
