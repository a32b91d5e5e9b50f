//! The signing key set under nodes acting at once, each on a store of its
//! own: nodes starting together create one key set, and concurrent
//! rotations end as some serial order of them would: per algorithm one
//! active key and one next key, every key ever published still there (the
//! rotated-out ones retired), each rotation taking up where one other left.

use std::collections::{BTreeSet, HashSet};

use sigil_oidc::OidcError;
use sigil_oidc::keys::{
    DEFAULT_RETIRED_KEY_RETENTION, NextKey, Rotation, SigningAlg, ensure_key_set, rotate,
};
use sigil_store::keys::{self as stored, KeyState, SigningKey};
use sigil_store::{AnyConnection, Store};
use sigil_testkit::{TestDb, backend_tests, race};

backend_tests!(
    nodes_starting_at_once_create_one_key_set,
    concurrent_rotations_end_as_some_serial_order,
    nodes_starting_while_others_rotate_keep_one_key_set,
);

fn nodes(db: &TestDb, n: usize) -> Vec<Store> {
    crate::open(db);
    (0..n).map(|_| crate::connect(db)).collect()
}

/// What `sigil serve` does first: every algorithm's key set, made whole.
fn start(node: &Store) -> Vec<String> {
    crate::block_on(async {
        let mut created = Vec::new();
        for alg in SigningAlg::ALL {
            created.extend(ensure_key_set(node, alg).await.expect("key set prepared"));
        }
        created
    })
}

/// Rotates every algorithm: in one transaction on even nodes (as the admin
/// API does), one transaction per algorithm on odd ones (as `sigil keys
/// rotate` does).
fn rotate_all(node: &Store, i: usize) -> Vec<(SigningAlg, Rotation)> {
    let now = node.now();
    // The new keys are made before the transactions, as both callers do.
    let fresh: Vec<(SigningAlg, NextKey)> =
        SigningAlg::ALL.into_iter().map(|alg| (alg, NextKey::generate(alg, now).unwrap())).collect();
    let rotate_one = |c: &mut AnyConnection, alg, next| {
        rotate(c, alg, next, DEFAULT_RETIRED_KEY_RETENTION, now).map(|rotation| (alg, rotation))
    };
    let rotated: Result<Vec<_>, OidcError> = if i.is_multiple_of(2) {
        node.write_blocking(|c| fresh.into_iter().map(|(alg, next)| rotate_one(c, alg, next)).collect())
    } else {
        fresh.into_iter().map(|(alg, next)| node.write_blocking(|c| rotate_one(c, alg, next))).collect()
    };
    rotated.unwrap_or_else(|e| panic!("node {i}: rotation failed: {e}"))
}

fn stored_keys(store: &Store) -> Vec<SigningKey> {
    store.read_blocking(stored::list).unwrap()
}

fn kids_in(keys: &[SigningKey], alg: SigningAlg, state: KeyState) -> Vec<String> {
    keys.iter().filter(|k| k.alg == alg.as_str() && k.state == state).map(|k| k.kid.clone()).collect()
}

/// Orders `rotations` of `alg` as the serial order they must have run in:
/// each activates the `next` key the one before it published and retires
/// the key the one before it activated. Checks that they form one such
/// chain and that the stored keys of `alg` are exactly what it leaves: the
/// last rotation's active and next keys, and every key before them retired.
fn serial_order(keys: &[SigningKey], alg: SigningAlg, rotations: &[&Rotation]) -> Vec<Rotation> {
    assert!(rotations.iter().all(|r| r.removed == 0), "{alg}: {rotations:?}");
    let published: HashSet<&str> = rotations.iter().map(|r| r.next.as_str()).collect();
    let heads: Vec<&Rotation> =
        rotations.iter().copied().filter(|r| !published.contains(r.activated.as_str())).collect();
    assert_eq!(heads.len(), 1, "{alg}: not one first rotation: {rotations:?}");
    let mut chain = vec![heads[0].clone()];
    while chain.len() < rotations.len() {
        let last = chain.last().unwrap();
        let following: Vec<&Rotation> =
            rotations.iter().copied().filter(|r| r.activated == last.next).collect();
        assert_eq!(following.len(), 1, "{alg}: after {last:?}: {rotations:?}");
        assert_eq!(following[0].retired.as_ref(), Some(&last.activated), "{alg}: {rotations:?}");
        chain.push(following[0].clone());
    }
    let last = chain.last().unwrap();
    assert_eq!(kids_in(keys, alg, KeyState::Active), [last.activated.as_str()], "{alg}");
    assert_eq!(kids_in(keys, alg, KeyState::Next), [last.next.as_str()], "{alg}");
    let retired: BTreeSet<String> = kids_in(keys, alg, KeyState::Retired).into_iter().collect();
    let rotated_out: BTreeSet<String> = chain.iter().filter_map(|r| r.retired.clone()).collect();
    assert_eq!(retired, rotated_out, "{alg}");
    chain
}

/// `ensure_key_set(alg)` on every node at once; the keys each created.
fn start_together(nodes: &[Store], alg: SigningAlg) -> Vec<Vec<String>> {
    let by_node = race(nodes.len(), |i| crate::block_on(ensure_key_set(&nodes[i], alg)));
    by_node
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|e| panic!("node {i}: {alg}: {e}")))
        .collect()
}

