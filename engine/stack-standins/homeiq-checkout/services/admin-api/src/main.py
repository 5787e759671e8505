"""STAND-IN for HomeIQ's admin-api (homeiq-infra engine tests): the shared stand-in program, as admin-api."""
from homeiq_standin import run

if __name__ == "__main__":
    run("admin-api")
