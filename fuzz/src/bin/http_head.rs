//! afl target `http_head`: the body is `silly::fuzzing::http_head`, shared with the corpus replay test.
fn main() {
    afl::fuzz!(|data: &[u8]| silly::fuzzing::http_head(data));
}
