"""STAND-IN for HomeIQ's enrichment-pipeline (homeiq-infra engine tests): the shared stand-in program, as enrichment-pipeline."""
from homeiq_standin import run

if __name__ == "__main__":
    run("enrichment-pipeline")
