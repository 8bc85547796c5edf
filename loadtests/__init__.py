"""Load generators and benchmark scenarios for fairhall (loopback only, bounded)."""
