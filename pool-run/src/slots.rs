//! Job slots and the places they belong to. Slot numbers (`{%}`) are dense
//! from 1; each belongs to one place (this machine, a host of `-S`, the
//! Slurm cluster). A start takes the free slot of the least busy place, so
//! jobs spread over every host instead of filling the first one's slots; a
//! dropped place's slots never come back.

use std::collections::BTreeSet;

use crate::backend::PlaceId;

#[derive(Debug)]
pub struct Slots {
    /// The place of each slot; index 0 is unused (slots count from 1).
    place_of: Vec<PlaceId>,
    free: BTreeSet<usize>,
    /// Running jobs per place.
    busy: Vec<usize>,
    dropped: Vec<bool>,
    /// Slots of places not dropped.
    capacity: usize,
    /// -j FILE lowered the count: these slots take no new job.
    retired: BTreeSet<usize>,
    /// Slots whose job is running.
    in_use: BTreeSet<usize>,
}

impl Slots {
    /// `per_place[p]`: the number of slots of place `p` (0: none).
    pub fn new(per_place: &[usize]) -> Slots {
        let mut place_of = vec![0];
        for (place, &n) in per_place.iter().enumerate() {
            place_of.extend(std::iter::repeat_n(place, n));
        }
        Slots {
            free: (1..place_of.len()).collect(),
            capacity: place_of.len() - 1,
            place_of,
            busy: vec![0; per_place.len()],
            dropped: per_place.iter().map(|&n| n == 0).collect(),
            retired: BTreeSet::new(),
            in_use: BTreeSet::new(),
        }
    }

    /// -j FILE on this machine (one place): `n` slots from now on. Slots
    /// over `n` take no new job (a running one finishes); slots come back,
    /// or new ones are added, when `n` grows.
    pub fn resize(&mut self, n: usize) {
        let n = n.max(1);
        while self.place_of.len() <= n {
            self.place_of.push(0);
            self.free.insert(self.place_of.len() - 1);
        }
        for slot in 1..=n {
            if self.retired.remove(&slot) && !self.in_use.contains(&slot) {
                self.free.insert(slot);
            }
        }
        for slot in n + 1..self.place_of.len() {
            self.retired.insert(slot);
            self.free.remove(&slot);
        }
        self.capacity = n;
    }

    /// Slots of places not dropped.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn any_free(&self) -> bool {
        !self.free.is_empty()
    }

    /// A free slot on the place with the fewest running jobs, and its place.
    #[cfg(test)]
    pub fn take(&mut self) -> Option<(usize, PlaceId)> {
        self.take_among(|_| true)
    }

    /// A free slot on the least busy of the places `allowed` says yes to
    /// (--hostgroups), and its place.
    pub fn take_among(&mut self, allowed: impl Fn(PlaceId) -> bool) -> Option<(usize, PlaceId)> {
        let slot = self
            .free
            .iter()
            .copied()
            .filter(|&slot| allowed(self.place_of[slot]))
            .min_by_key(|&slot| (self.busy[self.place_of[slot]], slot))?;
        self.free.remove(&slot);
        self.in_use.insert(slot);
        let place = self.place_of[slot];
        self.busy[place] += 1;
        Some((slot, place))
    }

    /// Whether `place` is gone for the run.
    pub fn is_dropped(&self, place: PlaceId) -> bool {
        self.dropped[place]
    }

    /// A job on `slot` ended: the slot is free again, unless its place was dropped.
    pub fn put(&mut self, slot: usize) {
        let place = self.place_of[slot];
        self.busy[place] = self.busy[place].saturating_sub(1);
        self.in_use.remove(&slot);
        if !self.dropped[place] && !self.retired.contains(&slot) {
            self.free.insert(slot);
        }
    }

    /// The place is gone for the run: its slots are never used again.
    pub fn drop_place(&mut self, place: PlaceId) {
        if !self.dropped[place] {
            self.capacity -= self
                .place_of
                .iter()
                .skip(1)
                .filter(|&&p| p == place)
                .count();
        }
        self.dropped[place] = true;
        let place_of = &self.place_of;
        self.free.retain(|&s| place_of[s] != place);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_spread_over_places_least_busy_first() {
        let mut slots = Slots::new(&[2, 2]);
        assert_eq!(slots.capacity(), 4);
        let taken: Vec<(usize, PlaceId)> = (0..4).map(|_| slots.take().unwrap()).collect();
        assert_eq!(taken, [(1, 0), (3, 1), (2, 0), (4, 1)]);
        assert!(!slots.any_free());
        assert_eq!(slots.take(), None);
        slots.put(3);
        assert_eq!(slots.take(), Some((3, 1)));
    }

    #[test]
    fn a_dropped_place_gives_no_slot_back() {
        let mut slots = Slots::new(&[1, 2]);
        let (slot, place) = slots.take().unwrap();
        assert_eq!(place, 0);
        slots.drop_place(1);
        assert_eq!(slots.capacity(), 1);
        assert!(!slots.any_free(), "place 1's free slots went with it");
        slots.put(slot);
        assert_eq!(slots.take(), Some((1, 0)));
    }

    #[test]
    fn a_place_without_slots_counts_as_dropped() {
        let mut slots = Slots::new(&[0, 1]);
        assert_eq!(slots.capacity(), 1);
        assert_eq!(slots.take(), Some((1, 1)));
    }
}