/// The key set of `alg` is one active and one next key, created by exactly
/// one node each: no key reported twice, none reported and lost.
fn assert_started(keys: &[SigningKey], alg: SigningAlg, created: &[Vec<String>]) {
    assert_eq!(kids_in(keys, alg, KeyState::Active).len(), 1, "{alg}: {keys:?}");
    assert_eq!(kids_in(keys, alg, KeyState::Next).len(), 1, "{alg}: {keys:?}");
    assert!(kids_in(keys, alg, KeyState::Retired).is_empty(), "{alg}: {keys:?}");
    let reported: Vec<&String> = created.iter().flatten().collect();
    let unique: BTreeSet<&String> = reported.iter().copied().collect();
    assert_eq!(unique.len(), reported.len(), "{alg}: a key reported by two nodes: {created:?}");
    let kept: BTreeSet<&String> = keys.iter().filter(|k| k.alg == alg.as_str()).map(|k| &k.kid).collect();
    assert_eq!(unique, kept, "{alg}: every key created was kept, and only those");
}

/// Six nodes starting on an empty database at once (released together for
/// each algorithm, which they prepare in turn) make one key set; a second
/// start creates nothing. The algorithms whose keys are made in an instant
/// keep the nodes in step, so they are started together four more times
/// on an emptied set.
fn nodes_starting_at_once_create_one_key_set(db: &TestDb) {
    let nodes = nodes(db, 6);
    let created: Vec<(SigningAlg, Vec<Vec<String>>)> =
        SigningAlg::ALL.into_iter().map(|alg| (alg, start_together(&nodes, alg))).collect();
    let keys = stored_keys(&nodes[0]);
    for (alg, created) in &created {
        assert_started(&keys, *alg, created);
    }
    let again = race(nodes.len(), |i| start(&nodes[i]));
    assert!(again.iter().all(Vec::is_empty), "{again:?}");
    assert_eq!(stored_keys(&nodes[0]), keys);

    for _ in 0..4 {
        for alg in [SigningAlg::Es256, SigningAlg::EdDsa] {
            empty(&nodes[0], alg);
            let created = start_together(&nodes, alg);
            assert_started(&stored_keys(&nodes[0]), alg, &created);
        }
    }
}

/// Removes every key of `alg`, through the store's own moves.
fn empty(store: &Store, alg: SigningAlg) {
    let now = store.now();
    store
        .write_blocking(|c| {
            for key in stored::list(c)?.into_iter().filter(|k| k.alg == alg.as_str()) {
                stored::transition(c, &key.kid, key.state, KeyState::Retired, now)?;
            }
            stored::delete_retired_before(c, now + chrono::TimeDelta::seconds(1))
        })
        .unwrap();
    assert!(stored_keys(store).iter().all(|k| k.alg != alg.as_str()));
}

/// Eight nodes rotating every algorithm at once, from a started key set:
/// the rotations chain from the key set they found, and the keys left are
/// the chain's.
fn concurrent_rotations_end_as_some_serial_order(db: &TestDb) {
    let nodes = nodes(db, 8);
    start(&nodes[0]);
    let before = stored_keys(&nodes[0]);
    let rotations = race(8, |i| rotate_all(&nodes[i], i));
    let keys = stored_keys(&nodes[0]);
    for alg in SigningAlg::ALL {
        let of_alg: Vec<&Rotation> =
            rotations.iter().flatten().filter(|(a, _)| *a == alg).map(|(_, r)| r).collect();
        assert_eq!(of_alg.len(), 8, "{alg}");
        let chain = serial_order(&keys, alg, &of_alg);
        assert_eq!(chain[0].retired, kids_in(&before, alg, KeyState::Active).pop(), "{alg}");
        assert_eq!(chain[0].activated, kids_in(&before, alg, KeyState::Next).remove(0), "{alg}");
        assert_eq!(keys.iter().filter(|k| k.alg == alg.as_str()).count(), 2 + 8, "{alg}: {keys:?}");
    }
}

/// On an empty database, four nodes start while four others rotate: either
/// a start came first and the rotations chain from the key set it created,
/// or a rotation came first (activating a key it published itself) and no
/// start created anything. One active and one next key per algorithm.
fn nodes_starting_while_others_rotate_keep_one_key_set(db: &TestDb) {
    let nodes = nodes(db, 8);
    let results = race(8, |i| match i {
        0..4 => (start(&nodes[i]), Vec::new()),
        _ => (Vec::new(), rotate_all(&nodes[i], i)),
    });
    let keys = stored_keys(&nodes[0]);
    let created: HashSet<&String> = results.iter().flat_map(|(created, _)| created).collect();
    for alg in SigningAlg::ALL {
        let of_alg: Vec<&Rotation> =
            results.iter().flat_map(|(_, r)| r).filter(|(a, _)| *a == alg).map(|(_, r)| r).collect();
        assert_eq!(of_alg.len(), 4, "{alg}");
        let chain = serial_order(&keys, alg, &of_alg);
        let created_here = keys.iter().filter(|k| k.alg == alg.as_str() && created.contains(&k.kid)).count();
        match &chain[0].retired {
            None => assert_eq!(created_here, 0, "{alg}: a start created keys after a rotation"),
            Some(first_active) => {
                assert_eq!(created_here, 2, "{alg}: {keys:?}");
                assert!(created.contains(first_active) && created.contains(&chain[0].activated), "{alg}");
            }
        }
        let expected = if chain[0].retired.is_some() { 2 + 4 } else { 1 + 4 };
        assert_eq!(keys.iter().filter(|k| k.alg == alg.as_str()).count(), expected, "{alg}: {keys:?}");
    }
}
