"""STAND-IN for HomeIQ's sports-data (homeiq-infra engine tests): the shared stand-in program, as sports-data."""
from homeiq_standin import StandinApp

app = StandinApp("sports-data")
