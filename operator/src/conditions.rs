//! Status conditions: computed as pure values, merged with what the object already shows so
//! `lastTransitionTime` only moves when a condition's status flips, and compared so the status
//! is written only when something changed (a status write triggers another reconcile).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::crd::CommonStatus;

/// Condition types.
pub const RECONCILED: &str = "Reconciled";
pub const AVAILABLE: &str = "Available";
pub const PUBLISHED: &str = "Published";
pub const READY: &str = "Ready";

/// One condition as computed by a controller, before merging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub type_: &'static str,
    pub ok: bool,
    pub reason: String,
    pub message: String,
}

impl Cond {
    pub fn ok(type_: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_,
            ok: true,
            reason: reason.into(),
            message: message.into(),
        }
    }
    pub fn fail(type_: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_,
            ok: false,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// `Ready` from the other conditions: true when all of them hold, else the first failing one's
/// reason and message.
pub fn ready_from(conds: &[Cond]) -> Cond {
    match conds.iter().find(|c| !c.ok) {
        None => Cond::ok(READY, "AllConditionsHold", "every condition holds"),
        Some(c) => Cond::fail(
            READY,
            &format!("{}{}", c.type_, "NotTrue"),
            c.message.clone(),
        ),
    }
}

/// The status to write: `new` conditions (in order, then `Ready`) with the old transition time
/// kept wherever a condition's status did not change. The apiserver refuses empty messages on
/// 1.20 under SSA in some paths, so an empty message becomes the reason.
pub fn merge(
    old: &CommonStatus,
    generation: Option<i64>,
    new: &[Cond],
    now: Timestamp,
) -> CommonStatus {
    let mut all: Vec<Cond> = new.to_vec();
    all.push(ready_from(new));
    let conditions = all
        .into_iter()
        .map(|c| {
            let status = if c.ok { "True" } else { "False" }.to_string();
            let previous = old.conditions.iter().find(|o| o.type_ == c.type_);
            let last_transition_time = match previous {
                Some(p) if p.status == status => p.last_transition_time.clone(),
                _ => Time(now),
            };
            let message = if c.message.is_empty() {
                c.reason.clone()
            } else {
                truncate(&c.message, 1024)
            };
            Condition {
                type_: c.type_.to_string(),
                status,
                reason: c.reason,
                message,
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect();
    CommonStatus {
        observed_generation: generation,
        conditions,
    }
}

/// Whether the status as shown differs from `new` in anything but transition times (which
/// `merge` already carried over).
pub fn changed(old: &CommonStatus, new: &CommonStatus) -> bool {
    old != new
}

/// The condition of `type_` in a status, if present.
pub fn find<'a>(status: &'a CommonStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of `type_` is `True`.
pub fn is_true(status: &CommonStatus, type_: &str) -> bool {
    find(status, type_).is_some_and(|c| c.status == "True")
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("time")
    }

    #[test]
    fn transition_time_moves_only_when_the_status_flips() {
        let first = merge(
            &CommonStatus::default(),
            Some(1),
            &[
                Cond::ok(RECONCILED, "Applied", "ok"),
                Cond::fail(AVAILABLE, "NoReplicas", "0/1"),
            ],
            t(100),
        );
        assert_eq!(first.conditions.len(), 3);
        let ready = find(&first, READY).expect("ready");
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, "AvailableNotTrue");
        assert_eq!(ready.message, "0/1");

        // Same statuses later (message changed): transition times stay.
        let second = merge(
            &first,
            Some(2),
            &[
                Cond::ok(RECONCILED, "Applied", "ok"),
                Cond::fail(AVAILABLE, "NoReplicas", "0/2"),
            ],
            t(200),
        );
        assert_eq!(
            find(&second, AVAILABLE).expect("a").last_transition_time,
            Time(t(100))
        );
        assert_eq!(
            find(&second, AVAILABLE).expect("a").observed_generation,
            Some(2)
        );
        assert!(changed(&first, &second));

        // Available flips: only it (and Ready) move.
        let third = merge(
            &second,
            Some(2),
            &[
                Cond::ok(RECONCILED, "Applied", "ok"),
                Cond::ok(AVAILABLE, "Available", "1/1"),
            ],
            t(300),
        );
        assert_eq!(
            find(&third, RECONCILED).expect("r").last_transition_time,
            Time(t(100))
        );
        assert_eq!(
            find(&third, AVAILABLE).expect("a").last_transition_time,
            Time(t(300))
        );
        assert!(is_true(&third, READY));

        // Nothing changed: nothing to write.
        let fourth = merge(
            &third,
            Some(2),
            &[
                Cond::ok(RECONCILED, "Applied", "ok"),
                Cond::ok(AVAILABLE, "Available", "1/1"),
            ],
            t(400),
        );
        assert!(!changed(&third, &fourth));
    }

    #[test]
    fn empty_messages_become_the_reason_and_long_ones_are_cut() {
        let s = merge(
            &CommonStatus::default(),
            None,
            &[
                Cond::fail(RECONCILED, "InvalidSpec", ""),
                Cond::ok(PUBLISHED, "Published", "é".repeat(900)),
            ],
            t(1),
        );
        assert_eq!(find(&s, RECONCILED).expect("r").message, "InvalidSpec");
        assert!(find(&s, PUBLISHED).expect("p").message.len() <= 1024 + "…".len());
    }
}
