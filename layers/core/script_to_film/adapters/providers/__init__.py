"""The video providers, one module each, looked up by name in `registry`.

This package runs nothing when imported, so importing one provider never loads the registry or
another provider.
"""
