//! afl target `read_buf`: the body is `silly::fuzzing::read_buf`, shared with the corpus replay test.
fn main() {
    afl::fuzz!(|data: &[u8]| silly::fuzzing::read_buf(data));
}
