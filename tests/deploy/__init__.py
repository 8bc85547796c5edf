"""The deployment for real: security headers, Debian's nginx with deploy/nginx in front
of two nodes on one Redis, and a browser call relayed by Debian's coturn.

A package so that module names here don't clash with tests/.
"""
