"""STAND-IN for HomeIQ's data-api (homeiq-infra engine tests): the shared stand-in program, as data-api."""
from homeiq_standin import StandinApp

app = StandinApp("data-api")
