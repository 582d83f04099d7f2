"""Energy market: signed orders, the interval book, clearing, settlement and its verification."""
