"""STAND-IN for HomeIQ's calendar (homeiq-infra engine tests): the shared stand-in program, as calendar."""
from homeiq_standin import run

if __name__ == "__main__":
    run("calendar")
