# Shared settings of the engine scripts (sourced, not run).
# Where engine/install.sh unpacks Debian trixie's Docker Engine 26, and the oldest engine the
# tests accept: the program's health checks use the start interval (API 1.44, Engine 25).
ENGINE_DIR=${HOMEIQ_ENGINE_DIR:-/opt/homeiq-docker-26}
MIN_ENGINE_MAJOR=25
