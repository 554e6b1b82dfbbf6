//! A short most-recently-used list behind a lock: what understudy remembers so that doing the
//! same thing again (putting a scenario's text, writing a `json!` document, laying out a
//! one-scenario snapshot) costs a lookup instead of the work. The callers decide what is
//! worth keeping and how an item is recognised; this owns the order and the bound.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

/// At most `capacity` items, the most recently found or remembered first.
pub struct Recent<T> {
    items: Mutex<VecDeque<T>>,
    capacity: usize,
}

impl<T> Recent<T> {
    /// An empty list keeping at most `capacity` items (usable in a `static`).
    pub const fn new(capacity: usize) -> Self {
        Recent {
            items: Mutex::new(VecDeque::new()),
            capacity,
        }
    }

    /// The first item `hit` recognises, moved to the front and read through `read`.
    pub fn find<R>(&self, hit: impl FnMut(&T) -> bool, read: impl FnOnce(&T) -> R) -> Option<R> {
        let mut items = self.lock();
        let at = items.iter().position(hit)?;
        if at > 0 {
            let item = items.remove(at)?;
            items.push_front(item);
        }
        items.front().map(read)
    }

    /// Puts `item` first; the oldest beyond the capacity is dropped.
    pub fn remember(&self, item: T) {
        let mut items = self.lock();
        items.push_front(item);
        items.truncate(self.capacity);
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<T>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn a_found_item_moves_first_and_the_oldest_goes_past_the_capacity() {
        let recent = Recent::new(2);
        recent.remember(1);
        recent.remember(2);
        assert_eq!(recent.find(|&i| i == 1, |&i| i * 10), Some(10));
        recent.remember(3);
        // 1 was found after 2 was remembered, so 2 is the oldest and goes.
        assert_eq!(recent.find(|&i| i == 2, |&i| i), None);
        assert_eq!(recent.find(|&i| i == 1, |&i| i), Some(1));
        assert_eq!(recent.find(|&i| i == 3, |&i| i), Some(3));
    }
}
