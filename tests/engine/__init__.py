"""Contract suites, one module per engine protocol, each run against every engine.

A package so that module names here (test_presence.py) don't clash with tests/.
"""
