//! What wakes a controller besides its own objects: watcher configurations, mappers from a
//! watched object to the objects that reference it, and [`ChangeFilter`], which lets a watched
//! object through only when what its referrers care about changed.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Mutex;

use kube::runtime::controller::Controller;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::conditions::{AVAILABLE, is_true};
use crate::crd::Registry;
use crate::names::MANAGED_BY;

/// Every object of a kind, from the API server's watch cache.
pub fn all() -> watcher::Config {
    watcher::Config::default().any_semantic()
}

/// Only the children this operator made (the label every child carries).
pub fn children() -> watcher::Config {
    watcher::Config::default()
        .labels(&format!("app.kubernetes.io/managed-by={MANAGED_BY}"))
        .any_semantic()
}

/// The object `name` in `namespace` (or cluster-wide when there is none).
pub fn named<K: Resource<DynamicType = ()>>(name: &str, namespace: Option<&str>) -> ObjectRef<K> {
    match namespace {
        Some(ns) => ObjectRef::new(name).within(ns),
        None => ObjectRef::new(name),
    }
}

/// Wakes the objects of `controller` that `refer` to an `O` by name whenever that `O` changes.
pub fn follow<K, O>(
    controller: Controller<K>,
    api: Api<O>,
    refer: impl Fn(&K, &str) -> bool + Send + Sync + 'static,
) -> Controller<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    O: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let store = controller.store();
    controller.watches(api, all(), referrers(store, |_: &O| true, refer))
}

/// [`follow`], but only when `key` of the `O` changed (a [`ChangeFilter`]): its status churn
/// does not wake every object that names it.
pub fn follow_changes<K, O, V>(
    controller: Controller<K>,
    api: Api<O>,
    key: fn(&O) -> V,
    refer: impl Fn(&K, &str) -> bool + Send + Sync + 'static,
) -> Controller<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    O: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
    V: PartialEq + Send + 'static,
{
    let filter = ChangeFilter::new(key);
    let store = controller.store();
    controller.watches(
        api,
        all(),
        referrers(store, move |o: &O| filter.passes(o), refer),
    )
}

/// A watch mapper: for a changed `O` that `pass`es, the objects in `store` (same namespace)
/// that `refer` to it by name.
fn referrers<K, O>(
    store: Store<K>,
    pass: impl Fn(&O) -> bool + Send + Sync + 'static,
    refer: impl Fn(&K, &str) -> bool + Send + Sync + 'static,
) -> impl Fn(O) -> Vec<ObjectRef<K>> + Send + Sync + 'static
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    O: Resource,
{
    move |o: O| {
        if !pass(&o) {
            return Vec::new();
        }
        let ns = o.meta().namespace.clone();
        let name = o.meta().name.clone().unwrap_or_default();
        store
            .state()
            .iter()
            .filter(|k| k.meta().namespace == ns && refer(k, &name))
            .map(|k| ObjectRef::from_obj(&**k))
            .collect()
    }
}

/// Objects a [`ChangeFilter`] remembers at most. Forgetting one only costs one spurious wake
/// when it next changes; remembering without bound would keep every deleted object forever
/// (a watch mapper never learns that an object was deleted).
pub const CHANGE_FILTER_CAPACITY: usize = 4096;

/// What the last sighting of one object was, and when.
struct Seen<V> {
    value: V,
    tick: u64,
}

/// Namespace and name.
type ObjectId = (Option<String>, String);

/// The sightings, and a clock that orders them.
struct Memory<V> {
    clock: u64,
    seen: HashMap<ObjectId, Seen<V>>,
}

/// Passes an object only when `key` of it differs from its last sighting: the stable
/// equivalent of kube's predicate filters (which need an unstable feature), so the status churn
/// of one object does not wake the many that reference it. Keyed by namespace and name, with
/// the UID in the compared value, so a re-created object counts as changed. Bounded: past
/// [`CHANGE_FILTER_CAPACITY`] objects the least recently seen quarter is forgotten, which is
/// where deleted objects end up.
pub struct ChangeFilter<O, V> {
    key: fn(&O) -> V,
    capacity: usize,
    memory: Mutex<Memory<V>>,
}

impl<O: Resource, V: PartialEq> ChangeFilter<O, V> {
    pub fn new(key: fn(&O) -> V) -> Self {
        Self::with_capacity(key, CHANGE_FILTER_CAPACITY)
    }

    pub fn with_capacity(key: fn(&O) -> V, capacity: usize) -> Self {
        Self {
            key,
            capacity: capacity.max(4),
            memory: Mutex::new(Memory {
                clock: 0,
                seen: HashMap::new(),
            }),
        }
    }

