"""Evidence at receipt: pasted text, structured conversation captures and files.

Evidence is never modified: what is accepted is kept byte for byte, hashed on receipt
(SHA-256, plus MD5 because NCMEC's CyberTipline asks for it), and refused with a specific
`EvidenceRejected` code otherwise.
"""
