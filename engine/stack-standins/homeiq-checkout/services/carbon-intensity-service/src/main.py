"""STAND-IN for HomeIQ's carbon-intensity (homeiq-infra engine tests): the shared stand-in program, as carbon-intensity."""
from homeiq_standin import run

if __name__ == "__main__":
    run("carbon-intensity")
