//! Where the next job goes: a free slot on a place it may run on (the host
//! --onall binds it to, the hosts of its --hostgroups) whose --limit says
//! yes. A place --limit refuses is passed over until the next pass of the
//! loop, when it is asked again, as GNU parallel asks host by host.

use std::io::{self, Write};

use crate::backend::{Place, PlaceId};
use crate::gate::Gate;
use crate::job::JobSpec;
use crate::slots::Slots;

#[derive(Debug, Default)]
pub struct Placement {
    /// --limit said no for these places in this pass.
    limited: Vec<PlaceId>,
    /// --hostgroups: group sets no host is in, warned about once.
    unknown_groups: std::collections::HashSet<Vec<String>>,
}

impl Placement {
    /// A new pass of the loop: every place may be asked again.
    pub fn new_pass(&mut self) {
        self.limited.clear();
    }

    /// A free slot for `spec` and its place, taken from `slots`; None when
    /// none may take it now.
    pub fn slot_for(
        &mut self,
        spec: &JobSpec,
        places: &[Place],
        slots: &mut Slots,
        gate: &mut Gate,
    ) -> Option<(usize, PlaceId)> {
        let allowed = spec
            .groups
            .as_deref()
            .map(|groups| self.places_in(groups, places, slots));
        loop {
            let limited = &self.limited;
            let fits = |place: PlaceId| {
                !limited.contains(&place)
                    && spec.place.is_none_or(|p| p == place)
                    && allowed.as_ref().is_none_or(|a| a.contains(&place))
            };
            let (slot, place) = slots.take_among(fits)?;
            if gate.limit_allows(place, &places[place].name) {
                return Some((slot, place));
            }
            slots.put(slot);
            self.limited.push(place);
        }
    }

    /// --hostgroups: `$PARALLEL_HOSTGROUPS` (the groups of the job's place)
    /// and `$PARALLEL_ARGHOSTGROUPS` (its argument's groups, or every
    /// group when it names none), each joined by `+` as GNU parallel does.
    pub fn group_names(
        &self,
        spec: &JobSpec,
        place: PlaceId,
        places: &[Place],
    ) -> (String, String) {
        let host = places[place].groups.join("+");
        let arg = match &spec.groups {
            Some(groups) => groups.join("+"),
            None => {
                let mut all: Vec<&str> = places
                    .iter()
                    .flat_map(|p| p.groups.iter().map(String::as_str))
                    .collect();
                all.sort_unstable();
                all.dedup();
                all.join("+")
            }
        };
        (host, arg)
    }

    /// --hostgroups: the places (not dropped) in any of `groups`; every
    /// place when none is, as GNU parallel documents (said once per set).
    fn places_in(&mut self, groups: &[String], places: &[Place], slots: &Slots) -> Vec<PlaceId> {
        let usable = |p: &PlaceId| !slots.is_dropped(*p);
        let inside: Vec<PlaceId> = (0..places.len())
            .filter(usable)
            .filter(|&p| places[p].groups.iter().any(|g| groups.contains(g)))
            .collect();
        if !inside.is_empty() {
            return inside;
        }
        if self.unknown_groups.insert(groups.to_vec()) {
            let _ = writeln!(
                io::stderr(),
                "pool-run: warning: no host is in the host group(s) {}: those jobs run on any host",
                groups.join("+")
            );
        }
        (0..places.len()).filter(usable).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str, groups: &[&str]) -> Place {
        Place {
            name: name.to_string(),
            slots: 1,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn a_job_goes_to_a_free_slot_in_its_groups_or_anywhere_when_none_has_them() {
        let places = [place("a", &["x"]), place("b", &["y"])];
        let mut slots = Slots::new(&[1, 1]);
        let mut placement = Placement::default();
        let mut spec = JobSpec::new(1, Vec::new());
        spec.groups = Some(vec!["y".to_string()]);
        assert_eq!(placement.places_in(&["y".into()], &places, &slots), [1]);
        assert_eq!(placement.places_in(&["z".into()], &places, &slots), [0, 1]);
        let gate = &mut crate::gate::Gate::unlimited_for_tests();
        assert_eq!(
            placement.slot_for(&spec, &places, &mut slots, gate),
            Some((2, 1))
        );
        assert_eq!(
            placement.slot_for(&spec, &places, &mut slots, gate),
            None,
            "its only host is busy"
        );
        assert_eq!(
            placement.group_names(&spec, 1, &places),
            ("y".to_string(), "y".to_string())
        );
        spec.groups = None;
        assert_eq!(
            placement.group_names(&spec, 0, &places).1,
            "x+y",
            "every group"
        );
    }
}
