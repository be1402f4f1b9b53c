//! The log's Merkle tree, hashed exactly as RFC 9162 §2.1: leaf = SHA-256(0x00 ‖ entry),
//! node = SHA-256(0x01 ‖ left ‖ right).
//!
//! The tree is kept as its complete, aligned subtrees: node `(level, index)` is the hash of
//! leaves `[index·2^level, (index+1)·2^level)`. Appending leaf `n` adds node `(0, n)` and one
//! parent per trailing one bit of `n`, so O(log n) new hashes; every root and proof is a
//! combination of O(log n) stored nodes ([`NodeId`]) and never rebuilds the tree. Proofs
//! follow RFC 9162 §2.1.3 (inclusion) and §2.1.4 (consistency), and so do the verifiers.

use ring::digest::{Context, SHA256};

pub type Hash = [u8; 32];

/// A stored node: the complete subtree of `2^level` leaves starting at `index·2^level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u32,
    pub index: u64,
}

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// RFC 9162 leaf hash of an entry's bytes.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    sha256(&[&[0x00], entry])
}

/// RFC 9162 interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

/// SHA-256 of the empty string: the root of the empty tree.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// The nodes to store when leaf `index` (from 0) with hash `leaf` is appended, given a
/// lookup of already stored nodes: the leaf itself, then each parent it completes.
pub fn append_nodes(
    index: u64,
    leaf: Hash,
    mut stored: impl FnMut(NodeId) -> Option<Hash>,
) -> Option<Vec<(NodeId, Hash)>> {
    let mut out = vec![(NodeId { level: 0, index }, leaf)];
    let (mut level, mut i, mut hash) = (0u32, index, leaf);
    while i % 2 == 1 {
        let left = NodeId {
            level,
            index: i - 1,
        };
        let left_hash = out
            .iter()
            .find(|(id, _)| *id == left)
            .map(|(_, h)| *h)
            .or_else(|| stored(left))?;
        hash = node_hash(&left_hash, &hash);
        level += 1;
        i /= 2;
        out.push((NodeId { level, index: i }, hash));
    }
    Some(out)
}

/// Largest power of two strictly less than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The stored nodes whose combination is MTH(D[lo:hi]), left to right. `lo` must be
/// aligned as it is in RFC 9162's recursion (true for every range a proof asks for).
pub fn range_nodes(lo: u64, hi: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut lo = lo;
    while lo < hi {
        let n = hi - lo;
        if n.is_power_of_two() && lo % n == 0 {
            out.push(NodeId {
                level: n.trailing_zeros(),
                index: lo / n,
            });
            break;
        }
        let k = split(n);
        out.push(NodeId {
            level: k.trailing_zeros(),
            index: lo / k,
        });
        lo += k;
    }
    out
}

/// MTH(D[lo:hi]) from the stored nodes: the complete left subtrees are combined right to
/// left, as RFC 9162's recursion does.
pub fn range_hash(lo: u64, hi: u64, node: &impl Fn(NodeId) -> Option<Hash>) -> Option<Hash> {
    if lo >= hi {
        return Some(empty_root());
    }
    let nodes = range_nodes(lo, hi);
    let mut hashes = nodes
        .iter()
        .map(|id| node(*id))
        .collect::<Option<Vec<_>>>()?;
    let mut acc = hashes.pop()?;
    while let Some(left) = hashes.pop() {
        acc = node_hash(&left, &acc);
    }
    Some(acc)
}

/// The root of the tree of the first `size` leaves.
pub fn root(size: u64, node: &impl Fn(NodeId) -> Option<Hash>) -> Option<Hash> {
    range_hash(0, size, node)
}

/// The ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size`
/// leaves (RFC 9162 §2.1.3.1), in proof order.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut lo, mut hi, mut m) = (0u64, size, index);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if m < k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            m -= k;
        }
    }
    out.reverse();
    out
}

/// The ranges whose hashes form the consistency proof between sizes `first` and `second`
/// (RFC 9162 §2.1.4.1), in proof order.
fn consistency_ranges(first: u64, second: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut lo, mut hi, mut m, mut complete) = (0u64, second, first, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push((lo, hi));
            }
            break;
        }
        let k = split(n);
        if m <= k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            m -= k;
            complete = false;
        }
    }
    out.reverse();
    out
}

