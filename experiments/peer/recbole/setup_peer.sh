#!/usr/bin/env bash
# Build the peer's own virtual environment (never freshrec's) and run RecBole's SASRec on ml-100k.
# Usage: bash experiments/peer/recbole/setup_peer.sh [RESULT_JSON]   (takes over an hour on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../../.."  # the repository root
venv=.peer-venv
if [[ ! -x $venv/bin/python ]]; then
  python3.11 -m venv "$venv"
  # Versions the peer needs on this machine; torch stays at the CPU wheel 2.13.0.
  "$venv/bin/pip" install -q torch==2.13.0 recbole==1.2.1 'setuptools<81' 'numpy<2' 'pandas<3'
fi
export TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
exec "$venv/bin/python" experiments/peer/recbole/run_recbole_sasrec.py "${1:-experiments/results/recbole_sasrec_ml100k.json}"
