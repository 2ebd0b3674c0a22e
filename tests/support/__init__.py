"""Helpers shared by the test suites: sample commands and a small county."""
