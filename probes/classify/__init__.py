"""Failure point → cause. ``rules`` is the YAML shape of the rules and how files combine,
``causes.yaml`` the built-in rules (package data), ``classifier`` applies them.

User rules extend the built-ins: ``orderprobe run --rules FILE`` or
``python -m orderprobe.probes.classify --rules FILE [failure.json …]``.
"""

from orderprobe.probes.classify.classifier import Classifier, main
from orderprobe.probes.classify.rules import BUILTIN, RulesError

__all__ = ["BUILTIN", "Classifier", "RulesError", "main"]
