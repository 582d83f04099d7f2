"""One FastAPI router per domain; each turns request parameters into a `core` call."""
