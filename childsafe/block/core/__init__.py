"""Block domain core: canonicalization, expressions, list model, matcher. No I/O here."""
