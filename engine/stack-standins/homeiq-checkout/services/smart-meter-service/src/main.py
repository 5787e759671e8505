"""STAND-IN for HomeIQ's smart-meter (homeiq-infra engine tests): the shared stand-in program, as smart-meter."""
from homeiq_standin import run

if __name__ == "__main__":
    run("smart-meter")