    /// Whether `o` changed since it was last seen (true the first time).
    pub fn passes(&self, o: &O) -> bool {
        let id = (
            o.meta().namespace.clone(),
            o.meta().name.clone().unwrap_or_default(),
        );
        let value = (self.key)(o);
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory.clock += 1;
        let tick = memory.clock;
        let seen = &mut memory.seen;
        if let Some(s) = seen.get_mut(&id) {
            s.tick = tick;
            if s.value == value {
                return false;
            }
            s.value = value;
            return true;
        }
        if seen.len() >= self.capacity {
            let mut ticks: Vec<u64> = seen.values().map(|s| s.tick).collect();
            ticks.sort_unstable();
            let cut = ticks[self.capacity / 4];
            seen.retain(|_, s| s.tick >= cut);
        }
        seen.insert(id, Seen { value, tick });
        true
    }

    /// How many objects it remembers.
    pub fn len(&self) -> usize {
        self.memory.lock().map(|m| m.seen.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<O, V> std::fmt::Debug for ChangeFilter<O, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let remembered = self.memory.lock().map(|m| m.seen.len()).unwrap_or(0);
        f.debug_struct("ChangeFilter")
            .field("capacity", &self.capacity)
            .field("remembered", &remembered)
            .finish()
    }
}

/// What matters about an object whose spec is all its referrers read (a SigningCertificate to
/// an NCP: the Secret's name): which object it is, its generation, and whether it is being
/// deleted. A tuple, not a hash or an XOR of the parts, so two different states never compare
/// equal.
pub type GenerationKey = (Option<String>, Option<i64>, bool);

pub fn generation_key<K: Resource>(o: &K) -> GenerationKey {
    let m = o.meta();
    (m.uid.clone(), m.generation, m.deletion_timestamp.is_some())
}

/// What matters about a Registry to those who use it: its spec (generation) and whether its
/// EMREG is available. Not its `entries` count, which changes with every publication and would
/// otherwise wake every entry and SMP of the Registry each time (N² reconciles).
pub fn registry_key(r: &Registry) -> (GenerationKey, bool) {
    (
        generation_key(r),
        r.status
            .as_ref()
            .is_some_and(|s| is_true(&s.common, AVAILABLE)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{SigningCertificate, SigningCertificateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn cert(name: &str, uid: &str, generation: i64, deleting: bool) -> SigningCertificate {
        let mut c = SigningCertificate::new(
            name,
            SigningCertificateSpec {
                secret_name: format!("{name}-key"),
                common_name: "x".into(),
                organization: None,
                key_algorithm: Default::default(),
                key_size: None,
                duration: None,
                renew_before: None,
                ca_secret: None,
                propagation_delay: None,
                grace_period: None,
            },
        );
        c.metadata.namespace = Some("ns".into());
        c.metadata.uid = Some(uid.into());
        c.metadata.generation = Some(generation);
        if deleting {
            c.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        }
        c
    }

    #[test]
    fn generation_keys_of_different_states_never_collide() {
        // The former key, generation XOR the deletion bit, made these two equal (2^1 == 3^0).
        assert_ne!(
            generation_key(&cert("c", "u", 2, true)),
            generation_key(&cert("c", "u", 3, false))
        );
        assert_ne!(
            generation_key(&cert("c", "u", 1, false)),
            generation_key(&cert("c", "other-uid", 1, false))
        );
        assert_eq!(
            generation_key(&cert("c", "u", 7, false)),
            generation_key(&cert("c", "u", 7, false))
        );
    }

    #[test]
    fn the_filter_passes_changes_only() {
        let f = ChangeFilter::new(generation_key::<SigningCertificate>);
        assert!(f.passes(&cert("c", "u", 1, false)), "first sighting");
        assert!(!f.passes(&cert("c", "u", 1, false)), "status churn");
        assert!(f.passes(&cert("c", "u", 2, false)), "spec change");
        assert!(f.passes(&cert("c", "u", 2, true)), "being deleted");
        assert!(
            f.passes(&cert("c", "u2", 1, false)),
            "deleted and re-created under the same name"
        );
        assert!(f.passes(&cert("d", "u3", 1, false)), "another object");
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn the_filter_is_bounded_and_forgets_the_least_recently_seen() {
        let f = ChangeFilter::with_capacity(generation_key::<SigningCertificate>, 8);
        // `keep` is seen again and again; the others pass once and are never seen again, as
        // deleted objects are.
        for i in 0..100 {
            assert!(f.passes(&cert(&format!("gone-{i}"), "u", 1, false)));
            f.passes(&cert("keep", "k", 1, false));
            assert!(f.len() <= 8, "{} remembered", f.len());
        }
        assert!(
            !f.passes(&cert("keep", "k", 1, false)),
            "a live object seen recently is still remembered"
        );
        assert!(
            f.passes(&cert("gone-0", "u", 1, false)),
            "a long-gone object was forgotten (one spurious pass)"
        );
    }
}
