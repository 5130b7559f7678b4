//! The console pages.
