//! Sign-up.
