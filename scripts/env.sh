# Sourced by the Makefile: run-time settings in one place, each overridable from the environment.
# shellcheck shell=bash
export RASA_TELEMETRY_ENABLED=false          # never phone home
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export TQDM_DISABLE=1                        # no progress bars in logs
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p .data
