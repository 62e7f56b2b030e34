"""Fakes of the vendors' HTTP APIs, served on 127.0.0.1 for the real SDKs to talk to."""
