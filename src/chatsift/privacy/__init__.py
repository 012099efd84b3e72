"""Everything that keeps private values out of what chatsift writes.

The detectors (structured kinds, secrets, addresses, names) and the redactor that numbers and
replaces what they find; ``scrub`` for text chatsift writes itself (quarantine excerpts, warnings,
metadata). The PII stage (``stages/pii.py``) and every writer call into this package, so nothing
is redacted in two ways or written around it.
"""
