"""STAND-IN for HomeIQ's websocket-ingestion (homeiq-infra engine tests): the shared stand-in program, as websocket-ingestion."""
from homeiq_standin import run

if __name__ == "__main__":
    run("websocket-ingestion")
