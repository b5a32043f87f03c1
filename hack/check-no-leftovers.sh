#!/usr/bin/env bash
# Fails when a control-plane process started by the test suite is still running.
set -euo pipefail
leftovers=$(pgrep -af '^([^ ]*/)?(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok)( |$)' || true)
if [ -n "$leftovers" ]; then
  echo "control-plane processes left running after the tests:" >&2
  echo "$leftovers" >&2
  exit 1
fi
echo "no control-plane process left running"