/// Every stored node a proof over `ranges` reads.
fn nodes_of(ranges: &[(u64, u64)]) -> Vec<NodeId> {
    let mut ids: Vec<NodeId> = ranges
        .iter()
        .flat_map(|(lo, hi)| range_nodes(*lo, *hi))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The stored nodes an inclusion proof needs (to fetch them in one query).
pub fn inclusion_nodes(index: u64, size: u64) -> Vec<NodeId> {
    nodes_of(&inclusion_ranges(index, size))
}

/// The stored nodes a consistency proof needs.
pub fn consistency_nodes(first: u64, second: u64) -> Vec<NodeId> {
    nodes_of(&consistency_ranges(first, second))
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves; `None` if out of range
/// or a node is missing.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    node: &impl Fn(NodeId) -> Option<Hash>,
) -> Option<Vec<Hash>> {
    if index >= size {
        return None;
    }
    inclusion_ranges(index, size)
        .into_iter()
        .map(|(lo, hi)| range_hash(lo, hi, node))
        .collect()
}

/// Consistency proof between the trees of `first` and `second` leaves (0 < first ≤ second).
pub fn consistency_proof(
    first: u64,
    second: u64,
    node: &impl Fn(NodeId) -> Option<Hash>,
) -> Option<Vec<Hash>> {
    if first == 0 || first > second {
        return None;
    }
    consistency_ranges(first, second)
        .into_iter()
        .map(|(lo, hi)| range_hash(lo, hi, node))
        .collect()
}

/// RFC 9162 §2.1.3.2: does `proof` show leaf `leaf` at `index` in the tree with `root` of
/// `size` leaves?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n % 2 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n % 2 == 0 {
                while f_n % 2 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: does `proof` show the tree (`second`, `second_root`) extends the
/// tree (`first`, `first_root`)?
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let Some((first_hash, rest)) = path.split_first() else {
        return false;
    };
    let (mut f_n, mut s_n) = (first - 1, second - 1);
    while f_n % 2 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (*first_hash, *first_hash);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n % 2 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n % 2 == 0 {
                while f_n % 2 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    fr == *first_root && sr == *second_root && s_n == 0
}

/// The root of a log's leaves as they are read, in constant memory: a stack of the
/// complete subtrees so far, largest first, folded from the right when asked (RFC 9162
/// §2.1.1). What the log's audit computes from the entry bytes, to hold against the
/// stored tree and the checkpoints signed.
#[derive(Debug, Clone, Default)]
pub struct RootBuilder {
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl RootBuilder {
    /// Adds the next leaf.
    pub fn push(&mut self, leaf: Hash) {
        let (mut level, mut hash) = (0u32, leaf);
        while let Some(&(top, left)) = self.stack.last() {
            if top != level {
                break;
            }
            self.stack.pop();
            hash = node_hash(&left, &hash);
            level += 1;
        }
        self.stack.push((level, hash));
        self.size += 1;
    }

    /// How many leaves were added.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// MTH of the leaves added so far.
    pub fn root(&self) -> Hash {
        let mut hashes = self.stack.iter().rev().map(|(_, h)| *h);
        let Some(mut acc) = hashes.next() else {
            return empty_root();
        };
        for left in hashes {
            acc = node_hash(&left, &acc);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn an_empty_log_has_no_frontier_nodes() {
        // The store, the log and a witness ask for the frontier of size 0 on a new log.
        assert_eq!(range_nodes(0, 0), Vec::<NodeId>::new());
        assert_eq!(range_nodes(4, 4), Vec::<NodeId>::new());
        assert_eq!(range_nodes(0, 1), vec![NodeId { level: 0, index: 0 }]);
    }

    #[test]
    fn the_root_built_from_the_leaves_is_the_definition_s() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut builder = RootBuilder::default();
        assert_eq!(builder.root(), empty_root());
        for (n, leaf) in leaves.iter().enumerate() {
            builder.push(*leaf);
            assert_eq!(builder.size(), n as u64 + 1);
            assert_eq!(builder.root(), mth(&leaves[..=n]), "{} leaves", n + 1);
        }
    }

    /// RFC 9162 MTH, straight from the definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    /// RFC 9162 PATH, straight from the definition.
    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n as u64) as usize;
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    /// RFC 9162 SUBPROOF, straight from the definition.
    fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if complete { vec![] } else { vec![mth(leaves)] };
        }
        let k = split(n as u64) as usize;
        if m <= k {
            let mut p = subproof(m, &leaves[..k], complete);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn build(n: u64) -> (Vec<Hash>, HashMap<NodeId, Hash>) {
        let mut store = HashMap::new();
        let mut leaves = Vec::new();
        for i in 0..n {
            let leaf = leaf_hash(format!("entry {i}").as_bytes());
            leaves.push(leaf);
            let nodes = append_nodes(i, leaf, |id| store.get(&id).copied()).expect("append");
            assert!(nodes.len() as u32 <= 64 - i.leading_zeros() + 1);
            store.extend(nodes);
        }
        (leaves, store)
    }

    #[test]
    fn roots_and_proofs_match_the_rfc_definitions_and_verify() {
        let (leaves, store) = build(70);
        let node = |id: NodeId| store.get(&id).copied();
        for n in 1..=70u64 {
            let tree = &leaves[..n as usize];
            let root_n = root(n, &node).expect("root");
            assert_eq!(root_n, mth(tree), "root of {n}");
            for m in 0..n {
                let proof = inclusion_proof(m, n, &node).expect("inclusion");
                assert_eq!(proof, path(m as usize, tree), "PATH({m}, {n})");
                assert!(verify_inclusion(m, n, &leaves[m as usize], &proof, &root_n));
                let wrong = leaf_hash(b"not in the log");
                assert!(!verify_inclusion(m, n, &wrong, &proof, &root_n));
            }
            for m in 1..=n {
                let proof = consistency_proof(m, n, &node).expect("consistency");
                assert_eq!(proof, subproof(m as usize, tree, true), "PROOF({m}, {n})");
                let root_m = mth(&leaves[..m as usize]);
                assert!(
                    verify_consistency(m, n, &root_m, &root_n, &proof),
                    "{m} {n}"
                );
                if m < n {
                    let forged = leaf_hash(b"rewritten history");
                    assert!(!verify_consistency(m, n, &forged, &root_n, &proof));
                }
            }
        }
    }

    #[test]
    fn a_proof_reads_only_logarithmically_many_stored_nodes() {
        for (m, n) in [(0u64, 1u64), (5, 1000), (999, 1000), (123_456, 1_000_000)] {
            assert!(inclusion_nodes(m, n).len() <= 2 * 64);
        }
        assert!(consistency_nodes(1000, 1_000_000).len() <= 2 * 64);
        assert_eq!(empty_root(), mth(&[]));
    }

    /// The log fetches `inclusion_nodes` and `consistency_nodes` in one query and builds
    /// the proof from what it fetched: each must name exactly the nodes the proof reads.
    #[test]
    fn the_nodes_a_proof_names_are_the_nodes_it_reads() {
        let (_, store) = build(70);
        for n in 1..=70u64 {
            for m in 0..n {
                let read = std::cell::RefCell::new(Vec::new());
                let node = |id: NodeId| {
                    read.borrow_mut().push(id);
                    store.get(&id).copied()
                };
                inclusion_proof(m, n, &node).expect("inclusion");
                let mut read = read.into_inner();
                read.sort_unstable();
                read.dedup();
                assert_eq!(inclusion_nodes(m, n), read, "inclusion of {m} in {n}");
            }
            for m in 1..n {
                let read = std::cell::RefCell::new(Vec::new());
                let node = |id: NodeId| {
                    read.borrow_mut().push(id);
                    store.get(&id).copied()
                };
                consistency_proof(m, n, &node).expect("consistency");
                let mut read = read.into_inner();
                read.sort_unstable();
                read.dedup();
                assert_eq!(consistency_nodes(m, n), read, "consistency of {m} and {n}");
            }
        }
    }

    /// No proof between an empty tree, or from a larger tree to a smaller one.
    #[test]
    fn consistency_needs_a_first_tree_no_larger_than_the_second() {
        let (_, store) = build(8);
        let node = |id: NodeId| store.get(&id).copied();
        let root5 = root(5, &node).expect("root");
        let root6 = root(6, &node).expect("root");
        assert_eq!(consistency_proof(0, 5, &node), None);
        assert_eq!(consistency_proof(6, 5, &node), None);
        assert!(!verify_consistency(0, 5, &empty_root(), &root5, &[]));
        assert!(!verify_consistency(0, 5, &empty_root(), &root5, &[root5]));
        let backwards = consistency_proof(5, 6, &node).expect("consistency");
        assert!(verify_consistency(5, 6, &root5, &root6, &backwards));
        assert!(!verify_consistency(6, 5, &root6, &root5, &backwards));
        assert!(!verify_consistency(6, 5, &root6, &root5, &[]));
    }

    fn unhex(s: &str) -> Hash {
        hex::decode(s)
            .ok()
            .and_then(|b| b.try_into().ok())
            .unwrap_or_else(|| panic!("bad hex {s}"))
    }

    /// The known answers for RFC 6962/9162 hashing that Certificate Transparency and
    /// Trillian publish: eight leaves, the root of every prefix, and some proofs.
    #[test]
    fn known_answers_from_certificate_transparency() {
        let inputs = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ];
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let mut store = HashMap::new();
        for (i, input) in inputs.iter().enumerate() {
            let bytes = hex::decode(input).unwrap_or_default();
            let nodes = append_nodes(i as u64, leaf_hash(&bytes), |id| store.get(&id).copied())
                .expect("append");
            store.extend(nodes);
        }
        let node = |id: NodeId| store.get(&id).copied();
        for (n, expected) in roots.iter().enumerate() {
            let got = if n == 0 {
                empty_root()
            } else {
                root(n as u64, &node).expect("root")
            };
            assert_eq!(hex::encode(got), *expected, "root of {n}");
        }
        let consistency: [(u64, u64, &[&str]); 3] = [
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                3,
                7,
                &[
                    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                    "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
                ],
            ),
            (
                4,
                8,
                &["6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
            ),
        ];
        for (m, n, expected) in consistency {
            let proof = consistency_proof(m, n, &node).expect("proof");
            let expected: Vec<Hash> = expected.iter().map(|h| unhex(h)).collect();
            assert_eq!(proof, expected, "consistency {m} -> {n}");
            assert!(verify_consistency(
                m,
                n,
                &unhex(roots[m as usize]),
                &unhex(roots[n as usize]),
                &proof
            ));
        }
    }

    /// Every inclusion and consistency proof of every tree up to 257 leaves verifies
    /// against the roots computed from the RFC's definition, and fails for a wrong leaf
    /// or root; then random proofs in a tree of 100,003 leaves.
    #[test]
    fn every_proof_up_to_257_and_random_large_ones_verify() {
        let (leaves, store) = build(257);
        let node = |id: NodeId| store.get(&id).copied();
        let roots: Vec<Hash> = (0..=257).map(|n| mth(&leaves[..n])).collect();
        let wrong = leaf_hash(b"not in the log");
        for n in 1..=257u64 {
            assert_eq!(root(n, &node), Some(roots[n as usize]), "root of {n}");
            for m in 0..n {
                let proof = inclusion_proof(m, n, &node).expect("inclusion");
                assert!(verify_inclusion(
                    m,
                    n,
                    &leaves[m as usize],
                    &proof,
                    &roots[n as usize]
                ));
                assert!(!verify_inclusion(m, n, &wrong, &proof, &roots[n as usize]));
            }
            for m in 1..=n {
                let proof = consistency_proof(m, n, &node).expect("consistency");
                assert!(
                    verify_consistency(m, n, &roots[m as usize], &roots[n as usize], &proof),
                    "{m} {n}"
                );
                if m < n {
                    assert!(!verify_consistency(
                        m,
                        n,
                        &wrong,
                        &roots[n as usize],
                        &proof
                    ));
                }
            }
        }
        let (large, store) = build(100_003);
        let node = |id: NodeId| store.get(&id).copied();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |below: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % below
        };
        for _ in 0..300 {
            let n = 1 + next(100_003);
            let m = next(n);
            let root_n = root(n, &node).expect("root");
            let proof = inclusion_proof(m, n, &node).expect("inclusion");
            assert!(
                verify_inclusion(m, n, &large[m as usize], &proof, &root_n),
                "{m} in {n}"
            );
            let first = 1 + m;
            let root_first = root(first, &node).expect("root");
            let proof = consistency_proof(first, n, &node).expect("consistency");
            assert!(
                verify_consistency(first, n, &root_first, &root_n, &proof),
                "{first} -> {n}"
            );
        }
    }
}
