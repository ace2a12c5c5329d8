"""Pure detection core of Watch: cue rules, per-conversation state, detectors, evaluation.

No I/O here (checked by an import-linter contract): data files are read by
`childsafe.watch.catalog`, messages arrive from ingestion, alerts are returned as values.
"""
