//! afl target `http2`: the body is `silly::fuzzing::http2`, shared with the corpus replay test.
fn main() {
    afl::fuzz!(|data: &[u8]| silly::fuzzing::http2(data));
}
