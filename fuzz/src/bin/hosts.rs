//! afl target `hosts`: the body is `silly::fuzzing::hosts`, shared with the corpus replay test.
fn main() {
    afl::fuzz!(|data: &[u8]| silly::fuzzing::hosts(data));
}
