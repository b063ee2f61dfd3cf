//! Messages: being written.
