"""The read API over the index, and the order intake of the live market (`gridledger serve`).

Split as the architecture says: `core/` holds the SQL (one module per domain, no FastAPI),
`routes/` one router per domain, `deps.py` the shared request parameters, `models.py` the
response shapes and `problems.py` the RFC 9457 error bodies.
"""
