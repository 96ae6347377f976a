"""Local stand-ins for third-party HTTP APIs (loopback only)."""
