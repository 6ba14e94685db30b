"""Shared test set-up. Integration tests run probe files through pytest itself (pytester,
in a subprocess) against the embedded demo shop on ephemeral ports, in real Chromium."""

pytest_plugins = ["pytester"]
