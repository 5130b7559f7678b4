//! The promises the edge's executor awaits ([`super::task`]): a slot per promise, with its
//! result once it has settled and the waker to call then. No JavaScript types here, so that
//! the bookkeeping is tested natively (the crate root includes this file in native tests).
//!
//! A slot that stays open for [`ABANDONED_MS`] is given up. The runtime cancels a request
//! whose client went away, and the promises it was awaiting then never settle: without this,
//! each such request would keep its task (its future, the request it holds, its wakers) for
//! the isolate's whole life. Nothing the edge awaits takes that long: storage and KV answer in
//! milliseconds, and fetches time out within seconds.

/// How long a slot may stay open before it counts as abandoned.
pub const ABANDONED_MS: f64 = 10.0 * 60.0 * 1000.0;
/// Up to this many open slots, none is given up (a handful of abandoned tasks costs little).
pub const KEEP_UP_TO: usize = 64;

/// One awaited promise.
pub struct Slot<R, W> {
    id: u32,
    opened_ms: f64,
    result: Option<R>,
    waker: Option<W>,
}

/// What a poll finds.
#[derive(Debug, PartialEq)]
pub enum Found<R> {
    Ready(R),
    Pending,
    /// No such slot: closed, or given up as abandoned.
    Lost,
}

/// The open slots, oldest first (a slot is pushed when opened and removed in place, so the
/// order is that of opening). A short list, searched from the end: the promise settling is
/// usually among the newest.
pub struct Slots<R, W> {
    next: u32,
    open: Vec<Slot<R, W>>,
}

impl<R, W> Default for Slots<R, W> {
    fn default() -> Self {
        Slots { next: 0, open: Vec::new() }
    }
}

impl<R, W> Slots<R, W> {
    fn get(&mut self, id: u32) -> Option<&mut Slot<R, W>> {
        self.open.iter_mut().rev().find(|s| s.id == id)
    }

    /// A new slot's id, and the slots given up as abandoned. The caller drops those outside
    /// any borrow of `self`: dropping a task's last waker drops its future, which may close
    /// slots of its own.
    pub fn open(&mut self, now_ms: f64) -> (u32, Vec<Slot<R, W>>) {
        let abandoned = match self.open.len() > KEEP_UP_TO {
            true => {
                let n = self.open.iter().take_while(|s| now_ms - s.opened_ms >= ABANDONED_MS).count();
                self.open.drain(..n).collect()
            }
            false => Vec::new(),
        };
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        self.open.push(Slot { id, opened_ms: now_ms, result: None, waker: None });
        (id, abandoned)
    }

    /// The promise of slot `id` settled: keep its result, and hand back whom to wake. A slot
    /// no longer open drops the result.
    pub fn settle(&mut self, id: u32, result: R) -> Option<W> {
        let slot = self.get(id)?;
        slot.result = Some(result);
        slot.waker.take()
    }

    /// The result, if the promise has settled; else `waker` is kept to be woken when it does.
    pub fn poll(&mut self, id: u32, waker: impl FnOnce() -> W) -> Found<R> {
        let Some(slot) = self.get(id) else { return Found::Lost };
        match slot.result.take() {
            Some(result) => Found::Ready(result),
            None => {
                slot.waker = Some(waker());
                Found::Pending
            }
        }
    }

    /// The slot is no longer awaited. Returned, to be dropped outside any borrow (see `open`).
    pub fn close(&mut self, id: u32) -> Option<Slot<R, W>> {
        let at = self.open.iter().rposition(|s| s.id == id)?;
        Some(self.open.remove(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type S = Slots<&'static str, &'static str>;

    #[test]
    fn a_result_reaches_its_poll_and_wakes_its_waker() {
        let mut s = S::default();
        let (a, _) = s.open(0.0);
        let (b, _) = s.open(0.0);
        assert_ne!(a, b);
        assert_eq!(s.poll(a, || "wake a"), Found::Pending);
        assert_eq!(s.settle(b, "b's result"), None, "b was not polled yet: nobody to wake");
        assert_eq!(s.settle(a, "a's result"), Some("wake a"));
        assert_eq!(s.poll(a, || unreachable!()), Found::Ready("a's result"));
        assert_eq!(s.poll(b, || unreachable!()), Found::Ready("b's result"));
        assert_eq!(s.poll(a, || "again"), Found::Pending, "a result is handed out once");
    }

    #[test]
    fn a_closed_slot_drops_what_arrives_later() {
        let mut s = S::default();
        let (a, _) = s.open(0.0);
        let (b, _) = s.open(0.0);
        assert!(s.close(a).is_some());
        assert!(s.close(a).is_none());
        assert_eq!(s.settle(a, "late"), None);
        assert_eq!(s.poll(a, || "w"), Found::Lost);
        assert_eq!((s.open.len(), s.poll(b, || "w")), (1, Found::Pending), "the other slot is untouched");
    }

    #[test]
    fn slots_open_too_long_are_given_up_once_there_are_many() {
        let mut s = S::default();
        let old: Vec<u32> = (0..KEEP_UP_TO).map(|_| s.open(0.0).0).collect();
        for &id in &old {
            assert_eq!(s.poll(id, || "stuck"), Found::Pending);
        }
        // At the limit, however old: nothing is given up.
        let (young, none) = s.open(ABANDONED_MS * 2.0);
        assert!(none.is_empty());
        // One more: only the slots open for ABANDONED_MS go, with their wakers; the young one stays.
        let (_, given_up) = s.open(ABANDONED_MS * 2.0 + ABANDONED_MS - 1.0);
        assert_eq!(given_up.len(), KEEP_UP_TO);
        assert!(given_up.iter().all(|g| g.waker == Some("stuck") && old.contains(&g.id)));
        assert_eq!(s.open.len(), 2);
        assert_eq!(s.poll(old[0], || "w"), Found::Lost);
        assert_eq!(s.settle(old[1], "too late"), None);
        assert_eq!(s.poll(young, || "w"), Found::Pending);
    }

    #[test]
    fn a_slot_just_short_of_the_age_stays() {
        let mut s = S::default();
        for _ in 0..=KEEP_UP_TO {
            s.open(0.0);
        }
        let (_, given_up) = s.open(ABANDONED_MS - 1.0);
        assert!(given_up.is_empty());
        let (_, given_up) = s.open(ABANDONED_MS);
        assert_eq!(given_up.len(), KEEP_UP_TO + 1);
    }

    #[test]
    fn abandoned_means_ten_minutes() {
        assert_eq!(ABANDONED_MS, 600_000.0, "the README's Security section says 10 minutes");
    }

    #[test]
    fn ids_wrap_around() {
        let mut s = S { next: u32::MAX, open: Vec::new() };
        let (a, _) = s.open(0.0);
        let (b, _) = s.open(0.0);
        assert_eq!((a, b), (u32::MAX, 0));
        assert_eq!(s.settle(b, "b"), None);
        assert_eq!(s.poll(b, || "w"), Found::Ready("b"));
        assert_eq!(s.poll(a, || "w"), Found::Pending);
    }
}
