"""STAND-IN for HomeIQ's air-quality (homeiq-infra engine tests): the shared stand-in program, as air-quality."""
from homeiq_standin import run

if __name__ == "__main__":
    run("air-quality")
