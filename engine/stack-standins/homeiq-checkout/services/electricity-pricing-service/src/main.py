"""STAND-IN for HomeIQ's electricity-pricing (homeiq-infra engine tests): the shared stand-in program, as electricity-pricing."""
from homeiq_standin import run

if __name__ == "__main__":
    run("electricity-pricing")
