//! afl target `http_chunk`: the body is `silly::fuzzing::http_chunk`, shared with the corpus replay test.
fn main() {
    afl::fuzz!(|data: &[u8]| silly::fuzzing::http_chunk(data));
}
