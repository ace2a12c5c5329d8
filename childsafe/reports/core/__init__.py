"""Pure domain core of report intake: no database, no web, no file or network I/O.

Data (flows, tips) is parsed here from plain mappings; `childsafe.reports.catalog` reads the
packaged files and hands them in.
"""
