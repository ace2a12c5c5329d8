"""`childsafe chat`: a small multi-user web chat, a separate application beside the platform.

It has its own accounts and SQLite store and talks to the childsafe platform only through
`childsafe.sdk` and the platform's JS snippet (an import-linter contract keeps it so); the
demo set-up (`childsafe.chat.demo_setup`) is the one exception, since it plays the
platform operator's part.
"""
