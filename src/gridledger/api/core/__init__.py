"""The API's queries: plain SQLAlchemy Core over the index, one module per domain, so that they
can be used and tested without the web layer."""
