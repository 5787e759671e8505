"""STAND-IN for HomeIQ's data-retention (homeiq-infra engine tests): the shared stand-in program, as data-retention."""
from homeiq_standin import run

if __name__ == "__main__":
    run("data-retention")
