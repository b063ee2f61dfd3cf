//! Conformance suite (filled in by the SQLite backend work).
