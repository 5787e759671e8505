"""STAND-IN for HomeIQ's log-aggregator (homeiq-infra engine tests): the shared stand-in program, as log-aggregator."""
from homeiq_standin import run

if __name__ == "__main__":
    run("log-aggregator")
