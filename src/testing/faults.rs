//! Fault injection for the fakes: [`Faults`] (fail the next or the n-th call of one fake) and
//! [`Sweep`] (count every storage step of every fake of one app, and fail the one armed, before
//! or after it takes effect).

use crate::error::StoreError;
use std::cell::{Cell, RefCell};

/// Fault injection: fail the next `n` calls, or let some through and fail one after them.
#[derive(Default)]
pub struct Faults {
    fail: Cell<u32>,
    skip: Cell<u32>,
}

impl Faults {
    pub fn fail_next(&self, n: u32) {
        self.skip.set(0);
        self.fail.set(n);
    }
    /// Let `n - 1` calls through, and fail the `n`th.
    pub fn fail_nth(&self, n: u32) {
        self.skip.set(n.saturating_sub(1));
        self.fail.set(1);
    }
    pub(super) fn check(&self, what: &str) -> Result<(), StoreError> {
        if self.skip.get() > 0 {
            self.skip.set(self.skip.get() - 1);
            return Ok(());
        }
        let n = self.fail.get();
        if n > 0 {
            self.fail.set(n - 1);
            return Err(StoreError(format!("injected fault in {what}")));
        }
        Ok(())
    }
}

/// One step a storage fake takes: what a [`Sweep`] counts and can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    KvGet,
    KvPut,
    KvDelete,
    KvList,
    /// A request to a Durable Object (the object then takes steps of its own).
    Call,
    Get,
    List,
    Commit,
    Alarm,
    SetAlarm,
}

impl Step {
    /// Whether the step changes anything: only then does failing it after it took effect
    /// differ from failing it before.
    pub fn writes(self) -> bool {
        matches!(self, Step::KvPut | Step::KvDelete | Step::Call | Step::Commit | Step::SetAlarm)
    }
}

/// How a swept step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Before it takes effect: nothing happened.
    Before,
    /// After it took effect: the write landed (the object ran the request), its answer was lost.
    After,
}

/// A fault sweep, shared by every fake of one app: counts every step of every kind, in order,
/// and fails the one armed ([`Sweep::arm`]), once. A sweep records the steps of a run
/// ([`Sweep::trace`]), so that a test can fail each of them in turn.
#[derive(Default)]
pub struct Sweep {
    trace: RefCell<Vec<Step>>,
    armed: Cell<Option<(usize, When)>>,
    /// A second fault of the same run ([`Sweep::also`]).
    also: Cell<Option<(usize, When)>>,
    fired: Cell<Option<(usize, Step)>>,
    fired_when: Cell<Option<When>>,
}

impl Sweep {
    /// Fail the `nth` step from now (1-based), `when`; the trace starts again.
    pub fn arm(&self, nth: usize, when: When) {
        self.trace.borrow_mut().clear();
        self.fired.set(None);
        self.fired_when.set(None);
        self.armed.set(Some((nth, when)));
        self.also.set(None);
    }

    /// Fail the `nth` step from the last [`arm`](Self::arm) too (two faults in one run).
    pub fn also(&self, nth: usize, when: When) {
        self.also.set(Some((nth, when)));
    }

    /// Count from now, failing nothing.
    pub fn record(&self) {
        self.trace.borrow_mut().clear();
        self.fired.set(None);
        self.fired_when.set(None);
        self.armed.set(None);
        self.also.set(None);
    }

    /// Fail nothing more (the trace goes on).
    pub fn disarm(&self) {
        self.armed.set(None);
        self.also.set(None);
    }

    /// The steps taken since the last [`arm`](Self::arm) or [`record`](Self::record).
    pub fn trace(&self) -> Vec<Step> {
        self.trace.borrow().clone()
    }

    /// The step that failed, with its number.
    pub fn fired(&self) -> Option<(usize, Step)> {
        self.fired.get()
    }

    /// Whether the step that failed had taken effect (its answer was lost).
    pub fn fired_after(&self) -> bool {
        self.fired_when.get() == Some(When::After)
    }

    /// A step begins: `Err` if it fails now, `Ok(true)` if it is to fail once it took effect.
    pub(super) fn enter(&self, step: Step) -> Result<bool, StoreError> {
        let n = {
            let mut trace = self.trace.borrow_mut();
            trace.push(step);
            trace.len()
        };
        let second = self.also.get().filter(|(nth, _)| *nth == n);
        match self.armed.get().filter(|(nth, _)| *nth == n).or(second) {
            Some((_, when)) => {
                if second.is_some() {
                    self.also.set(None);
                } else {
                    self.armed.set(None);
                }
                if self.fired.get().is_none() {
                    self.fired.set(Some((n, step)));
                    self.fired_when.set(Some(when));
                }
                match when {
                    When::Before => Err(StoreError(format!("injected fault before step {n} ({step:?})"))),
                    When::After => Ok(true),
                }
            }
            None => Ok(false),
        }
    }

    /// A step that [`enter`](Self::enter) marked took effect: its answer is lost.
    pub(super) fn lose<T>(after: bool, step: Step, value: T) -> Result<T, StoreError> {
        if after {
            return Err(StoreError(format!("injected fault after {step:?} took effect")));
        }
        Ok(value)
    }
}
