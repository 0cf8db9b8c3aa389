//! Holds the snapshot tests of the synthesized templates (see `tests/`).
