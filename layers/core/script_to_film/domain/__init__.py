"""The domain: what a screenplay, a shot, a film and their rules are, with no I/O and no AWS.

Everything else in the layer builds on these modules, and they import only each other (and
pydantic).
"""
