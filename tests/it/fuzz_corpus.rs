//! The fuzz corpus as ordinary tests: every file of `fuzz/corpus/<target>/` (the seeds) and of
//! `fuzz/crashes/<target>/` (every crash afl found, kept after its fix) is run through the same
//! target function the afl binary calls (`silly::fuzzing`), and none may panic. Needs no afl:
//! `make fuzz` is what searches for new inputs (fuzz/README.md).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use silly::fuzzing::{TARGETS, Target};

use crate::common::root;

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file());
    out.sort();
    out
}

/// Runs `target` on every file of `dir`; the files whose run panicked, with the message.
fn replay(target: Target, dir: &Path) -> (usize, Vec<String>) {
    let mut failed = Vec::new();
    let list = files(dir);
    for f in &list {
        let data = std::fs::read(f).expect("read a corpus file");
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| target(&data))) {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{}: {why}", f.display()));
        }
    }
    (list.len(), failed)
}

#[test]
fn every_target_has_a_seed_corpus_and_nothing_else_is_there() {
    let corpus = root().join("fuzz/corpus");
    for (name, _) in TARGETS {
        assert!(
            !files(&corpus.join(name)).is_empty(),
            "fuzz/corpus/{name} has no seed"
        );
    }
    for dir in ["fuzz/corpus", "fuzz/crashes"] {
        for e in std::fs::read_dir(root().join(dir)).expect("read the fuzz directory") {
            let path = e.expect("dir entry").path();
            // Files beside the target directories (a README) are not inputs.
            if !path.is_dir() {
                continue;
            }
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            assert!(
                TARGETS.iter().any(|(t, _)| *t == name),
                "{dir}/{name} is not a fuzz target"
            );
        }
    }
}

#[test]
fn the_corpus_and_every_crash_found_replay_without_a_panic() {
    let mut failed = Vec::new();
    let mut total = 0;
    for (name, target) in TARGETS {
        for dir in ["fuzz/corpus", "fuzz/crashes"] {
            let (n, f) = replay(*target, &root().join(dir).join(name));
            total += n;
            failed.extend(f);
        }
    }
    assert!(total > 0);
    assert!(failed.is_empty(), "panics:\n{}", failed.join("\n"));
}
